import type { Db } from "../../db";
import type { Caller } from "../auth/accounts";
import { defaultStrategy, type Reference } from "../../common/settings";
import { notFound } from "../platform/errors";
import type { ChatModel } from "../platform/models/types";
import type { DocumentPool } from "./documentPool";
import { getSession, type Session } from "../sessions/sessions";
import type { KnowledgeIndex } from "./knowledgeIndex";
import { basesOfTenant, documentsOfTenant } from "./repository";
import { searchChunks, toReference, type KnowledgeDeps, type RetrievalSettings } from "./retrieve";
import { previousTurn, standaloneQuestion } from "./rewrite";

/** The database, the knowledge index and the document processes: what searching and indexing need. */
export interface KnowledgeSource {
  db: Db;
  knowledge: KnowledgeIndex;
  documents: DocumentPool;
}

/** What a session's retrieval needs: the knowledge, and the model that makes questions standalone. */
export interface RetrievalDeps extends KnowledgeSource {
  models: { summary: ChatModel };
}

/** Search and index dependencies, from the database, the knowledge index and the document processes. */
export const knowledgeDeps = (source: KnowledgeSource): KnowledgeDeps & Pick<KnowledgeSource, "documents"> => ({
  db: source.db,
  ...source.knowledge,
  documents: source.documents,
});

/**
 * The references an answer rests on: the session's bases (`knowledgeBaseId` and
 * `agentConfig.knowledgeBases`, or the turn's own `knowledgeBaseIds` instead when it names some;
 * only those of the session's own tenant and still existing), searched with its strategy, for the
 * question made standalone when `enableRewrite` is on.
 */
export async function retrieveForSession(
  deps: RetrievalDeps,
  session: Session,
  question: string,
  turn: { requestId: string; signal: AbortSignal; knowledgeBaseIds?: string[] },
): Promise<Reference[]> {
  const named = turn.knowledgeBaseIds?.length
    ? turn.knowledgeBaseIds
    : [session.knowledgeBaseId, ...session.agentConfig.knowledgeBases].filter((id): id is string => Boolean(id));
  const baseIds = await basesOfTenant(deps.db, session.tenantId, named);
  if (baseIds.length === 0) return [];
  const query = session.strategy.enableRewrite
    ? await standaloneQuestion(deps.models.summary, question, await previousTurn(deps.db, session.id, turn.requestId), turn.signal)
    : question;
  const { hits } = await searchChunks(knowledgeDeps(deps), { baseIds, query, settings: session.strategy, signal: turn.signal });
  return hits.map(toReference);
}

/**
 * `knowledge.search` (and WeKnora's knowledge-search and hybrid-search): the caller's bases and
 * documents, with a session's strategy (one the caller may see) or the defaults, either with
 * `settings` put over them. A base or document the tenant does not have is NOT_FOUND.
 */
export async function searchForCaller(
  deps: KnowledgeSource,
  caller: Caller,
  input: { knowledgeBaseIds: string[]; documentIds?: string[]; query: string; sessionId?: string; settings?: Partial<RetrievalSettings> },
) {
  const baseIds = await basesOfTenant(deps.db, caller.tenant.id, input.knowledgeBaseIds);
  if (baseIds.length !== new Set(input.knowledgeBaseIds).size) throw notFound("Knowledge base");
  const documentIds = await documentsOfTenant(deps.db, caller.tenant.id, input.documentIds ?? []);
  if (documentIds.length !== new Set(input.documentIds).size) throw notFound("Document");
  const strategy = input.sessionId ? (await getSession(deps.db, caller, input.sessionId, "tenant")).strategy : defaultStrategy();
  const settings = { ...strategy, ...input.settings };
  const { hits } = await searchChunks(knowledgeDeps(deps), { baseIds, documentIds, query: input.query, settings });
  return {
    items: hits.map((hit) => ({
      ...toReference(hit),
      matchedBy: hit.matchedBy,
      knowledgeBaseId: hit.knowledgeBaseId,
      documentId: hit.documentId,
      scores: { keyword: hit.keyword, vector: hit.vector, rerank: hit.score },
    })),
  };
}
