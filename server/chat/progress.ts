import { sql } from "drizzle-orm";
import type { Db } from "../../db";
import { messages } from "../../db/schema";
import type { Logger } from "../platform/log";

/**
 * The growing text of every answer running on this instance, written to their rows together: one
 * UPDATE per interval for all of them rather than one per answer (at hundreds of live answers,
 * per-answer writes were most of the instance's Postgres traffic). Each answer's stream carries
 * every word and recovery rebuilds the text from it; the row's copy serves readers of the message
 * list and an outage of the store, so a few seconds apart is enough.
 */

/** How often growing answers are written: bounded, whatever the models' pace. */
export const PROGRESS_WRITE_MS = 2_000;
/** Answers per UPDATE (its VALUES list), so one statement stays small whatever the load. */
const ROWS_PER_WRITE = 200;

export function createAnswerProgress(deps: { db: Db; log: Logger }, everyMs = PROGRESS_WRITE_MS) {
  /** Each answer's latest text not written yet. */
  let pending = new Map<string, string>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  async function write(batch: Map<string, string>) {
    const rows = [...batch];
    for (let i = 0; i < rows.length; i += ROWS_PER_WRITE) {
      const values = rows.slice(i, i + ROWS_PER_WRITE).map(([id, content]) => sql`(${id}::uuid, ${content})`);
      // Only rows still streaming: an answer that ended meanwhile keeps its final text.
      await deps.db.execute(sql`update ${messages} set content = progress.content, updated_at = now()
        from (values ${sql.join(values, sql`, `)}) as progress(id, content)
        where ${messages.id} = progress.id and ${messages.status} = 'streaming'`);
    }
  }

  function flush() {
    timer = null;
    const batch = pending;
    pending = new Map();
    if (batch.size === 0) return writing;
    writing = writing.then(() => write(batch)).catch((error: unknown) => deps.log.warn({ err: error, answers: batch.size }, "progress write failed"));
    return writing;
  }

  return {
    /** The answer's text so far; written with the next batch. */
    update(messageId: string, content: string) {
      pending.set(messageId, content);
      timer ??= setTimeout(() => void flush(), everyMs).unref();
    },
    /** The answer is ending: its final write is its own, nothing more goes out for it. */
    forget(messageId: string) {
      pending.delete(messageId);
    },
    /** Writes what is pending now and stops. */
    async close() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
export type AnswerProgress = ReturnType<typeof createAnswerProgress>;
