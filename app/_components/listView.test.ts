import { describe, expect, it } from "vitest";
import { listFilter, listsSession } from "./listView";

const session = (over: Partial<{ folderId: string | null; archivedAt: Date | null; temporary: boolean }> = {}) => ({
  folderId: null,
  archivedAt: null,
  temporary: false,
  ...over,
});

describe("listsSession", () => {
  it("lists a chat in any folder when the list names none, archived ones only in the archive", () => {
    expect(listsSession(undefined, session())).toBe(true);
    expect(listsSession({ search: "x" }, session({ folderId: "f" }))).toBe(true);
    expect(listsSession({}, session({ archivedAt: new Date() }))).toBe(false);
    expect(listsSession({ archived: true }, session({ archivedAt: new Date(), folderId: "f" }))).toBe(true);
    expect(listsSession({ archived: true }, session())).toBe(false);
  });
  it("a folder's list takes only its own chats; null means in no folder", () => {
    expect(listsSession({ folderId: "f" }, session({ folderId: "f" }))).toBe(true);
    expect(listsSession({ folderId: "f" }, session({ folderId: "g" }))).toBe(false);
    expect(listsSession({ folderId: null }, session())).toBe(true);
    expect(listsSession({ folderId: null }, session({ folderId: "f" }))).toBe(false);
  });
  it("never lists a temporary chat", () => {
    expect(listsSession(undefined, session({ temporary: true }))).toBe(false);
  });
});

describe("listFilter", () => {
  it("asks for nothing more for all chats, so that list keeps its cache", () => {
    expect(listFilter({ kind: "all" })).toEqual({});
    expect(listFilter({ kind: "folder", folderId: "f" })).toEqual({ folderId: "f" });
    expect(listFilter({ kind: "archived" })).toEqual({ archived: true });
  });
});
