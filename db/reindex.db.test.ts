import { rmSync } from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder } from ".";
import { migrationsBefore, migrationTag, openMigrationTarget, type MigrationTarget } from "../server/testing/migrations";

/**
 * Migration 0004 changed what the full-text columns index (Chinese one character at a time):
 * rows written before it must be found by Chinese words after it, on either back end. The
 * owner-search migration then copies each message's tenant and owner from its session.
 */

const BEFORE = "0004_chinese_search";
const OWNER_SEARCH = migrationTag("_messages_owner_search");

let target: MigrationTarget;
let oldFolder: string;
let through0004: string;
beforeAll(async () => {
  target = await openMigrationTarget("parley_reindex");
  oldFolder = migrationsBefore(BEFORE);
  through0004 = migrationsBefore(OWNER_SEARCH);
});
afterAll(async () => {
  await target?.close();
  for (const folder of [oldFolder, through0004]) if (folder) rmSync(folder, { recursive: true, force: true });
});

describe("migration 0004", () => {
  it("reindexes rows written before it, so their Chinese words and embedded ASCII words are found", async () => {
    await target.migrate(oldFolder);
    const [tenant] = await target.execute(sql`insert into tenants (name) values ('zh') returning id`);
    const [user] = await target.execute(sql`insert into users (tenant_id, name, role) values (${tenant!.id}, 'u', 'owner') returning id`);
    const [session] = await target.execute(sql`
      insert into sessions (tenant_id, user_id, title, strategy, summary_parameters, agent_config, context_config)
      values (${tenant!.id}, ${user!.id}, '会话上下文在Redis中的默认过期时间', '{}', '{}', '{}', '{}') returning id`);
    await target.execute(sql`
      insert into messages (session_id, request_id, role, content, status)
      values (${session!.id}, gen_random_uuid(), 'assistant', 'TTL过期：默认24小时，过期后上下文自动失效。', 'completed')`);
    const titleHits = (query: string) => target.execute(sql`select id from sessions where title_tsv @@ to_tsquery('simple', ${query})`);
    const contentHits = (query: string) => target.execute(sql`select id from messages where content_tsv @@ to_tsquery('simple', ${query})`);
    // Before: a run of Chinese characters is one token.
    expect(await titleHits("过 <-> 期")).toHaveLength(0);
    expect(await titleHits("redis")).toHaveLength(0);

    await target.migrate(through0004);
    expect(await titleHits("过 <-> 期")).toHaveLength(1);
    expect(await titleHits("redis")).toHaveLength(1);
    expect(await contentHits("(失 <-> 效) & 24")).toHaveLength(1);
    expect(await contentHits("ttl")).toHaveLength(1);
    // The GIN indexes dropped with the old columns are back.
    const indexes = await target.execute(sql`select indexname from pg_indexes where indexname in ('sessions_title_tsv_idx', 'messages_content_tsv_idx', 'knowledge_chunks_tsv_idx')`);
    expect(indexes.map((i) => i.indexname).sort()).toEqual(["knowledge_chunks_tsv_idx", "messages_content_tsv_idx", "sessions_title_tsv_idx"]);
  });

  it("fills each message's tenant and owner from its session, and scopes the search indexes by them", async () => {
    await target.migrate(migrationsFolder);
    const rows = await target.execute(sql`
      select m.tenant_id = s.tenant_id and m.user_id = s.user_id as same from messages m join sessions s on s.id = m.session_id`);
    expect(rows).toEqual([{ same: true }]);
    const indexes = await target.execute(sql`select indexname from pg_indexes where indexname in ('sessions_owner_title_tsv_idx', 'messages_owner_content_tsv_idx')`);
    expect(indexes.map((i) => i.indexname).sort()).toEqual(["messages_owner_content_tsv_idx", "sessions_owner_title_tsv_idx"]);
  });
});
