import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { sessions } from "../../db/schema";
import { AppError, toTRPCError } from "./errors";

describe("toTRPCError", () => {
  it("maps each domain error kind to its tRPC code", () => {
    const kinds = {
      bad_input: "BAD_REQUEST",
      unauthorized: "UNAUTHORIZED",
      forbidden: "FORBIDDEN",
      not_found: "NOT_FOUND",
      conflict: "CONFLICT",
      rate_limited: "TOO_MANY_REQUESTS",
      unavailable: "SERVICE_UNAVAILABLE",
    } as const;
    for (const [kind, code] of Object.entries(kinds)) {
      expect(toTRPCError(new AppError(kind as keyof typeof kinds, "x")).code).toBe(code);
    }
  });

  it("maps an unreachable Postgres to SERVICE_UNAVAILABLE", async () => {
    const client = postgres("postgres://postgres@127.0.0.1:1/none", { max: 1, connect_timeout: 2 });
    const error = await drizzlePostgres(client).select().from(sessions).then(
      () => null,
      (e: unknown) => e,
    );
    await client.end();
    expect(toTRPCError(error).code).toBe("SERVICE_UNAVAILABLE");
  });

  it("maps a closed PGlite to SERVICE_UNAVAILABLE", async () => {
    const client = await PGlite.create();
    await client.close();
    const error = await drizzlePglite(client).select().from(sessions).then(
      () => null,
      (e: unknown) => e,
    );
    expect(toTRPCError(error).code).toBe("SERVICE_UNAVAILABLE");
  }, 90_000);

  it("keeps anything else an internal error, without leaking it", () => {
    expect(toTRPCError(new Error("boom")).code).toBe("INTERNAL_SERVER_ERROR");
    expect(toTRPCError(new Error("boom")).message).toBe("Internal error");
    expect(toTRPCError(new ZodError([])).code).toBe("INTERNAL_SERVER_ERROR");
  });
});
