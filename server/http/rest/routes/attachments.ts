import { createRoute, z } from "@hono/zod-openapi";
import type { Caller } from "../../../auth/accounts";
import { addAttachment, deleteAttachment, getAttachment, listAttachments, type Attachment } from "../../../sessions/attachments";
import { readForm, uploadedFile } from "../../upload";
import { done, errors, json, router, type RestDeps } from "./shared";

const tags = ["attachments"];
const uuid = z.uuid();
const sessionParam = z.object({ id: uuid });
const attachmentParams = z.object({ id: uuid, attachment_id: uuid });

/** The upload's path: the route table lets its body carry a document (server/http/routes.ts). */
export const ATTACHMENT_UPLOAD_PATH = /^\/api\/v1\/sessions\/[^/]+\/attachments\/?$/;

/**
 * WeKnora's `TemporaryDocument` (frontend `TemporaryAttachment`). Parley reads a file whole while
 * it is uploaded, so an attachment is `ready` at once; it keeps the file's text, not its pages
 * (no chunks or images: their fields are empty).
 */
const attachmentJson = z
  .object({
    id: z.string(),
    tenant_id: z.number().int(),
    session_id: z.string(),
    file_name: z.string(),
    file_type: z.string(),
    mime_type: z.string(),
    file_size: z.number().int(),
    status: z.literal("ready"),
    token_count: z.number().int(),
    chunk_count: z.number().int(),
    image_refs: z.array(z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    expires_at: z.string(),
    started_at: z.string(),
    ready_at: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("TemporaryAttachment");

function toAttachmentJson(a: Attachment, caller: Caller): z.output<typeof attachmentJson> {
  const created = a.createdAt.toISOString();
  return {
    id: a.id,
    tenant_id: caller.tenant.number,
    session_id: a.sessionId,
    file_name: a.fileName,
    file_type: a.fileType,
    mime_type: a.mimeType,
    file_size: a.fileSize,
    status: "ready",
    token_count: a.tokenCount,
    chunk_count: 0,
    image_refs: [],
    metadata: {},
    expires_at: a.expiresAt.toISOString(),
    started_at: created,
    ready_at: created,
    created_at: created,
    updated_at: created,
  };
}

/** A chat's attachments (sessions/attachments.ts): upload, list, read, preview its text, delete. */
export function attachmentRoutes(deps: RestDeps) {
  const r = router();

  r.openapi(
    createRoute({
      method: "post",
      path: "/sessions/{id}/attachments",
      tags,
      description:
        "Attaches a .txt, .md, .html or .pdf file (multipart field `file`, at most 5 MB: 413 beyond) to the caller's own session, for 24 hours. A session holds at most 20 (the next is 400 on `file`). Name it in knowledge-chat's `attachment_ids` and the answer reads its text.",
      request: {
        params: sessionParam,
        // A plain schema, not zod: the route reads the form itself (below), so no validator may read the body first.
        body: { content: { "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", format: "binary" } }, required: ["file"] } } }, required: true },
      },
      responses: { 201: json(z.object({ success: z.literal(true), data: attachmentJson }), "The attachment, its text read"), 413: json(z.unknown(), "The file is over 5 MB (1000)"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const sessionId = c.req.valid("param").id;
      // Read with the document cap, refusing a body over it unread.
      const file = await uploadedFile(await readForm(c.req.raw));
      const attachment = await addAttachment(deps, caller, sessionId, file);
      return c.json({ success: true as const, data: toAttachmentJson(attachment, caller) }, 201);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/attachments",
      tags,
      request: { params: sessionParam },
      responses: { 200: json(z.object({ success: z.literal(true), data: z.array(attachmentJson) }), "The session's attachments, oldest first"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const items = await listAttachments(deps.db, caller, c.req.valid("param").id);
      return c.json({ success: true as const, data: items.map((a) => toAttachmentJson(a, caller)) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/attachments/{attachment_id}",
      tags,
      request: { params: attachmentParams },
      responses: { 200: json(z.object({ success: z.literal(true), data: attachmentJson }), "The attachment"), ...errors },
    }),
    async (c) => {
      const caller = c.get("caller");
      const { id, attachment_id } = c.req.valid("param");
      const { content: _content, ...attachment } = await getAttachment(deps.db, caller, id, attachment_id);
      return c.json({ success: true as const, data: toAttachmentJson(attachment, caller) }, 200);
    },
  );

  r.openapi(
    createRoute({
      method: "get",
      path: "/sessions/{id}/attachments/{attachment_id}/preview",
      tags,
      description: "The attachment's text as Parley read it (plain text, whatever the file's format).",
      request: { params: attachmentParams },
      responses: { 200: { content: { "text/plain": { schema: z.string() } }, description: "The text" }, ...errors },
    }),
    async (c) => {
      const { id, attachment_id } = c.req.valid("param");
      const attachment = await getAttachment(deps.db, c.get("caller"), id, attachment_id);
      c.header("X-Content-Type-Options", "nosniff");
      c.header("Content-Disposition", `inline; filename*=UTF-8''${encodeURIComponent(attachment.fileName)}.txt`);
      c.header("Cache-Control", "private, max-age=3600");
      return c.text(attachment.content, 200);
    },
  );

  r.openapi(
    createRoute({ method: "delete", path: "/sessions/{id}/attachments/{attachment_id}", tags, request: { params: attachmentParams }, responses: done("Attachment deleted") }),
    async (c) => {
      const { id, attachment_id } = c.req.valid("param");
      await deleteAttachment(deps.db, c.get("caller"), id, attachment_id);
      return c.json({ success: true as const, message: "Attachment deleted" }, 200);
    },
  );

  return r;
}
