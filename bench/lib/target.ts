/**
 * A running Parley under test and the bench's producer for it. `servers`: Postgres + Redis, the
 * bench appends with Parley's own Redis store module from its own process (as another instance
 * would). `embedded`: PGlite + in-process store, the bench appends through the probe loaded into the
 * server process (see probe.mjs). Either way events go into the answer's real stream key and reach
 * the subscriber through `chat.stream` over HTTP SSE.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import postgres from "postgres";
import { createParleyClient, type ParleyClient } from "../../client";
import type { StreamEvent } from "../../server/chat/events";
import { recordAnswerAccess } from "../../server/chat/answerAccess";
import { forAnswer } from "../../server/chat/lease";
import { createKeys, type Keys } from "../../server/platform/store/keys";
import { createRedisStore } from "../../server/platform/store/redis";
import type { Store } from "../../server/platform/store/types";
import type { Instance } from "./servers";
import { now } from "./stats";

/** Event templates may carry "$T" in an answer delta: replaced by the send timestamp (ms). */
export type EventTemplate = StreamEvent;

export interface Target {
  kind: "servers" | "embedded";
  label: string;
  instance: Instance;
  apiKey: string;
  keys: Keys;
  client(): ParleyClient;
  /** Rows of a query (values already inlined: the bench only inlines uuids and numbers). */
  sql<T = Record<string, unknown>>(query: string): Promise<T[]>;
  /** Appends events to an answer's stream in one write; returns their ids and the send timestamp. */
  append(sessionId: string, messageId: string, events: EventTemplate[]): Promise<{ ids: string[]; t: number }>;
  /**
   * Puts in the store what Parley's running answers keep there: the session's answer lease (so the
   * sweeper leaves the bench's `streaming` rows alone) and the answer's access key (a follower is
   * then authorized as one of a live answer is, without Postgres).
   */
  holdAnswers(answers: LiveAnswerState[]): Promise<void>;
  close(): Promise<void>;
}

const LOCK_TTL_SECONDS = 1800;
const benchLease = (answer: { sessionId: string; messageId: string }) => forAnswer({ ...answer, instanceId: "bench" });
export const STREAM_TTL = 3600;

/**
 * `chat.stream`'s SSE URL, for readers that bypass the tRPC client: the input superjson-serialized
 * in the query (each event's data is then `{ json }`), with the header that authorizes it.
 */
export function chatStreamRequest(target: Pick<Target, "instance" | "apiKey">, input: { sessionId: string; messageId: string; lastEventId?: string }) {
  return {
    url: `${target.instance.url}/api/trpc/chat.stream?input=${encodeURIComponent(JSON.stringify({ json: input }))}`,
    headers: { authorization: `Bearer ${target.apiKey}` },
  };
}

/**
 * tRPC calls sent as tRPC's client sends them (`POST /api/trpc/<path>` with the input as superjson's
 * `{ json }`, or a GET without input), over Node's http on a keep-alive connection of its own, with
 * the key in a header unless `anonymous`. For figures that should count the server: the SDK's client
 * (undici's fetch) spends about 1 ms of CPU a call on the same two cores. Resolves to the status and
 * the parsed body.
 */
export function plainTrpc(target: Pick<Target, "instance" | "apiKey">, options: { anonymous?: boolean } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = options.anonymous ? {} : { authorization: `Bearer ${target.apiKey}` };
  const send = (method: "GET" | "POST", path: string, body?: string) =>
    new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const headers = body === undefined ? auth : { ...auth, "content-type": "application/json", "content-length": Buffer.byteLength(body) };
      const request = http.request(new URL(`/api/trpc/${path}`, target.instance.url), { method, agent, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (part: Buffer) => parts.push(part));
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) as unknown }));
      });
      request.on("error", reject);
      request.end(body);
    });
  return {
    query: (path: string) => send("GET", path),
    /** A mutation's result (its `json`); rejects on any status but 200. */
    async mutate(path: string, input: unknown): Promise<unknown> {
      const { status, body } = await send("POST", path, JSON.stringify({ json: input }));
      if (status !== 200) throw new Error(`${path}: ${status} ${JSON.stringify(body).slice(0, 200)}`);
      return (body as { result: { data: { json: unknown } } }).result.data.json;
    },
    close: () => agent.destroy(),
  };
}

export function stamp(events: EventTemplate[], t: number): StreamEvent[] {
  return events.map((e) => (e.type === "answer" ? { ...e, delta: e.delta.replace("$T", t.toFixed(3)) } : e));
}

export async function serversTarget(instance: Instance, opts: { apiKey: string; prefix: string; databaseUrl: string; redisUrl: string }): Promise<Target> {
  const store: Store = await createRedisStore(opts.redisUrl, { name: "bench-producer" });
  const sql = postgres(opts.databaseUrl, { max: 4, onnotice: () => {} });
  const keys = createKeys(opts.prefix);
  return {
    kind: "servers",
    label: "Parley (Postgres + Redis)",
    instance,
    apiKey: opts.apiKey,
    keys,
    client: () => createParleyClient({ url: instance.url, apiKey: opts.apiKey }),
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the caller names the row type
    sql: async (query) => (await sql.unsafe(query)) as never,
    async append(sessionId, messageId, events) {
      const t = now();
      const ids = await store.append(keys.stream(sessionId, messageId), stamp(events, t), STREAM_TTL);
      return { ids, t };
    },
    async holdAnswers(answers) {
      for (let i = 0; i < answers.length; i += 500) await Promise.all(liveAnswerEntries(keys, answers.slice(i, i + 500)).map((e) => store.set(e.key, e.value, e.ttl)));
    },
    async close() {
      await store.close();
      await sql.end();
    },
  };
}

