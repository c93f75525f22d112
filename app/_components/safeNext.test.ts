import { describe, expect, it } from "vitest";
import { safeNext } from "./safeNext";

describe("safeNext: the redirect after sign-in stays on Parley", () => {
  it.each(["/", "/admin", "/knowledge?x=1#y", "/s/abc"])("keeps the same-origin path %s", (path) => {
    expect(safeNext(path)).toBe(path);
  });
  it.each([null, "", "admin", "//evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example", "https://evil.example/", "javascript:alert(1)"])(
    "sends %j home instead",
    (next) => {
      expect(safeNext(next)).toBe("/");
    },
  );
  it("an encoded backslash stays a path of this site", () => {
    expect(new URL(safeNext("/%5Cevil.example"), "https://parley.test").origin).toBe("https://parley.test");
  });
});
