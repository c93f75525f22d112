import type { Caller } from "../auth";
import { prepareInWorker } from "./documentWorker";
import { OFFLINE_EMBEDDER_ID } from "./embed";
import type { FileFormat, TextFormat } from "./parse";
import type { DocumentSource } from "./prepare";
import { assertMayAddDocuments, indexDocument, sha256Hex, type KnowledgeDocument } from "./repository";
import type { KnowledgeDeps } from "./retrieve";

/** The largest document Parley indexes: 5 MiB of source (UTF-8 bytes for text). */
export const MAX_DOCUMENT_BYTES = 5 * 1024 * 1024;

/** `knowledge.documents.add`: text, Markdown or HTML given as a string (its size checked by the router). */
export async function addTextDocument(
  deps: KnowledgeDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string; content: string; mimeType: TextFormat },
): Promise<KnowledgeDocument> {
  return addDocument(deps, caller, input, { kind: "text", text: input.content, format: input.mimeType }, "content", {
    sizeBytes: Buffer.byteLength(input.content, "utf8"),
    contentHash: sha256Hex(input.content),
  });
}

/** An uploaded file of any supported format (the size limit is enforced by the caller, at the edge). */
export async function addFileDocument(
  deps: KnowledgeDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string; bytes: Uint8Array; format: FileFormat },
): Promise<KnowledgeDocument> {
  return addDocument(deps, caller, input, { kind: "file", bytes: input.bytes, format: input.format }, "file", {
    sizeBytes: input.bytes.byteLength,
    contentHash: sha256Hex(input.bytes),
  });
}

/** Checks access, prepares the document off the event loop (bounded), then stores it whole. */
async function addDocument(
  deps: KnowledgeDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string },
  source: DocumentSource,
  field: string,
  meta: { sizeBytes: number; contentHash: string },
): Promise<KnowledgeDocument> {
  await assertMayAddDocuments(deps.db, caller, input.knowledgeBaseId);
  const prepared = await prepareInWorker({ title: input.title, source, field, embedOffline: deps.embedder.id === OFFLINE_EMBEDDER_ID });
  return indexDocument(
    deps,
    { tenantId: caller.tenant.id, knowledgeBaseId: input.knowledgeBaseId, createdBy: caller.user.id },
    { title: input.title, mimeType: source.format, ...meta, ...prepared },
  );
}
