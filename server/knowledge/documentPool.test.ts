import { brotliCompressSync, deflateSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../platform/errors";
import { createDocumentPool, type DocumentPool, type DocumentPoolOptions } from "./documentPool";
import { onePagePdf, showText } from "./pdfFixtures";
import type { PreparationRequest } from "./prepare";
import { waitFor } from "../testing/wait";

/** Prose that takes the worker seconds to chunk and embed: what a slow upload looks like. */
const prose = (paragraphs: number) =>
  Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} says the quarterly widget output rose again. It was a sunny day in region ${i}.`).join("\n\n");
const request = (text: string, embedOffline = true): PreparationRequest => ({ title: "Doc", source: { kind: "text", text, format: "text/markdown" }, field: "content", embedOffline });

/** The longest the event loop went without running a timer while `work` ran. */
async function longestStall(work: Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    await work.catch(() => undefined);
  } finally {
    clearInterval(ticker);
  }
  return longest;
}

const pools: DocumentPool[] = [];
/** A pool of document processes, closed after the suite. */
function poolOf(options: Partial<DocumentPoolOptions> = {}) {
  const pool = createDocumentPool(options);
  pools.push(pool);
  return pool;
}
afterAll(() => Promise.all(pools.map((pool) => pool.close())));

describe("the document pool", () => {
  const pool = poolOf();

  it("parses, chunks and embeds in a separate process, the caller's event loop free meanwhile", async () => {
    const work = pool.prepare(request(prose(4_000)));
    expect(await longestStall(work)).toBeLessThan(250);
    const { chunks, vectors } = await work;
    expect(chunks.length).toBeGreaterThan(10);
    expect(vectors).toHaveLength(chunks.length);
    expect(vectors![0]).toHaveLength(256);
  }, 120_000);

  it("passes a refusal on with its field and message", async () => {
    await expect(pool.prepare(request(`${"> ".repeat(65)}deep`))).rejects.toMatchObject({ kind: "bad_input", field: "content", message: "The document nests deeper than 64 levels" });
  }, 60_000);

  it("stops a document at its deadline and says so", async () => {
    const started = Date.now();
    const error = await poolOf({ deadlineMs: 1_500, memoryMb: 512 })
      .prepare(request(prose(20_000)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ kind: "bad_input", field: "content", message: "The document took longer than 1.5 seconds to read" });
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);

  it("stops a document that needs more memory than the worker has, and says so", async () => {
    const error = await poolOf({ deadlineMs: 60_000, memoryMb: 16 })
      .prepare(request(prose(40_000)))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "bad_input", field: "content", message: "The document needs more than 16 MB of memory to read" });
  }, 90_000);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a document process that dies", () => {
  it("mid-parse ends that parse with a 400 naming the memory cap; the next document is read by its replacement", async () => {
    const pool = poolOf({ processes: 1 });
    await pool.prepare(request("# Warm\n\nThe process is up."));
    const [pid] = pool.pids;
    const dying = pool.prepare(request(prose(20_000))).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid!, "SIGKILL");
    expect(await dying).toMatchObject({ kind: "bad_input", field: "content", message: "The document needs more than 512 MB of memory to read" });
    const { chunks } = await pool.prepare(request("# After\n\nRead by the next process."));
    expect(chunks[0]!.content).toContain("Read by the next process.");
    expect(pool.pids).toHaveLength(1);
    expect(pool.pids[0]).not.toBe(pid);
  }, 60_000);

  it("while idle is replaced at once", async () => {
    const pool = poolOf({ processes: 1 });
    await pool.prepare(request("Up."));
    const [pid] = pool.pids;
    process.kill(pid!, "SIGKILL");
    await waitFor(() => pool.pids.length === 1 && pool.pids[0] !== pid, { timeoutMs: 30_000 });
    expect((await pool.prepare(request("Still reading."))).chunks).toHaveLength(1);
  }, 60_000);
});

describe("the queue of documents", () => {
  it("holds maxQueued documents while every process is busy and refuses the next as rate limited, with a Retry-After", async () => {
    const pool = poolOf({ processes: 1, maxQueued: 1 });
    const running = pool.prepare(request(prose(4_000)));
    const queued = pool.prepare(request("# Queued\n\nWaits its turn."));
    const refused = await pool.prepare(request("One too many.")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ kind: "rate_limited", retryAfterSeconds: 5, message: "Too many documents are waiting to be read on this server; try again shortly" });
    expect((await running).chunks.length).toBeGreaterThan(1);
    expect((await queued).chunks).toHaveLength(1);
  }, 60_000);

  it("is refused as unavailable when the pool closes, and the processes end", async () => {
    const pool = createDocumentPool({ processes: 1 });
    const running = pool.prepare(request(prose(20_000))).catch((e: unknown) => e);
    const queued = pool.prepare(request("Never read.")).catch((e: unknown) => e);
    await waitFor(() => pool.pids.length === 1, { timeoutMs: 30_000 });
    const [pid] = pool.pids;
    await pool.close();
    expect(await running).toMatchObject({ kind: "unavailable" });
    expect(await queued).toMatchObject({ kind: "unavailable" });
    expect(alive(pid!)).toBe(false);
    await expect(pool.prepare(request("After close."))).rejects.toMatchObject({ kind: "unavailable" });
  }, 60_000);
});

describe("a parse that stalls", () => {
  it("is ended once its process stops using the CPU, long before the deadline; the next document is read", async () => {
    const pool = poolOf({ processes: 1 });
    // pdf.js 5.6 waits forever on a Brotli layer followed by a Flate one (a promise that never settles).
    const bytes = onePagePdf({ dictionary: "/Filter[/BrotliDecode/FlateDecode]", data: brotliCompressSync(deflateSync(showText("Never read."))) });
    const started = Date.now();
    const error = await pool.prepare({ title: "Stalls", source: { kind: "file", bytes, format: "application/pdf" }, field: "file", embedOffline: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "bad_input", field: "file", message: "The document could not be read: its reader stopped making progress" });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await pool.prepare(request("Read next."))).chunks).toHaveLength(1);
  }, 60_000);
});
