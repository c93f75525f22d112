import path from "node:path";
import { z } from "zod";

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const nonNegativeInt = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
/** Seconds, fractions allowed (tests bound answers in fractions of a second). */
const positiveSeconds = (fallback: number) => z.coerce.number().positive().default(fallback);
const flag = z.enum(["0", "1", "true", "false"]).default("0").transform((v) => v === "1" || v === "true");
const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined))
  .pipe(z.url().optional());

/** `redis://host:port,redis://host:port,…`: some nodes of a Redis Cluster (the rest are discovered). */
const clusterNodes = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v.split(",").map((node) => node.trim()).filter(Boolean) : undefined))
  .pipe(
    z
      .array(
        z
          .url({ protocol: /^rediss?$/, error: "each node must be a redis:// or rediss:// URL" })
          .refine((node) => !URL.canParse(node) || new URL(node).port !== "", "each node needs its port (redis://host:port)")
          .refine((node) => !URL.canParse(node) || ["", "/", "/0"].includes(new URL(node).pathname), "a Redis Cluster has only database 0"),
      )
      .optional(),
  );

const envSchema = z.object({
  DATABASE_URL: optionalUrl,
  /** Where embedded PGlite keeps its files when DATABASE_URL is unset. */
  PARLEY_DATA_DIR: z.string().min(1).default("./.data/pglite"),
  REDIS_URL: optionalUrl,
  /** Instead of REDIS_URL: run on a Redis Cluster. */
  REDIS_CLUSTER_NODES: clusterNodes,
  /** Every Redis key starts with this; tests give each run its own (still under `parley:`). */
  PARLEY_REDIS_PREFIX: z.string().regex(/^parley:([A-Za-z0-9_-]+:)?$/, "must be 'parley:' or 'parley:<run>:'").default("parley:"),
  PARLEY_BOOTSTRAP_KEY: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  PARLEY_PUBLIC_URL: z.string().optional(),
  STREAM_TTL_SECONDS: positiveInt(3600),
  CONTEXT_TTL_SECONDS: positiveInt(86400),
  PARLEY_MAX_CONCURRENT_ANSWERS: positiveInt(16),
  PARLEY_OFFLINE_TOKEN_DELAY_MS: nonNegativeInt(35),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_API_KEY: z.string().optional(),
  PARLEY_CHAT_MODEL: z.string().optional(),
  PARLEY_SUMMARY_MODEL: z.string().optional(),
  /** An OpenAI-compatible /v1/embeddings model for knowledge bases; unset: the built-in offline embedder. */
  PARLEY_EMBEDDING_MODEL: z.string().optional(),
  /** pino's level for the JSON log lines on stdout. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** When set, `/api/metrics` asks for `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(1).optional().or(z.literal("").transform(() => undefined)),
  /** On SIGTERM, how long running answers may take to finish before they are marked interrupted. */
  PARLEY_DRAIN_SECONDS: nonNegativeInt(20),
  /** Calls per API key (or signed-in user) a minute, shared by every instance; 0: no limit. */
  PARLEY_RATE_LIMIT_PER_MINUTE: nonNegativeInt(600),
  /** Answers started per API key (or signed-in user) a minute; 0: no limit. */
  PARLEY_SEND_LIMIT_PER_MINUTE: nonNegativeInt(30),
  /** Behind a proxy: a client's address is the first `X-Forwarded-For` hop, not the socket's. */
  PARLEY_TRUST_PROXY: flag,
  /** A model stream that sends nothing for this long ends its answer as failed. */
  PARLEY_MODEL_IDLE_SECONDS: positiveSeconds(60),
  /** No answer generates for longer than this (it ends as failed). */
  PARLEY_ANSWER_MAX_SECONDS: positiveSeconds(600),
  /** Answers that may wait for a slot per instance; beyond it `chat.send` is TOO_MANY_REQUESTS. */
  PARLEY_MAX_QUEUED_ANSWERS: positiveInt(1000),
  /** Answer streams one API key (or signed-in user) may hold open per instance, tRPC and REST together. */
  PARLEY_STREAMS_PER_KEY: positiveInt(64),
  /** Documents that may wait for a document process per instance; beyond it an upload is TOO_MANY_REQUESTS. */
  PARLEY_MAX_QUEUED_DOCUMENTS: positiveInt(8),
  /** A temporary chat is deleted this many hours after its last activity (fractions allowed). */
  PARLEY_TEMPORARY_HOURS: z.coerce.number().positive().default(24),
  /** How often the retention sweep runs (one instance at a time), at least 1 s. */
  PARLEY_RETENTION_SWEEP_SECONDS: z.coerce.number().min(1, "must be at least 1").default(300),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
}).refine((env) => !(env.REDIS_URL && env.REDIS_CLUSTER_NODES), {
  path: ["REDIS_CLUSTER_NODES"],
  message: "set either REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both",
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment once, failing with one readable line per bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Parley cannot start, the environment is invalid:\n${lines.join("\n")}`);
  }
  return result.data;
}

export function pgliteDir(env: Env): string {
  return path.resolve(env.PARLEY_DATA_DIR);
}
