import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { prepareInWorker } from "./documentWorker";
import type { PreparationRequest } from "./prepare";

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

describe("prepareInWorker", () => {
  it("parses, chunks and embeds in a worker thread, the caller's event loop free meanwhile", async () => {
    const work = prepareInWorker(request(prose(4_000)));
    expect(await longestStall(work)).toBeLessThan(250);
    const { chunks, vectors } = await work;
    expect(chunks.length).toBeGreaterThan(10);
    expect(vectors).toHaveLength(chunks.length);
    expect(vectors![0]).toHaveLength(256);
  }, 120_000);

  it("passes a refusal on with its field and message", async () => {
    await expect(prepareInWorker(request(`${"> ".repeat(65)}deep`))).rejects.toMatchObject({ kind: "bad_input", field: "content", message: "The document nests deeper than 64 levels" });
  }, 60_000);

  it("stops a document at its deadline and says so", async () => {
    const started = Date.now();
    const error = await prepareInWorker(request(prose(20_000)), { deadlineMs: 1_500, memoryMb: 512 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ kind: "bad_input", field: "content", message: "The document took longer than 1.5 seconds to read" });
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);

  it("stops a document that needs more memory than the worker has, and says so", async () => {
    const error = await prepareInWorker(request(prose(40_000)), { deadlineMs: 60_000, memoryMb: 16 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "bad_input", field: "content", message: "The document needs more than 16 MB of memory to read" });
  }, 90_000);
});
