import type { Caller } from "../auth";
import { parseFile, parseText, type FileFormat, type TextFormat } from "./parse";
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
  await assertMayAddDocuments(deps.db, caller, input.knowledgeBaseId);
  const blocks = parseText(input.content, input.mimeType);
  return indexDocument(
    deps,
    { tenantId: caller.tenant.id, knowledgeBaseId: input.knowledgeBaseId, createdBy: caller.user.id },
    { title: input.title, mimeType: input.mimeType, sizeBytes: Buffer.byteLength(input.content, "utf8"), contentHash: sha256Hex(input.content), blocks },
  );
}

/** An uploaded file of any supported format (the size limit is enforced by the caller, at the edge). */
export async function addFileDocument(
  deps: KnowledgeDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string; bytes: Uint8Array; format: FileFormat },
): Promise<KnowledgeDocument> {
  await assertMayAddDocuments(deps.db, caller, input.knowledgeBaseId);
  const blocks = await parseFile(input.bytes, input.format);
  return indexDocument(
    deps,
    { tenantId: caller.tenant.id, knowledgeBaseId: input.knowledgeBaseId, createdBy: caller.user.id },
    { title: input.title, mimeType: input.format, sizeBytes: input.bytes.byteLength, contentHash: sha256Hex(input.bytes), blocks },
  );
}
