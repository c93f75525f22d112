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
  /**
   * Each answer running here: its latest text not written yet, and how much of its text its row
   * holds for sure (null: not known, so the next write sends the whole text). A write then sends
   * only what the row lacks: a long answer's whole text every interval was most of the bytes
   * this instance sent Postgres.
   */
  const answers = new Map<string, { pending: string | null; written: number | null }>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  /** Writes every answer's pending text, ROWS_PER_WRITE rows a statement. */
  async function write() {
    const rows = [...answers].flatMap(([id, answer]) => {
      if (answer.pending === null) return [];
      const content = answer.pending;
      answer.pending = null;
      const whole = answer.written === null || content.length < answer.written;
      return [{ id, answer, content, whole, text: whole ? content : content.slice(answer.written!) }];
    });
    for (let i = 0; i < rows.length; i += ROWS_PER_WRITE) {
      const batch = rows.slice(i, i + ROWS_PER_WRITE);
      const values = batch.map((r) => sql`(${r.id}::uuid, ${r.text}, ${r.whole}::boolean)`);
      try {
        // Only rows still streaming: an answer that ended meanwhile keeps its final text.
        await deps.db.execute(sql`update ${messages} set content = case when progress.whole then progress.text else ${messages.content} || progress.text end, updated_at = now()
          from (values ${sql.join(values, sql`, `)}) as progress(id, text, whole)
          where ${messages.id} = progress.id and ${messages.status} = 'streaming'`);
        for (const r of batch) r.answer.written = r.content.length;
      } catch (error) {
        // Whether it reached the rows is unknown: their next write sends the whole text.
        for (const r of batch) r.answer.written = null;
        deps.log.warn({ err: error, answers: batch.length }, "progress write failed");
      }
    }
  }

  function flush() {
    timer = null;
    writing = writing.then(write);
    return writing;
  }

  return {
    /** The answer's text so far (each call's text extends the last's); written with the next batch. */
    update(messageId: string, content: string) {
      const answer = answers.get(messageId);
      if (answer) answer.pending = content;
      else answers.set(messageId, { pending: content, written: null });
      timer ??= setTimeout(() => void flush(), everyMs).unref();
    },
    /** The answer is ending: its final write is its own, nothing more goes out for it. */
    forget(messageId: string) {
      answers.delete(messageId);
    },
    /** Writes what is pending now and stops. */
    async close() {
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
export type AnswerProgress = ReturnType<typeof createAnswerProgress>;
