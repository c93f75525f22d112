import type { DbHandle } from "../../db";
import type { KnowledgeIndex } from "../knowledge/knowledgeIndex";
import type { Store } from "../platform/store/types";

export interface HealthDeps {
  dbHandle: DbHandle;
  store: Store;
  knowledge: KnowledgeIndex;
}

const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<void>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), PROBE_TIMEOUT_MS))),
    ]);
    return null;
  } catch (error) {
    return (error as Error).message || "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/api/health`: which database and stream store this instance uses, and whether each answers;
 * also where knowledge-base vectors live (`pgvector`, or `array` where the database lacks it).
 */
export async function checkHealth(deps: HealthDeps) {
  const [dbError, redisError] = await Promise.all([probe(() => deps.dbHandle.ping()), probe(() => deps.store.ping())]);
  const body = { db: deps.dbHandle.kind, redis: deps.store.kind === "redis" ? "redis" : "memory", vectors: deps.knowledge.vectors.backend };
  if (!dbError && !redisError) return { status: "ok" as const, ...body };
  const failing = [...(dbError ? ["db"] : []), ...(redisError ? ["redis"] : [])];
  return { status: "error" as const, ...body, failing, errors: { ...(dbError && { db: dbError }), ...(redisError && { redis: redisError }) } };
}
