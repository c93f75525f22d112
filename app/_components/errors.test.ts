import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import { errorCode, errorMessage } from "./errors";

/** A tRPC client error as the client builds it from the server's error shape. */
const trpcError = (message: string, data: Record<string, unknown>) =>
  new TRPCClientError(message, { result: { error: { message, code: -32600, data } } });

describe("errorMessage", () => {
  it("says nothing when there is no error", () => {
    expect(errorMessage(null)).toBe("");
    expect(errorMessage(undefined)).toBe("");
  });

  it("names the first invalid field and its first problem", () => {
    const error = trpcError("Invalid input", { code: "BAD_REQUEST", zodError: { fieldErrors: { limit: undefined, title: ["Too long", "Also bad"] } } });
    expect(errorCode(error)).toBe("BAD_REQUEST");
    expect(errorMessage(error)).toBe("title: Too long");
  });

  it("uses the server's message, or a sentence when it sent none or the network failed", () => {
    expect(errorMessage(trpcError("Session not found", { code: "NOT_FOUND" }))).toBe("Session not found");
    expect(errorMessage(trpcError("", { code: "UNAUTHORIZED" }))).toBe("This API key is unknown or revoked.");
    expect(errorMessage(trpcError("Draining", { code: "SERVICE_UNAVAILABLE" }))).toBe("Parley is unavailable right now. Try again in a moment.");
    expect(errorMessage(trpcError("Failed to fetch", {}))).toBe("Could not reach Parley. Check your connection.");
    expect(errorMessage(new TypeError("fetch failed"))).toBe("Could not reach Parley. Check your connection.");
  });

  it("falls back to the error's message, or the thrown value as text", () => {
    expect(errorCode(new Error("boom"))).toBeUndefined();
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorMessage("plain text")).toBe("plain text");
  });
});
