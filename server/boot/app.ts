import { openDb, type Db, type DbHandle } from "../../db";
import { endedAnswer, type AnswerRow } from "../chat/answers";
import { createAnswerProgress, type AnswerProgress } from "../chat/progress";
import { createAnswerRunner, type AnswerRunner } from "../chat/runner";
import { bootstrap, createCallerCache, purgeExpiredWebSessions, type CallerCache } from "../auth/accounts";
import { createContextManager, type ContextManager } from "../chat/llmContext";
import { parseEnv, pgliteDir, type Env } from "../platform/env";
import { createOpenStreams, type OpenStreams } from "../http/openStreams";
import { createDocumentPool, type DocumentPool, type DocumentPoolOptions } from "../knowledge/documentPool";
import { ensureHandbookBase } from "../knowledge/handbookBase";
import { openKnowledgeIndex, reembedStaleChunks, type KnowledgeIndex } from "../knowledge/knowledgeIndex";
import { knowledgeDeps } from "../knowledge/sessionKnowledge";
import { INSTANCE_ID, rootLogger, type Logger } from "../platform/log";
import { contextVersion, loadHistory } from "../sessions/messages";
import { startPairIndexer } from "../sessions/pairSearch";
import { createMetrics, type Metrics } from "../platform/metrics";
import { createModels } from "../platform/models";
import { createRateLimits, type RateLimits } from "../auth/rateLimits";
import { startSweeper } from "../chat/recovery";
import { startRetentionSweeper } from "../sessions/retention";
import { listenForSignals, publishSignal } from "../platform/signals";
import { createKeys, createStore, type Keys, type Store } from "../platform/store";

/**
 * Everything a request needs, created once per process (or per test). Domain modules never import
 * it: each declares the narrow dependencies it uses, and the App satisfies them all.
 */
export interface App {
  env: Env;
  instanceId: string;
  db: Db;
  dbHandle: DbHandle;
  store: Store;
  keys: Keys;
  models: ReturnType<typeof createModels>;
  /** The LLM's memory of each session (the messages it is sent), cached in the store. */
  llmContext: ContextManager;
  runner: AnswerRunner;
  /** The growing text of this instance's answers, written to their rows in batches. */
  answerProgress: AnswerProgress;
  /** Recently resolved API keys, so most requests cost no auth query. */
  callers: CallerCache;
  /** Where knowledge-base vectors live and which embedder makes them. */
  knowledge: KnowledgeIndex;
  /** The processes that prepare new documents (parse, chunk, embed offline), with their queue. */
  documents: DocumentPool;
  /** JSON log lines of this instance (children per request and per answer). */
  log: Logger;
  metrics: Metrics;
  /** Calls, answers started and wrong-key sign-ins, limited across instances. */
  limits: RateLimits;
  /** The answer streams this instance serves, counted per key and ended on revocation or sign-out. */
  openStreams: OpenStreams;
  /** An answer's row once it has ended, for a follower whose stream went silent (chat/streams.ts). */
  endedAnswer(sessionId: string, messageId: string): Promise<AnswerRow | null>;
  close(): Promise<void>;
}

/** The App could not start because Postgres or Redis (named in `failing`, with why) did not answer. */
export class StoresUnavailable extends Error {
  constructor(readonly failing: Partial<Record<"db" | "redis", string>>) {
    super(`Waiting for ${Object.entries(failing).map(([part, why]) => `${part} (${why})`).join(" and ")}`);
    this.name = "StoresUnavailable";
  }
}

/** How often expired browser sign-ins are deleted. */
const WEB_SESSION_PURGE_MS = 5 * 60_000;

const reason = (error: unknown) => (error as Error)?.message || String(error) || "unreachable";

