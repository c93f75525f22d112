import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { folders } from "../../db/schema";
import type { App } from "../boot/app";
import { addFinishedTurn, codeOf, createTestApp, createTestTenant, fieldErrorsOf } from "../testing/app";
import { ask, readAnswer } from "../testing/answers";
import { MAX_FOLDERS } from "./folders";

/** Folders and the archive, at the tRPC edge (contract, "Folders, archive, sharing, …"). */
let app: App;
let t: Awaited<ReturnType<typeof createTestTenant>>;
beforeAll(async () => {
  app = await createTestApp();
  t = await createTestTenant(app);
});
afterAll(() => app.close());

const member = async () => (await t.addUser("member")).api;
const ids = (page: { items: { id: string }[] }) => page.items.map((s) => s.id);

describe("folders", () => {
  it("creates, lists by name, renames and counts sessions (archived ones too)", async () => {
    const api = await member();
    const work = await api.folder.create({ name: "Work" });
    expect(work).toMatchObject({ name: "Work", sessionCount: 0 });
    await api.folder.create({ name: "archive notes" });
    await api.folder.create({ name: "Bills" });
    expect((await api.folder.list()).items.map((f) => f.name)).toEqual(["archive notes", "Bills", "Work"]);

    const a = await api.session.create({ title: "a", folderId: work.id });
    const b = await api.session.create({ title: "b" });
    await api.session.update({ id: b.id, folderId: work.id, archived: true });
    expect(a.folderId).toBe(work.id);
    expect((await api.folder.list()).items.find((f) => f.id === work.id)?.sessionCount).toBe(2);

    const renamed = await api.folder.rename({ id: work.id, name: "Job" });
    expect(renamed).toMatchObject({ id: work.id, name: "Job", sessionCount: 2 });
    expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(work.updatedAt.getTime());
  });

  it("keeps names unique per user ignoring case (CONFLICT), but each user has their own", async () => {
    const api = await member();
    const other = await member();
    const f = await api.folder.create({ name: "Recipes" });
    expect(await codeOf(api.folder.create({ name: "recipes" }))).toBe("CONFLICT");
    expect(await codeOf(api.folder.create({ name: "RECIPES " }))).toBe("CONFLICT");
    const g = await api.folder.create({ name: "Travel" });
    expect(await codeOf(api.folder.rename({ id: g.id, name: "rEcIpEs" }))).toBe("CONFLICT");
    expect((await api.folder.rename({ id: f.id, name: "RECIPES" })).name).toBe("RECIPES");
    expect((await other.folder.create({ name: "Recipes" })).name).toBe("Recipes");
  });

  it("refuses an empty name or one over 100 characters (BAD_REQUEST on name), storing nothing", async () => {
    const api = await member();
    expect(await fieldErrorsOf(api.folder.create({ name: "" }))).toEqual(["name"]);
    expect(await fieldErrorsOf(api.folder.create({ name: "   " }))).toEqual(["name"]);
    expect(await fieldErrorsOf(api.folder.create({ name: "x".repeat(101) }))).toEqual(["name"]);
    expect((await api.folder.create({ name: "x".repeat(100) })).name).toHaveLength(100);
    const f = (await api.folder.list()).items[0]!;
    expect(await fieldErrorsOf(api.folder.rename({ id: f.id, name: "" }))).toEqual(["name"]);
    expect(await fieldErrorsOf(api.folder.rename({ id: f.id, name: "y".repeat(101) }))).toEqual(["name"]);
    expect((await api.folder.list()).items.map((x) => x.name)).toEqual(["x".repeat(100)]);
  });

  it("has at most 1,000 folders per user", async () => {
    const api = await member();
    const me = await api.auth.me();
    await app.db.insert(folders).values(Array.from({ length: MAX_FOLDERS - 1 }, (_, i) => ({ tenantId: t.tenant.id, userId: me.user.id, name: `f${i}` })));
    await api.folder.create({ name: "the last one" });
    expect(await fieldErrorsOf(api.folder.create({ name: "one too many" }))).toEqual(["name"]);
    expect((await api.folder.list()).items).toHaveLength(MAX_FOLDERS);
  });

  it("answers NOT_FOUND for another user's folder, wherever it is named", async () => {
    const api = await member();
    const other = await member();
    const theirs = await other.folder.create({ name: "Private" });
    const mine = await api.session.create();
    expect(await codeOf(api.folder.rename({ id: theirs.id, name: "Mine now" }))).toBe("NOT_FOUND");
    expect(await codeOf(api.folder.delete({ id: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.session.create({ folderId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.session.update({ id: mine.id, folderId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.session.list({ folderId: theirs.id }))).toBe("NOT_FOUND");
    expect(await codeOf(api.folder.delete({ id: randomUUID() }))).toBe("NOT_FOUND");
    expect((await other.folder.list()).items.map((f) => f.name)).toEqual(["Private"]);
    expect((await api.session.get({ id: mine.id })).folderId).toBeNull();
  });

  it("lists by folder, by no folder, or any; moving in and out keeps the session", async () => {
    const api = await member();
    const f = await api.folder.create({ name: "Projects" });
    const inside = await api.session.create({ title: "inside", folderId: f.id });
    const outside = await api.session.create({ title: "outside" });
    expect(ids(await api.session.list({ folderId: f.id }))).toEqual([inside.id]);
    expect(ids(await api.session.list({ folderId: null }))).toEqual([outside.id]);
    expect(ids(await api.session.list())).toEqual([outside.id, inside.id]);

    await api.session.update({ id: outside.id, folderId: f.id });
    await api.session.update({ id: inside.id, folderId: null });
    expect(ids(await api.session.list({ folderId: f.id }))).toEqual([outside.id]);
    expect(ids(await api.session.list({ folderId: null }))).toEqual([inside.id]);
    // Search honours the folder too.
    await addFinishedTurn(app, inside.id, "Where is the giraffe?", "In the zoo.");
    await addFinishedTurn(app, outside.id, "Where is the giraffe now?", "Still in the zoo.");
    expect(ids(await api.session.list({ search: "giraffe", folderId: f.id }))).toEqual([outside.id]);
    expect(ids(await api.session.list({ search: "giraffe", folderId: null }))).toEqual([inside.id]);
    expect((await api.session.list({ search: "giraffe", withTotal: true })).total).toBe(2);
  });

  it("delete moves its sessions out, deleting and archiving none", async () => {
    const api = await member();
    const f = await api.folder.create({ name: "Doomed" });
    const a = await api.session.create({ title: "a", folderId: f.id });
    const b = await api.session.create({ title: "b", folderId: f.id });
    await api.session.update({ id: b.id, archived: true, pinned: true });
    const before = await api.session.get({ id: a.id });
    expect(await api.folder.delete({ id: f.id })).toEqual({ id: f.id, moved: 2 });
    expect((await api.folder.list()).items).toEqual([]);
    const [afterA, afterB] = [await api.session.get({ id: a.id }), await api.session.get({ id: b.id })];
    expect(afterA).toEqual({ ...before, folderId: null });
    expect(afterB).toMatchObject({ folderId: null, pinned: true });
    expect(afterB.archivedAt).toBeInstanceOf(Date);
    expect(await codeOf(api.folder.delete({ id: f.id }))).toBe("NOT_FOUND");
  });

  it("admin.sessions filters the tenant's sessions by folder and archive", async () => {
    const api = await member();
    const f = await api.folder.create({ name: "Audit" });
    const inFolder = await api.session.create({ folderId: f.id });
    const archived = await api.session.create({ folderId: f.id });
    await api.session.update({ id: archived.id, archived: true });
    expect(ids(await t.owner.api.admin.sessions({ folderId: f.id }))).toEqual([inFolder.id]);
    expect(ids(await t.owner.api.admin.sessions({ folderId: f.id, archived: true }))).toEqual([archived.id]);
    expect(await codeOf(t.owner.api.admin.sessions({ folderId: randomUUID() }))).toBe("NOT_FOUND");
  });
});

describe("archive", () => {
  it("is independent of folder and pin: archiving and restoring keep both", async () => {
    const api = await member();
    const f = await api.folder.create({ name: "Keep" });
    const s = await api.session.create({ folderId: f.id });
    await api.session.update({ id: s.id, pinned: true });
    const archived = await api.session.update({ id: s.id, archived: true });
    expect(archived).toMatchObject({ folderId: f.id, pinned: true });
    expect(archived.archivedAt).toBeInstanceOf(Date);
    const again = await api.session.update({ id: s.id, archived: true });
    expect(again.archivedAt).toEqual(archived.archivedAt);
    const restored = await api.session.update({ id: s.id, archived: false });
    expect(restored).toMatchObject({ folderId: f.id, pinned: true, archivedAt: null });
  });

  it("leaves the default list and search, which show it only when asked for", async () => {
    const api = await member();
    const kept = await api.session.create({ title: "Kept zebra notes" });
    const put = await api.session.create({ title: "Old zebra notes" });
    await api.session.update({ id: put.id, archived: true });
    expect(ids(await api.session.list())).toEqual([kept.id]);
    expect((await api.session.list({ withTotal: true })).total).toBe(1);
    expect(ids(await api.session.list({ archived: true }))).toEqual([put.id]);
    expect(ids(await api.session.list({ search: "zebra" }))).toEqual([kept.id]);
    expect(ids(await api.session.list({ search: "zebra", archived: true }))).toEqual([put.id]);
    expect((await api.session.list({ search: "zebra", archived: true, withTotal: true })).total).toBe(1);
  });

  it("an archived session still opens, streams and resumes; sending in it restores it", async () => {
    const api = await member();
    const s = await api.session.create({ title: "archived chat" });
    const first = await ask(api, s.id, "What is a share link?");
    await api.session.update({ id: s.id, archived: true });
    expect((await api.session.get({ id: s.id })).archivedAt).toBeInstanceOf(Date);
    expect((await api.message.list({ sessionId: s.id })).items).toHaveLength(2);
    const replay = await readAnswer(api, { sessionId: s.id, messageId: first.assistantMessage.id });
    expect(replay.at(-1)?.type).toBe("complete");

    const second = await api.chat.send({ sessionId: s.id, query: "And how do I revoke one?" });
    expect((await api.session.get({ id: s.id })).archivedAt).toBeNull();
    expect(ids(await api.session.list())).toContain(s.id);
    await readAnswer(api, { sessionId: s.id, messageId: second.assistantMessage.id });
  });
});
