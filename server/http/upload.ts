import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { AppError, badInput, retryAfterOf, toTRPCError } from "../platform/errors";
import { callerOf, type AuthDeps, type RequestCaller } from "./authenticate";
import { addFileDocument } from "../knowledge/ingest";
import { MAX_DOCUMENT_BODY_BYTES, MAX_DOCUMENT_BYTES } from "../../common/limits";
import { formatOfFileName, type FileFormat } from "../knowledge/parse";
import { text } from "../../common/inputs";
import { knowledgeDeps, type KnowledgeSource } from "../knowledge/sessionKnowledge";
import { rootLogger } from "../platform/log";

/**
 * `POST /api/knowledge/upload`: a browser upload (multipart: `knowledgeBaseId`, `file`, optional
 * `title`) of a .txt, .md, .html or .pdf file up to 5 MB, with the same authentication as tRPC
 * (Bearer key, X-API-Key or the sign-in cookie), counted as a call. Answers the stored Document as
 * JSON, or `{ error: { code, message, field? } }` with the status tRPC would use (413 when too large).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const tooLarge = () => new AppError("too_large", `The file is larger than ${MAX_DOCUMENT_BYTES} bytes (5 MB)`, "file");

/** A document file as uploaded: its name as sent (storable), its bytes and the format its extension names. */
export interface UploadedFile {
  fileName: string;
  bytes: Uint8Array;
  format: FileFormat;
}

export type UploadDeps = KnowledgeSource & AuthDeps;

const uploadTitle = text().max(255, "The title may be at most 255 characters");

/** `resolvedCaller`: the caller the server resolved before the body (see http/authenticate.ts); undefined when called in process. */
export async function handleUpload(deps: UploadDeps, request: Request, resolvedCaller?: RequestCaller | null): Promise<Response> {
  try {
    const caller = await callerOf(deps, resolvedCaller, { header: (name) => request.headers.get(name) }, { calls: 1 });
    if (!caller) throw new AppError("unauthorized", "Sign in, or send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'");
    const form = await readForm(request);
    const knowledgeBaseId = form.get("knowledgeBaseId");
    if (typeof knowledgeBaseId !== "string" || !UUID.test(knowledgeBaseId)) throw badInput("knowledgeBaseId", "knowledgeBaseId must be the id of a knowledge base");
    const file = await uploadedFile(form);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a title sent as a file is its "[object File]" text, as it always was
    const title = (form.get("title") ?? "").toString().trim() || file.fileName.replace(/\.[^.]+$/, "") || file.fileName;
    const checkedTitle = uploadTitle.safeParse(title);
    if (!checkedTitle.success) throw badInput("title", checkedTitle.error.issues[0]?.message ?? "Invalid title");
    const document = await addFileDocument(knowledgeDeps(deps), caller, { knowledgeBaseId, title, ...file });
    return Response.json(document, { status: 201 });
  } catch (error) {
    const trpcError = toTRPCError(error);
    if (trpcError.code === "INTERNAL_SERVER_ERROR") rootLogger().error({ err: error }, "upload failed");
    const field = error instanceof AppError ? error.field : undefined;
    const retryAfter = retryAfterOf(error);
    return errorResponse(getHTTPStatusCodeFromError(trpcError), trpcError.code, trpcError.message, field, retryAfter === undefined ? undefined : { "Retry-After": String(retryAfter) });
  }
}

function errorResponse(status: number, code: string, message: string, field?: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { code, message, ...(field && { field }) } }, { status, headers });
}

/**
 * The multipart field `file` of a form: a .txt, .md, .html or .pdf document of at most
 * MAX_DOCUMENT_BYTES (`too_large` beyond, named `file`). The knowledge upload and chat attachments
 * (server/http/rest) read their files with it.
 */
export async function uploadedFile(form: FormData): Promise<UploadedFile> {
  const file = form.get("file");
  if (!(file instanceof File)) throw badInput("file", "Attach the document as the multipart field 'file'");
  if (file.size > MAX_DOCUMENT_BYTES) throw tooLarge();
  const format = formatOfFileName(file.name);
  if (!format) throw badInput("file", "Upload a .txt, .md, .html or .pdf file");
  // Kept as sent, but storable: no NUL (Postgres stores none), at most the column's 255 characters.
  const fileName = [...file.name.replaceAll("\0", "")].slice(0, 255).join("");
  return { fileName, bytes: new Uint8Array(await file.arrayBuffer()), format };
}

/**
 * The multipart form, read with the cap of a body that carries a document (the server applies the
 * same one before the route runs), so an oversized body is refused without being buffered whole.
 */
export async function readForm(request: Request): Promise<FormData> {
  const limit = MAX_DOCUMENT_BODY_BYTES;
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data/i.test(contentType)) throw badInput("file", "Send the file as multipart/form-data");
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  }
  try {
    return await new Response(Buffer.concat(chunks), { headers: { "content-type": contentType } }).formData();
  } catch {
    throw badInput("file", "The multipart body could not be read");
  }
}
