import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { sql } from "drizzle-orm";
import { createFreshDatabase } from "../../scripts/localServers";
import { migrationsFolder } from "../../db";

/**
 * Test support for migration suites: a bare database on the vitest project's back end (a fresh
 * Postgres database, or in-memory PGlite) that migrates from any folder, and the migrations folder
 * as it was before a given migration, so rows can be written in the old shape and migrated.
 */

export interface MigrationTarget {
  execute(query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]>;
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

export async function openMigrationTarget(prefix: string): Promise<MigrationTarget> {
  if (process.env.PARLEY_TEST_BACKEND === "servers") {
    const database = await createFreshDatabase(process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", prefix);
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const { migrate } = await import("drizzle-orm/postgres-js/migrator");
    const client = postgres(database.url, { max: 1, onnotice: () => {} });
    const db = drizzle(client);
    return {
      execute: async (query) => [...(await db.execute(query))] as Record<string, unknown>[],
      migrate: (folder) => migrate(db, { migrationsFolder: folder }),
      close: async () => {
        await client.end();
        await database.drop();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const { btree_gin } = await import("@electric-sql/pglite/contrib/btree_gin");
  const client = await PGlite.create({ extensions: { btree_gin } });
  const db = drizzle(client);
  return {
    execute: async (query) => (await db.execute(query)).rows,
    migrate: (folder) => migrate(db, { migrationsFolder: folder }),
    close: () => client.close(),
  };
}

interface Journal {
  entries: { idx: number; tag: string }[];
}
const journal = () => JSON.parse(readFileSync(path.join(migrationsFolder, "meta/_journal.json"), "utf8")) as Journal;

/** The tag of the migration whose name ends with `suffix` (the lead renumbers migrations as branches merge). */
export function migrationTag(suffix: string): string {
  const entry = journal().entries.find((e) => e.tag.endsWith(suffix));
  if (!entry) throw new Error(`no migration named *${suffix}`);
  return entry.tag;
}

/** A temporary copy of the migrations folder as it was before `tag` (the caller removes it). */
export function migrationsBefore(tag: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), "parley-migrations-"));
  mkdirSync(path.join(folder, "meta"));
  const all = journal();
  const cut = all.entries.findIndex((e) => e.tag === tag);
  if (cut <= 0) throw new Error(`no migration ${tag} after the first`);
  all.entries = all.entries.slice(0, cut);
  writeFileSync(path.join(folder, "meta/_journal.json"), JSON.stringify(all));
  for (const { tag: earlier } of all.entries) copyFileSync(path.join(migrationsFolder, `${earlier}.sql`), path.join(folder, `${earlier}.sql`));
  return folder;
}
