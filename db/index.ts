import fs from "node:fs";
import path from "node:path";
import type { Extensions } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import * as schema from "./schema";

export { schema };
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type DbKind = "postgres" | "pglite";
export interface DbHandle {
  db: Db;
  kind: DbKind;
  /** Cheap liveness probe used by /api/health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where drizzle-kit writes migrations; resolved from the working directory so bundling cannot move it. */
export const migrationsFolder = path.resolve(process.env.PARLEY_MIGRATIONS_DIR ?? "db/migrations");

export interface OpenDbOptions {
  /** postgres:// URL; when absent, embedded PGlite is used. */
  url?: string;
  /** PGlite directory; `memory://` (or undefined) keeps it in memory. */
  dataDir?: string;
  /** postgres-js pool size. */
  max?: number;
  /** PGlite: load pgvector (default). Off, embeddings fall back to `real[]`, as on a server without it. */
  pgvector?: boolean;
}

/** The Postgres advisory lock key held while migrating ("parley" in ASCII). */
const MIGRATION_LOCK = 0x7061726c6579;

/** Opens the database on either driver and applies pending migrations. */
export async function openDb(options: OpenDbOptions): Promise<DbHandle> {
  if (options.url) {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(options.url, {
      max: options.max ?? 10,
      onnotice: () => {},
      connect_timeout: 5,
      // JIT compiles each search plan for ~8 ms and never pays it back on Parley's short queries.
      connection: { jit: "off" },
    });
    const db = drizzle(client, { schema });
    try {
      // Instances that start together migrate one at a time: the others wait on this lock, then
      // find nothing left to apply.
      const lock = await client.reserve();
      try {
        await lock.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK})`);
        await migrate(db, { migrationsFolder });
      } finally {
        await lock.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined);
        lock.release();
      }
    } catch (error) {
      await client.end({ timeout: 1 });
      throw error;
    }
    return {
      db: db as unknown as Db,
      kind: "postgres",
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const dataDir = options.dataDir && options.dataDir !== "memory://" ? options.dataDir : undefined;
  if (dataDir) fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  // btree_gin: the search indexes lead with tenant and owner (migration 0005).
  const extensions: Extensions = { btree_gin: (await import("@electric-sql/pglite/contrib/btree_gin")).btree_gin };
  if (options.pgvector !== false) extensions.vector = (await import("@electric-sql/pglite-pgvector")).vector;
  const client = await PGlite.create(dataDir, { extensions });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return {
    db: db as unknown as Db,
    kind: "pglite",
    ping: async () => {
      await client.query("select 1");
    },
    close: () => client.close(),
  };
}