export function embeddedTarget(instance: Instance, opts: { apiKey: string; prefix: string; probePort: number }): Target {
  const keys = createKeys(opts.prefix);
  const probe = async <T>(command: string, body: unknown): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${opts.probePort}/${command}`, { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`probe ${command}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    kind: "embedded",
    label: "Parley embedded (PGlite + in-process store)",
    instance,
    apiKey: opts.apiKey,
    keys,
    client: () => createParleyClient({ url: instance.url, apiKey: opts.apiKey }),
    sql: async (query) => (await probe<{ rows: never[] }>("sql", { query })).rows,
    append: (sessionId, messageId, events) => probe("append", { key: keys.stream(sessionId, messageId), events, ttl: STREAM_TTL }),
    async holdAnswers(answers) {
      for (let i = 0; i < answers.length; i += 500) await probe("set", { entries: liveAnswerEntries(keys, answers.slice(i, i + 500)) });
    },
    async close() {},
  };
}

const uuid = (s: string) => {
  if (!/^[0-9a-f-]{36}$/i.test(s)) throw new Error(`not a uuid: ${s}`);
  return `'${s}'`;
};

export interface Answer {
  sessionId: string;
  messageId: string;
}

/** A bench answer as a running one is known to the store: whose it is and the request it answers. */
export interface LiveAnswerState extends Answer {
  tenantId: string;
  userId: string;
  requestId: string;
}

/**
 * The keys a running answer holds (its lease, on the bench's own "instance", and its access key),
 * written through Parley's own module so the bench's values are the ones it reads.
 */
function liveAnswerEntries(keys: Keys, answers: LiveAnswerState[]): Array<{ key: string; value: string; ttl: number }> {
  const entries: Array<{ key: string; value: string; ttl: number }> = [];
  const collect = { set: async (key: string, value: string, ttl: number) => void entries.push({ key, value, ttl }) };
  for (const a of answers) {
    entries.push({ key: keys.answerLock(a.sessionId), value: benchLease(a).owner, ttl: LOCK_TTL_SECONDS });
    void recordAnswerAccess({ store: collect, keys, env: { STREAM_TTL_SECONDS: STREAM_TTL } }, a, a);
  }
  return entries;
}

/**
 * Sessions (through the API) each with a question and an assistant answer row left `streaming`
 * and owned by no running answer (inserted directly), with the session lock held by the bench.
 */
export async function createStreamingAnswers(target: Target, count: number): Promise<Answer[]> {
  const client = target.client();
  const answers: LiveAnswerState[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, () => client.session.create.mutate({ title: "bench stream" })),
    );
    for (const s of batch) answers.push({ sessionId: s.id, messageId: randomUUID(), tenantId: s.tenantId, userId: s.userId, requestId: randomUUID() });
  }
  await target.holdAnswers(answers);
  for (let i = 0; i < answers.length; i += 200) {
    const values = answers.slice(i, i + 200).flatMap((a) => {
      const row = `${uuid(a.sessionId)}, ${uuid(a.tenantId)}, ${uuid(a.userId)}, ${uuid(a.requestId)}`;
      return [
        `(${uuid(randomUUID())}, ${row}, 'user', 'bench question', 'completed', now(), now())`,
        `(${uuid(a.messageId)}, ${row}, 'assistant', '', 'streaming', now() + interval '1 millisecond', now() + interval '1 millisecond')`,
      ];
    });
    await target.sql(`insert into messages (id, session_id, tenant_id, user_id, request_id, role, content, status, created_at, updated_at) values ${values.join(", ")}`);
  }
  return answers;
}

/** Ends a bench answer: a terminal event on its stream (subscribers end) and its row completed. */
export async function finishAnswers(target: Target, answers: Answer[]) {
  for (let i = 0; i < answers.length; i += 50) {
    await Promise.all(
      answers.slice(i, i + 50).map((a) => target.append(a.sessionId, a.messageId, [{ type: "complete", content: "", durationMs: 0, model: "bench" }])),
    );
  }
  for (let i = 0; i < answers.length; i += 500) {
    const ids = answers.slice(i, i + 500).map((a) => uuid(a.messageId)).join(", ");
    await target.sql(`update messages set status = 'completed', updated_at = now() where id in (${ids})`);
  }
}

export const startEvent = (a: Answer): StreamEvent => ({ type: "start", requestId: randomUUID(), sessionId: a.sessionId, messageId: a.messageId, model: "bench" });

export interface Subscription {
  /** Resolves on the first event received. */
  first: Promise<void>;
  unsubscribe(): void;
}

/**
 * `chat.stream` through the real tRPC client (httpSubscriptionLink over Node's `eventsource`);
 * `onEvent` gets every event with its arrival time.
 */
export function subscribe(
  client: ParleyClient,
  input: { sessionId: string; messageId: string; lastEventId?: string },
  onEvent: (id: string, event: StreamEvent, at: number) => void,
  onError: (error: unknown) => void = (e) => console.error("[bench] subscription error:", e),
): Subscription {
  let firstResolve!: () => void;
  const first = new Promise<void>((r) => (firstResolve = r));
  const sub = client.chat.stream.subscribe(input, {
    onData: (d) => {
      const at = now();
      const { id, data } = d as unknown as { id: string; data: StreamEvent };
      onEvent(id, data, at);
      firstResolve();
    },
    onError,
  });
  return { first, unsubscribe: () => sub.unsubscribe() };
}
