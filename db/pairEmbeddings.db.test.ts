import { rmSync } from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder } from ".";
import { migrationsBefore, migrationTag, openMigrationTarget, type MigrationTarget } from "../server/testing/migrations";

/**
 * The pair_embeddings migration queues every answer that had already ended (for the indexer to
 * embed), gives the table the embedding column type chunks have, and from then on its trigger
 * queues each answer as it ends.
 */

let target: MigrationTarget;
let before: string;
beforeAll(async () => {
  target = await openMigrationTarget("parley_pairs");
  before = migrationsBefore(migrationTag("_pair_embeddings"));
});
afterAll(async () => {
  await target?.close();
  if (before) rmSync(before, { recursive: true, force: true });
});

describe("migration pair_embeddings", () => {
  it("queues the answers that ended before it, and then each answer as it ends, on either back end", async () => {
    await target.migrate(before);
    const [tenant] = await target.execute(sql`insert into tenants (name) values ('pairs') returning id`);
    const [user] = await target.execute(sql`insert into users (tenant_id, name, role) values (${tenant!.id}, 'u', 'owner') returning id`);
    const [session] = await target.execute(sql`
      insert into sessions (tenant_id, user_id, strategy, summary_parameters, agent_config, context_config)
      values (${tenant!.id}, ${user!.id}, '{}', '{}', '{}', '{}') returning id`);
    const message = async (role: string, status: string, updatedAt = new Date()) =>
      (
        await target.execute(sql`
          insert into messages (session_id, tenant_id, user_id, request_id, role, content, status, updated_at)
          values (${session!.id}, ${tenant!.id}, ${user!.id}, gen_random_uuid(), ${role}, 'text', ${status}, ${updatedAt.toISOString()}) returning id`)
      )[0]!.id as string;
    await message("user", "completed");
    const ended = await message("assistant", "completed", new Date("2026-03-01T10:00:00Z"));
    const stopped = await message("assistant", "stopped");
    const streaming = await message("assistant", "streaming");

    await target.migrate(migrationsFolder);
    const queued = async () =>
      (await target.execute(sql`select answer_id, session_id, tenant_id, user_id, embedding_model, queued_at from pair_embeddings order by queued_at`)).map((r) => r.answer_id);
    expect(await queued()).toEqual([ended, stopped]);
    const [row] = await target.execute(sql`select * from pair_embeddings where answer_id = ${ended}`);
    expect(row).toMatchObject({ session_id: session!.id, tenant_id: tenant!.id, user_id: user!.id, embedding_model: null, embedding: null });
    expect(new Date(row!.queued_at as string).toISOString()).toBe("2026-03-01T10:00:00.000Z");
    // Its vectors are of the type chunks' are.
    const types = await target.execute(sql`
      select c.relname as table, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a join pg_class c on c.oid = a.attrelid
      where a.attname = 'embedding' and c.relname in ('knowledge_chunks', 'pair_embeddings') order by 1`);
    expect(types[0]!.type).toBe(types[1]!.type);

    await target.execute(sql`update messages set status = 'completed' where id = ${streaming}`);
    const later = await message("assistant", "failed");
    await message("user", "completed");
    expect((await queued()).sort()).toEqual([ended, stopped, streaming, later].sort());
  });
});
