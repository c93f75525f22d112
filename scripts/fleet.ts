/**
 * Several Parley instances behind nginx (deploy/nginx.conf), and the soak that drives answers
 * through it while instances die: shared by server/boot/loadBalancer.test.ts (CI size) and the bench's
 * scenario 9 (full size). Each instance is its own `node` process, signalled by PID.
 */
import { randomUUID } from "node:crypto";
import { createParley } from "../client";
import type { StreamEvent } from "../server/chat/events";
import type { ParleyServer } from "./localServers";
import { startNginx, type Nginx } from "./nginx";

export interface Fleet {
  nginx: Nginx;
  /** The instances now running, by slot (a restart replaces its slot's entry). */
  instances: ParleyServer[];
  /** SIGKILL of slot `i`'s process: it dies mid-whatever, leaving its answers to the others' sweepers. */
  kill(i: number): void;
  /** SIGTERM of slot `i`'s process, then, once it has exited, a new process on the same port. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** `count` instances started by `start` (given a port on a restart), behind one nginx. */
export async function startFleet(count: number, start: (port?: number) => Promise<ParleyServer>): Promise<Fleet> {
  const instances: ParleyServer[] = [];
  // One at a time: instances that come up together migrate one after the other anyway.
  for (let i = 0; i < count; i++) instances.push(await start());
  const nginx = await startNginx(instances.map((s) => `127.0.0.1:${s.port}`)).catch(async (error) => {
    await Promise.all(instances.map((s) => s.stop()));
    throw error;
  });
  return {
    nginx,
    instances,
    kill(i) {
      instances[i]!.process.kill("SIGKILL");
    },
    async restart(i) {
      const old = instances[i]!;
      const exited = old.process.exitCode !== null || old.process.signalCode !== null ? Promise.resolve() : new Promise((r) => old.process.once("exit", r));
      old.process.kill("SIGTERM");
      await exited;
      instances[i] = await start(old.port);
    },
    async stop() {
      await nginx.stop();
      for (const s of instances) s.process.kill("SIGKILL");
    },
  };
}

export interface SoakOptions {
  /** Where the clients connect (the load balancer). */
  url: string;
  apiKey: string;
  sessions: number;
  questionsPerSession: number;
  /** Every `stopEvery`-th answer is stopped by its client after a few words (0: none). */
  stopEvery?: number;
  /** Run, without waiting, once the given number of answers have ended. */
  disruptions: Array<{ afterAnswers: number; what: string; run: () => Promise<void> }>;
  /** Longest an answer may take to end, from its send (the sweeper marks a dead instance's within 30 s). */
  answerTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface SoakAnswer {
  sessionId: string;
  /** Which of its session's questions (0-based). */
  index: number;
  /** From its `start` event; an answer that died before starting is served as `snapshot` + terminal, without one. */
  messageId: string;
  /** The text its subscriber saw (answer deltas; a snapshot replaces what came before). */
  text: string;
  /** Its terminal event. */
  end: Extract<StreamEvent, { type: "complete" | "stop" | "error" }>;
  firstTokenMs: number | null;
  /** For an answer ended by an `error` event: how long its subscriber heard nothing before it. */
  silenceBeforeErrorMs: number | null;
  /** From the last disruption before its error event to that event. */
  sinceDisruptionMs: number | null;
}

export interface SoakResult {
  answers: SoakAnswer[];
  seconds: number;
  /** Calls that failed on their way and were sent again (allowed: in flight on a dying instance). */
  retried: string[];
  /** Questions that got no answer at all, or whose stream broke for good. */
  failures: string[];
  /** The disruptions, with when they ran (ms after the soak began) and how long they took. */
  disruptions: Array<{ what: string; atMs: number; tookMs: number; error?: string }>;
}

const QUESTIONS = [
  "How do I scale Parley out?",
  "What survives a dropped connection?",
  "Explain how stopping an answer works across instances",
  "Tell me everything about how Parley streams answers",
  "How does the LLM context work?",
];

const describeError = (error: unknown) => {
  const e = error as { message?: string; data?: { code?: string }; cause?: { message?: string; code?: string } };
  return [e.data?.code, e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(": ");
};

/**
 * `sessions` clients at once, each asking `questionsPerSession` questions in turn through `url`
 * with the SDK's `ask` (which resumes its stream and re-sends a failed send with the same
 * requestId), while `disruptions` happen.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const parley = createParley({ url: options.url, apiKey: options.apiKey });
  const started = performance.now();
  const result: SoakResult = { answers: [], seconds: 0, retried: [], failures: [], disruptions: [] };
  const pending = options.disruptions.slice().sort((a, b) => a.afterAnswers - b.afterAnswers);
  const running: Array<Promise<void>> = [];
  let ended = 0;
  let lastDisruptionAt = 0;
  const onEnded = () => {
    ended++;
    while (pending.length && pending[0]!.afterAnswers <= ended) {
      const d = pending.shift()!;
      const atMs = performance.now() - started;
      lastDisruptionAt = performance.now();
      options.log?.(`soak: ${d.what} after ${ended} answers`);
      running.push(
        d.run().then(
          () => void result.disruptions.push({ what: d.what, atMs, tookMs: performance.now() - started - atMs }),
          (error) => void result.disruptions.push({ what: d.what, atMs, tookMs: performance.now() - started - atMs, error: describeError(error) }),
        ),
      );
    }
  };

  const sessions = await Promise.all(Array.from({ length: options.sessions }, (_, i) => parley.client.session.create.mutate({ title: `soak ${i}` })));
  let asked = 0;
  const timeoutMs = options.answerTimeoutMs ?? 150_000;
  const stopOne = async (sessionId: string, messageId: string) => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      try {
        return await parley.client.chat.stop.mutate({ sessionId, messageId });
      } catch (error) {
        if ((error as { data?: { code?: string } }).data?.code !== undefined && (error as { data: { code: string } }).data.code !== "SERVICE_UNAVAILABLE") throw error;
        result.retried.push(`chat.stop: ${describeError(error)}`);
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  };
  await Promise.all(
    sessions.map(async (session) => {
      for (let q = 0; q < options.questionsPerSession; q++) {
        const n = ++asked;
        const stopThis = options.stopEvery ? n % options.stopEvery === 0 : false;
        const t0 = performance.now();
        let firstTokenAt = 0;
        let lastEventAt = t0;
        let messageId = "";
        let text = "";
        let deltas = 0;
        let stopping: Promise<unknown> | null = null;
        let ended = false;
        try {
          const signal = AbortSignal.timeout(timeoutMs);
          const question = `${QUESTIONS[n % QUESTIONS.length]} (${randomUUID().slice(0, 8)})`;
          for await (const e of parley.ask(session.id, question, { signal, onRetry: (error) => result.retried.push(`chat.send: ${describeError(error)}`) })) {
            const at = performance.now();
            if (e.type === "start") messageId = e.messageId;
            else if (e.type === "snapshot") text = e.content;
            else if (e.type === "answer") {
              text += e.delta;
              if (!firstTokenAt) firstTokenAt = at;
              if (++deltas === 3 && stopThis) stopping = stopOne(session.id, messageId);
            } else if (e.type === "complete" || e.type === "stop" || e.type === "error") {
              ended = true;
              result.answers.push({
                sessionId: session.id,
                index: q,
                messageId,
                text,
                end: e,
                firstTokenMs: firstTokenAt ? firstTokenAt - t0 : null,
                silenceBeforeErrorMs: e.type === "error" ? at - lastEventAt : null,
                sinceDisruptionMs: e.type === "error" && lastDisruptionAt ? at - lastDisruptionAt : null,
              });
            }
            lastEventAt = at;
          }
          await stopping;
          if (!ended) {
            const why = signal.aborted ? `no terminal event within ${timeoutMs / 1000} s` : "the stream ended without a terminal event";
            const seen = `${deltas} deltas, ${text.length} chars, the last event ${((performance.now() - lastEventAt) / 1000).toFixed(1)} s before`;
            result.failures.push(`question ${n} (${messageId || "not sent"}): ${why}; ${seen}`);
          }
        } catch (error) {
          result.failures.push(`question ${n} (${messageId || "not sent"}): ${describeError(error)}`);
        }
        onEnded();
      }
    }),
  );
  result.seconds = (performance.now() - started) / 1000;
  await Promise.all(running);
  return result;
}

const STATUS_OF_END = { complete: "completed", stop: "stopped", error: "interrupted" } as const;

/**
 * What Postgres holds after a soak, against what the subscribers saw: every question one turn (no
 * retry made a second), every answer final (`completed`, `stopped`, `interrupted`; none left
 * `streaming`) with the status its terminal event said, and its stored content exactly the text its
 * subscriber received. Returns the problems found, none when all is well.
 */
export async function checkSoak(url: string, apiKey: string, soak: SoakResult, questionsPerSession: number): Promise<string[]> {
  const parley = createParley({ url, apiKey });
  const problems: string[] = [];
  const seen = new Map(soak.answers.map((a) => [`${a.sessionId}/${a.index}`, a]));
  for (const sessionId of new Set(soak.answers.map((a) => a.sessionId))) {
    const items = (await parley.client.message.list.query({ sessionId, limit: 100 })).items;
    if (items.length !== 2 * questionsPerSession) problems.push(`session ${sessionId}: ${items.length} messages for ${questionsPerSession} questions`);
    // Oldest first: the n-th answer of the session is its n-th question's.
    for (const [index, m] of items.filter((item) => item.role === "assistant").entries()) {
      const answer = seen.get(`${sessionId}/${index}`);
      if (!answer) {
        problems.push(`answer ${m.id} (${m.status}): no subscriber saw it end`);
        continue;
      }
      if (answer.messageId && answer.messageId !== m.id) problems.push(`answer ${m.id}: its subscriber followed ${answer.messageId}`);
      if (m.status !== STATUS_OF_END[answer.end.type]) problems.push(`answer ${m.id}: stored ${m.status}, its stream ended with ${answer.end.type}`);
      if (m.content !== answer.text) problems.push(`answer ${m.id} (${m.status}): stored ${m.content.length} chars, the subscriber saw ${answer.text.length}`);
      if ((answer.end.type === "complete" || answer.end.type === "stop") && answer.end.content !== m.content) problems.push(`answer ${m.id}: its ${answer.end.type} event carries other content than stored`);
    }
  }
  return problems;
}

const percentile = (samples: number[], q: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : NaN;
};

/** The soak's figures: rate, time to first token, how the answers ended, how long the dead instances' took to be marked. */
export function soakFigures(soak: SoakResult) {
  const firstToken = soak.answers.flatMap((a) => (a.firstTokenMs === null ? [] : [a.firstTokenMs]));
  const interrupted = soak.answers.filter((a) => a.end.type === "error");
  const silences = interrupted.map((a) => a.silenceBeforeErrorMs!);
  const sinceDisruption = interrupted.map((a) => a.sinceDisruptionMs ?? NaN).filter((v) => !Number.isNaN(v));
  const ends = { completed: 0, stopped: 0, interrupted: 0 };
  for (const a of soak.answers) ends[STATUS_OF_END[a.end.type]]++;
  return {
    answers: soak.answers.length,
    seconds: soak.seconds,
    answersPerSecond: soak.answers.length / soak.seconds,
    firstTokenP50Ms: percentile(firstToken, 0.5),
    firstTokenP99Ms: percentile(firstToken, 0.99),
    ...ends,
    /** Silence before an interrupted answer's error event: p50 and max. */
    interruptedSilenceP50Ms: percentile(silences, 0.5),
    interruptedSilenceMaxMs: silences.length ? Math.max(...silences) : NaN,
    /** From the last kill/restart before it to an interrupted answer's error event: max. */
    interruptedSinceDisruptionMaxMs: sinceDisruption.length ? Math.max(...sinceDisruption) : NaN,
    retried: soak.retried.length,
    failures: soak.failures.length,
  };
}

/** One line of figures for logs and reports. */
export function formatSoakFigures(label: string, f: ReturnType<typeof soakFigures>): string {
  const ms = (v: number) => (Number.isNaN(v) ? "–" : `${v.toFixed(0)} ms`);
  const s = (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1000).toFixed(1)} s`);
  return (
    `${label}: ${f.answers} answers in ${f.seconds.toFixed(1)} s = ${f.answersPerSecond.toFixed(2)} answers/s; ` +
    `first token p50 ${ms(f.firstTokenP50Ms)}, p99 ${ms(f.firstTokenP99Ms)}; ` +
    `${f.completed} completed, ${f.stopped} stopped, ${f.interrupted} interrupted ` +
    `(marked after ${s(f.interruptedSilenceP50Ms)} p50 / ${s(f.interruptedSilenceMaxMs)} max of silence, ≤ ${s(f.interruptedSinceDisruptionMaxMs)} after the kill/restart); ` +
    `${f.retried} calls retried, ${f.failures} failed`
  );
}
