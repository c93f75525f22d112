import { eq } from "drizzle-orm";
import { messages } from "../../db/schema";
import type { App } from "../boot/app";
import type { StreamEvent } from "../chat/events";
import type { TestCaller } from "./app";
import { waitFor } from "./wait";

/** Test support for suites that ask questions in-process: a turn sent and its answer read to the end. */

type AnswerInput = { sessionId: string; messageId: string; lastEventId?: string };
type Turn = Awaited<ReturnType<TestCaller["chat"]["send"]>>;

/** An answer's event with the id a subscriber resumes after. */
export interface TrackedEvent {
  id: string;
  event: StreamEvent;
}

/** Reads an answer's `chat.stream` as a subscriber does, to its terminal event, and returns its events with their ids. */
export async function readAnswerWithIds(caller: TestCaller, input: AnswerInput): Promise<TrackedEvent[]> {
  const events: TrackedEvent[] = [];
  for await (const [id, event] of (await caller.chat.stream(input)) as AsyncIterable<[string, StreamEvent]>) events.push({ id, event });
  return events;
}

/** Reads an answer's `chat.stream` as a subscriber does, to its terminal event, and returns its events. */
export async function readAnswer(caller: TestCaller, input: AnswerInput): Promise<StreamEvent[]> {
  return (await readAnswerWithIds(caller, input)).map(({ event }) => event);
}

/** Sends a question and reads its answer to the end: the turn `chat.send` returned, with the answer's events. */
export async function ask(api: TestCaller, sessionId: string, query: string): Promise<Turn & { events: StreamEvent[] }> {
  const turn = await api.chat.send({ sessionId, query });
  return { ...turn, events: await readAnswer(api, { sessionId, messageId: turn.assistantMessage.id }) };
}

/** An answer's text, from its events. */
export const textOf = (events: StreamEvent[]) => events.flatMap((e) => (e.type === "answer" ? [e.delta] : [])).join("");
/** An answer's sources, from its events. */
export const referencesOf = (events: StreamEvent[]) => events.flatMap((e) => (e.type === "references" ? e.references : []));

/** An answer's row once it has ended (no longer `streaming`), polled from the database. */
export function waitForAnswerEnd(app: App, messageId: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const [row] = await app.db.select().from(messages).where(eq(messages.id, messageId));
      return row && row.status !== "streaming" ? row : undefined;
    },
    { timeoutMs, intervalMs: 20, message: `${messageId} still streaming` },
  );
}
