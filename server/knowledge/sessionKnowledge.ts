import type { Db } from "../../db";
import type { App } from "../app";
import { DEFAULT_TENANT, type Caller } from "../auth";
import { defaultStrategy, type Reference, type SessionInput } from "../defaults";
import { badInput, notFound } from "../errors";
import { getSession, type Session } from "../sessions";
import { handbookBaseId } from "./handbookBase";
import { basesOfTenant } from "./repository";
import { searchChunks, toReference, type KnowledgeDeps } from "./retrieve";
import { previousTurn, standaloneQuestion } from "./rewrite";

/** Search and index dependencies of the app. */
export const knowledgeDeps = (app: Pick<App, "db" | "knowledge">): KnowledgeDeps => ({ db: app.db, ...app.knowledge });

/**
 * The knowledge settings of a session being created or updated, checked against the caller's
 * tenant: naming a base the tenant does not have is BAD_REQUEST on that field (so a session can
 * never point at another tenant's base). A new session of tenant `default` that names no base
 * gets the Parley handbook; `knowledgeBaseId: null` asks for none.
 */
export async function withSessionKnowledge(db: Db, caller: Caller, input: SessionInput, creating: boolean): Promise<SessionInput> {
  if (input.knowledgeBaseId) {
    const [known] = await basesOfTenant(db, caller.tenant.id, [input.knowledgeBaseId]);
    if (!known) throw badInput("knowledgeBaseId", "There is no knowledge base with this id in your tenant");
  }
  const listed = input.agentConfig?.knowledgeBases ?? [];
  if (listed.length > 0) {
    const known = await basesOfTenant(db, caller.tenant.id, listed);
    if (known.length !== new Set(listed).size) throw badInput("agentConfig", "agentConfig.knowledgeBases names a knowledge base your tenant does not have");
  }
  if (creating && input.knowledgeBaseId === undefined && caller.tenant.name === DEFAULT_TENANT) {
    return { ...input, knowledgeBaseId: await handbookBaseId(db, caller.tenant.id) };
  }
  return input;
}

/**
 * The references an answer rests on: the session's bases (`knowledgeBaseId` and
 * `agentConfig.knowledgeBases`, only those of the session's own tenant and still existing),
 * searched with its strategy, for the question made standalone when `enableRewrite` is on.
 */
export async function retrieveForSession(
  app: App,
  session: Session,
  question: string,
  turn: { requestId: string; signal: AbortSignal },
): Promise<Reference[]> {
  const named = [session.knowledgeBaseId, ...session.agentConfig.knowledgeBases].filter((id): id is string => Boolean(id));
  const baseIds = await basesOfTenant(app.db, session.tenantId, named);
  if (baseIds.length === 0) return [];
  const query = session.strategy.enableRewrite
    ? await standaloneQuestion(app.models.summary, question, await previousTurn(app.db, session.id, turn.requestId), turn.signal)
    : question;
  const { hits } = await searchChunks(knowledgeDeps(app), { baseIds, query, settings: session.strategy });
  return hits.map(toReference);
}

/** `knowledge.search`: the caller's bases, with a session's strategy (one the caller may see) or the defaults. */
export async function searchForCaller(app: App, caller: Caller, input: { knowledgeBaseIds: string[]; query: string; sessionId?: string }) {
  const baseIds = await basesOfTenant(app.db, caller.tenant.id, input.knowledgeBaseIds);
  if (baseIds.length !== new Set(input.knowledgeBaseIds).size) throw notFound("Knowledge base");
  const settings = input.sessionId ? (await getSession(app.db, caller, input.sessionId, "tenant")).strategy : defaultStrategy();
  const { hits } = await searchChunks(knowledgeDeps(app), { baseIds, query: input.query, settings });
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
