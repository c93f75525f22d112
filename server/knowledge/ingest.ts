import type { Caller } from "../auth/accounts";
import type { DocumentPool } from "./documentPool";
import { OFFLINE_EMBEDDER_ID } from "./embed";
import type { FileFormat, TextFormat } from "./parse";
import type { DocumentSource } from "./prepare";
import { assertMayAddDocuments, indexDocument, sha256Hex, type KnowledgeDocument, type NewDocument } from "./repository";
import type { KnowledgeDeps } from "./retrieve";

export { MAX_DOCUMENT_BYTES } from "../../common/limits";

/** What adding a document needs: the knowledge index and the processes that prepare documents. */
export type IngestDeps = KnowledgeDeps & { documents: Pick<DocumentPool, "prepare"> };

/** `knowledge.documents.add`: text, Markdown or HTML given as a string (its size checked by the router). */
export async function addTextDocument(
  deps: IngestDeps,
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
  deps: IngestDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string; fileName: string; bytes: Uint8Array; format: FileFormat },
): Promise<KnowledgeDocument> {
  return addDocument(deps, caller, input, { kind: "file", bytes: input.bytes, format: input.format }, "file", {
    fileName: input.fileName,
    sizeBytes: input.bytes.byteLength,
    contentHash: sha256Hex(input.bytes),
  });
}

/**
 * A file's text alone and its tokens (a chat attachment: neither chunked nor indexed), read in a
 * document process with every bound a document has; bad input names `file`.
 */
export async function extractFileText(
  documents: Pick<DocumentPool, "prepare">,
  file: { fileName: string; bytes: Uint8Array; format: FileFormat },
): Promise<{ text: string; tokenCount: number }> {
  const prepared = await documents.prepare({ title: file.fileName, source: { kind: "file", bytes: file.bytes, format: file.format }, field: "file", embedOffline: false, textOnly: true });
  return prepared.extracted ?? { text: "", tokenCount: 0 };
}

/** Checks access, prepares the document in a document process (bounded), then stores it whole. */
async function addDocument(
  deps: IngestDeps,
  caller: Caller,
  input: { knowledgeBaseId: string; title: string },
  source: DocumentSource,
  field: string,
  meta: Pick<NewDocument, "fileName" | "sizeBytes" | "contentHash">,
): Promise<KnowledgeDocument> {
  await assertMayAddDocuments(deps.db, caller, input.knowledgeBaseId);
  const prepared = await deps.documents.prepare({ title: input.title, source, field, embedOffline: deps.embedder.id === OFFLINE_EMBEDDER_ID });
  return indexDocument(
    deps,
    { tenantId: caller.tenant.id, knowledgeBaseId: input.knowledgeBaseId, createdBy: caller.user.id },
    { title: input.title, mimeType: source.format, ...meta, ...prepared },
  );
}