/** Opens the database (migrations included) and the store together; both or neither. */
async function openStores(env: Env, options: { pgliteDataDir?: string; pgvector?: boolean }) {
  const [db, store] = await Promise.allSettled([
    openDb({ url: env.DATABASE_URL, dataDir: options.pgliteDataDir ?? pgliteDir(env), pgvector: options.pgvector }),
    createStore({ redisUrl: env.REDIS_URL, redisClusterNodes: env.REDIS_CLUSTER_NODES }),
  ]);
  if (db.status === "fulfilled" && store.status === "fulfilled") return { dbHandle: db.value, store: store.value };
  if (db.status === "fulfilled") await db.value.close().catch(() => undefined);
  if (store.status === "fulfilled") await store.value.close().catch(() => undefined);
  throw new StoresUnavailable({
    ...(db.status === "rejected" && { db: reason(db.reason) }),
    ...(store.status === "rejected" && { redis: reason(store.reason) }),
  });
}

/**
 * The composition root: builds every part and wires them together. Only entry points import this
 * module (route handlers, instrumentation, test setup).
 */
export async function createApp(
  env: Env,
  options: {
    pgliteDataDir?: string;
    quiet?: boolean;
    pgvector?: boolean;
    log?: Logger;
    metrics?: Metrics;
    /** The rate limits' window (60 s); tests shorten it to see it reset. */
    rateLimitWindowSeconds?: number;
    /** The document processes' limits (DOCUMENT_POOL_DEFAULTS); tests make them small to reach them. */
    documents?: Partial<DocumentPoolOptions>;
    /** Whether this instance embeds ended answers for messages/search (true); tests that drive the indexer themselves turn it off. */
    indexPairs?: boolean;
  } = {},
): Promise<App> {
  const { dbHandle, store } = await openStores(env, options);
  const log = options.log ?? rootLogger();
  const metrics = options.metrics ?? createMetrics();
  const keys = createKeys(env.PARLEY_REDIS_PREFIX);
  const models = createModels(env);
  const knowledge = await openKnowledgeIndex(dbHandle.db, env).catch(async (error: unknown) => {
    await Promise.allSettled([store.close(), dbHandle.close()]);
    throw error;
  });
  const runner = createAnswerRunner({
    maxConcurrent: env.PARLEY_MAX_CONCURRENT_ANSWERS,
    maxQueued: env.PARLEY_MAX_QUEUED_ANSWERS,
    leases: { store, keys },
    log,
  });
  metrics.countAnswersFrom(runner);
  const documents = createDocumentPool({
    maxQueued: env.PARLEY_MAX_QUEUED_DOCUMENTS,
    log,
    onQueueFull: () => metrics.rateLimited.inc({ limit: "documents" }),
    ...options.documents,
  });
  let stopSweeper = () => {};
  let stopRetentionSweeper = async () => {};
  let stopPairIndexer = async () => {};
  let reembedding: Promise<unknown> = Promise.resolve();
  let unsubscribeSignals: () => Promise<void> = async () => {};

  const app: App = {
    env,
    instanceId: INSTANCE_ID,
    db: dbHandle.db,
    dbHandle,
    store,
    keys,
    models,
    runner,
    answerProgress: createAnswerProgress({ db: dbHandle.db, log }),
    callers: createCallerCache(),
    knowledge,
    documents,
    log,
    metrics,
    limits: createRateLimits({
      store,
      prefix: env.PARLEY_REDIS_PREFIX,
      callsPerWindow: env.PARLEY_RATE_LIMIT_PER_MINUTE,
      sendsPerWindow: env.PARLEY_SEND_LIMIT_PER_MINUTE,
      windowSeconds: options.rateLimitWindowSeconds,
      onRefused: (limit) => metrics.rateLimited.inc({ limit }),
    }),
    endedAnswer: (sessionId, messageId) => endedAnswer({ db: dbHandle.db, store, keys }, sessionId, messageId),
    openStreams: createOpenStreams({ perKey: env.PARLEY_STREAMS_PER_KEY, onRefused: () => metrics.rateLimited.inc({ limit: "streams" }) }),
    llmContext: createContextManager({
      store,
      keys,
      ttlSeconds: env.CONTEXT_TTL_SECONDS,
      loadHistory: (sessionId) => loadHistory(dbHandle.db, sessionId),
      loadVersion: (sessionId) => contextVersion(dbHandle.db, sessionId),
      summarize: (messages) =>
        models.summary.complete({
          messages: [
            { role: "system", content: "Summarise the conversation below in a few sentences, keeping facts, names and decisions." },
            ...messages,
          ],
          signal: AbortSignal.timeout(30_000),
        }),
    }),
    async close() {
      stopSweeper();
      await stopRetentionSweeper();
      await stopPairIndexer();
      await reembedding;
      await runner.close();
      await app.answerProgress.close();
      await documents.close();
      await unsubscribeSignals().catch(() => undefined);
      await store.close();
      await dbHandle.close();
    },
  };

  try {
    // A stop or a revocation may happen on any instance; every instance hears it here.
    unsubscribeSignals = await listenForSignals(app);

    const boot = await bootstrap(app.db, env.PARLEY_BOOTSTRAP_KEY);
    if (boot.created && !options.quiet) announceBootstrap(env, boot.apiKey);
    // Instances still running with the old value may hold the revoked key in their caller caches.
    for (const revokedApiKeyId of boot.revoked ?? []) {
      log.warn({ apiKeyId: revokedApiKeyId }, "PARLEY_BOOTSTRAP_KEY changed: revoked the key of its previous value");
      await publishSignal(app, { revokedApiKeyId }).catch((error: Error) => log.error({ err: error }, "could not announce a revoked key"));
    }
    // Without it new sessions of `default` just start with no base; the next start tries again.
    await ensureHandbookBase(knowledgeDeps(app)).catch((error: Error) => log.error({ err: error }, "could not index the Parley handbook"));
    // Vectors of a previous embedder (PARLEY_EMBEDDING_MODEL changed) are redone in the background.
    reembedding = reembedStaleChunks(app.db, knowledge).then(
      (count) => count > 0 && log.info({ count, embedder: knowledge.embedder.id }, "re-embedded knowledge chunks"),
      (error: Error) => log.error({ err: error }, "re-embedding knowledge chunks failed"),
    );

    // Ended answers are embedded with their questions for messages/search, in batches, on every instance.
    if (options.indexPairs !== false) stopPairIndexer = startPairIndexer(app);
    // Answers left `streaming` by a dead instance: at start, then every few seconds on every instance.
    stopSweeper = await startSweeper(app);
    // Temporary chats past their lifetime and sessions past their tenant's retention: one instance at a time.
    stopRetentionSweeper = startRetentionSweeper(app);
    // Expired browser sign-ins: at start, then every few minutes (any instance may; deleting is idempotent).
    const purge = () => purgeExpiredWebSessions(app.db).catch((error: Error) => log.error({ err: error }, "could not purge expired sign-ins"));
    await purge();
    const purging = setInterval(() => void purge(), WEB_SESSION_PURGE_MS);
    purging.unref();
    const stopAnswerSweeper = stopSweeper;
    stopSweeper = () => {
      stopAnswerSweeper();
      clearInterval(purging);
    };
  } catch (error) {
    // Half-started (a store went away during bootstrap): free what was opened, the caller retries.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

function announceBootstrap(env: Env, apiKey: string | undefined) {
  const base = env.PARLEY_PUBLIC_URL ?? `http://localhost:${env.PORT}`;
  const lines = ["", "Parley is set up: tenant 'default', owner 'admin'."];
  if (apiKey) {
    lines.push(`Owner API key (shown once, keep it): ${apiKey}`, `Sign in: ${base}/signin#key=${apiKey}`);
  } else {
    lines.push(`Sign in with PARLEY_BOOTSTRAP_KEY at ${base}/signin`);
  }
  // Meant for a person, once: plain text on stderr, never in the JSON log.
  process.stderr.write(lines.join("\n") + "\n\n");
}

const globalForApp = globalThis as unknown as { __parleyApp?: Promise<App> };

/** The server entry's App, ready once its stores answer, handed to Next's bundles (see getApp). */
export function provideApp(app: Promise<App>) {
  globalForApp.__parleyApp = app;
}

/**
 * The process-wide app. Kept on globalThis because the server entry (server/boot/main.ts) and Next's
 * bundles (server components) each carry their own copy of this module, and must share one
 * database pool and one store.
 */
export function getApp(): Promise<App> {
  globalForApp.__parleyApp ??= createApp(parseEnv()).catch((error) => {
    globalForApp.__parleyApp = undefined;
    throw error;
  });
  return globalForApp.__parleyApp;
}
