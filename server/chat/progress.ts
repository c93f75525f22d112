import { sql } from "drizzle-orm";
import type { Db } from "../../db";
import { messages } from "../../db/schema";
import type { Logger } from "../platform/log";

/**
 * The growing text of every answer running on this instance, written to their rows together: one
 * UPDATE per interval for all of them rather than one per answer (at hundreds of live answers,
 * per-answer writes were most of the instance's Postgres traffic). Each answer's stream carries
 * every word and recovery rebuilds the text from it; the row's copy serves readers of the message
 * list and an outage of the store, so a few seconds apart (a long answer's, up to ten) is enough.
 */

/** How often growing answers are written: bounded, whatever the models' pace. */
export const PROGRESS_WRITE_MS = 2_000;
/**
 * Postgres stores a changed text anew, so each write of an answer costs its whole length, however
 * little it gained: written every interval, a long answer's row costs its length squared. A long
 * answer is written less often instead, at most this many of its characters a second…
 */
const PROGRESS_CHARS_PER_SECOND = 2_048;
/** …but never further apart than this. */
const PROGRESS_MAX_GAP_MS = 10_000;
/** Answers per UPDATE (its VALUES list), so one statement stays small whatever the load. */
const ROWS_PER_WRITE = 200;

export function createAnswerProgress(deps: { db: Db; log: Logger }, everyMs = PROGRESS_WRITE_MS, charsPerSecond = PROGRESS_CHARS_PER_SECOND) {
  /**
   * Each answer running here: its text so far, what it gained since its row was last written, and
   * whether its row holds that earlier text for sure (false at first and after a failed write: the
   * next write sends the whole text). A write then sends only what the row lacks, without reading
   * the whole text: each `content += delta` of an answer is a rope, which a slice of it copies whole.
   * `sentAt`: when its text was last taken for a write (0: never).
   */
  const answers = new Map<string, { content: string; unsent: string; changed: boolean; written: boolean; sentAt: number }>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;
  /** How long an answer of `length` characters waits between writes. */
  const gapFor = (length: number) => Math.max(everyMs, Math.min(PROGRESS_MAX_GAP_MS, (length / charsPerSecond) * 1000));
  const arm = () => {
    if (!closed) timer ??= setTimeout(() => void flush(), everyMs).unref();
  };

  /** Writes the pending text of every answer due (`all`: every answer), ROWS_PER_WRITE rows a statement. */
  async function write(all: boolean) {
    const now = Date.now();
    let waiting = false;
    const rows = [...answers].flatMap(([id, answer]) => {
      if (!answer.changed) return [];
      if (!all && now - answer.sentAt < gapFor(answer.content.length)) {
        waiting = true;
        return [];
      }
      answer.sentAt = now;
      const whole = !answer.written;
      const text = whole ? answer.content : answer.unsent;
      answer.unsent = "";
      answer.changed = false;
      return [{ id, answer, whole, text }];
    });
    for (let i = 0; i < rows.length; i += ROWS_PER_WRITE) {
      const batch = rows.slice(i, i + ROWS_PER_WRITE);
      const values = batch.map((r) => sql`(${r.id}::uuid, ${r.text}, ${r.whole}::boolean)`);
      try {
        // Only rows still streaming: an answer that ended meanwhile keeps its final text.
        await deps.db.execute(sql`update ${messages} set content = case when progress.whole then progress.text else ${messages.content} || progress.text end, updated_at = now()
          from (values ${sql.join(values, sql`, `)}) as progress(id, text, whole)
          where ${messages.id} = progress.id and ${messages.status} = 'streaming'`);
        for (const r of batch) r.answer.written = true;
      } catch (error) {
        // Whether it reached the rows is unknown: their next write sends the whole text.
        for (const r of batch) {
          r.answer.written = false;
          r.answer.changed = true;
        }
        deps.log.warn({ err: error, answers: batch.length }, "progress write failed");
      }
    }
    // An answer that stopped growing before it was due is still written.
    if (waiting) arm();
  }

  function flush(all = false) {
    timer = null;
    writing = writing.then(() => write(all));
    return writing;
  }

  return {
    /** The answer's text grew by `delta` to `content`; written with the next batch. */
    grow(messageId: string, delta: string, content: string) {
      const answer = answers.get(messageId);
      if (answer) {
        answer.content = content;
        answer.unsent += delta;
        answer.changed = true;
      } else {
        answers.set(messageId, { content, unsent: delta, changed: true, written: false, sentAt: 0 });
      }
      arm();
    },
    /** The answer is ending: its final write is its own, nothing more goes out for it. */
    forget(messageId: string) {
      answers.delete(messageId);
    },
    /** Writes what is pending now and stops. */
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await flush(true);
    },
  };
}
export type AnswerProgress = ReturnType<typeof createAnswerProgress>;
