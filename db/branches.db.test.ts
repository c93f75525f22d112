import { rmSync } from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder } from ".";
import { migrationsBefore, migrationTag, openMigrationTarget, type MigrationTarget } from "../server/testing/migrations";

/**
 * The branches migration turns every existing (linear) conversation into a single path: each
 * message's parent is the one before it, all are on the active path, which ends at the last; and
 * from then on a parent or leaf must be a message of the same session.
 */

let target: MigrationTarget;
let before: string;
beforeAll(async () => {
  target = await openMigrationTarget("parley_branches");
  before = migrationsBefore(migrationTag("_branches"));
});
afterAll(async () => {
  await target?.close();
  if (before) rmSync(before, { recursive: true, force: true });
});

async function addSession(tenantId: unknown, userId: unknown): Promise<string> {
  const [session] = await target.execute(sql`
    insert into sessions (tenant_id, user_id, strategy, summary_parameters, agent_config, context_config)
    values (${tenantId}, ${userId}, '{}', '{}', '{}', '{}') returning id`);
  return session!.id as string;
}

/** The database's message for a failed query (Drizzle wraps it as the cause). */
async function failureOf(query: Promise<unknown>): Promise<string> {
  try {
    await query;
    return "succeeded";
  } catch (error) {
    return ((error as { cause?: Error }).cause ?? (error as Error)).message;
  }
}

describe("migration branches", () => {
  it("makes each existing conversation one path ending at its last message, on either back end", async () => {
    await target.migrate(before);
    const [tenant] = await target.execute(sql`insert into tenants (name) values ('branches') returning id`);
    const [user] = await target.execute(sql`insert into users (tenant_id, name, role) values (${tenant!.id}, 'u', 'owner') returning id`);
    const linear = await addSession(tenant!.id, user!.id);
    const empty = await addSession(tenant!.id, user!.id);
    const base = Date.parse("2026-03-01T10:00:00Z");
    // Three turns, inserted out of order; the third turn's pair shares one millisecond (id breaks the tie, as message.list did).
    const order = [4, 0, 5, 2, 1, 3];
    const ids = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003",
      "00000000-0000-4000-8000-000000000004", "00000000-0000-4000-8000-000000000005", "00000000-0000-4000-8000-000000000006"];
    const at = [0, 1, 1000, 1001, 2000, 2000];
    for (const i of order) {
      await target.execute(sql`
        insert into messages (id, session_id, tenant_id, user_id, request_id, role, content, status, created_at, updated_at)
        values (${ids[i]}, ${linear}, ${tenant!.id}, ${user!.id}, gen_random_uuid(), ${i % 2 === 0 ? "user" : "assistant"}, ${`m${i}`}, 'completed',
                ${new Date(base + at[i]!).toISOString()}, now())`);
    }

    await target.migrate(migrationsFolder);

    const rows = await target.execute(sql`
      select id, parent_id, on_active_path from messages where session_id = ${linear} order by created_at, id`);
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.parent_id)).toEqual([null, ...ids.slice(0, -1)]);
    expect(rows.every((r) => r.on_active_path === true)).toBe(true);
    const sessions = await target.execute(sql`select id, active_leaf_id from sessions where id in (${linear}, ${empty})`);
    expect(Object.fromEntries(sessions.map((s) => [s.id, s.active_leaf_id]))).toEqual({ [linear]: ids[5], [empty]: null });

    // New rows start off the path (the app puts them on it), and references stay within a session.
    const insertChild = (sessionId: string, parentId: string) =>
      target.execute(sql`
        insert into messages (session_id, tenant_id, user_id, request_id, role, content, status, parent_id)
        values (${sessionId}, ${tenant!.id}, ${user!.id}, gen_random_uuid(), 'user', 'q', 'completed', ${parentId}) returning on_active_path`);
    expect(await insertChild(linear, ids[5]!)).toEqual([{ on_active_path: false }]);
    expect(await failureOf(insertChild(empty, ids[5]!))).toMatch(/messages_parent_fk/);
    expect(await failureOf(target.execute(sql`update sessions set active_leaf_id = ${ids[0]} where id = ${empty}`))).toMatch(/sessions_active_leaf_fk/);
    // Deleting a session still takes its messages with it, the tree and the leaf included.
    await target.execute(sql`delete from sessions where id = ${linear}`);
    expect(await target.execute(sql`select id from messages where session_id = ${linear}`)).toEqual([]);
  });
});
