import { describe, expect, it } from "vitest";
import { loggedPath } from "./log";

describe("loggedPath", () => {
  it("logs a share link's path without its token, and every other path as it is", () => {
    expect(loggedPath("/share/GeBcCaYSwym9jMSIplbDuNF0ICuW1TYzCvVv2OVfHmM")).toBe("/share/[token]");
    expect(loggedPath("/api/share/GeBcCaYSwym9jMSIplbDuNF0ICuW1TYzCvVv2OVfHmM")).toBe("/api/share/[token]");
    expect(loggedPath("/api/trpc/share.create")).toBe("/api/trpc/share.create");
    expect(loggedPath("/api/v1/sessions")).toBe("/api/v1/sessions");
  });
});
