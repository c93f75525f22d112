import { brotliCompressSync, deflateSync } from "node:zlib";
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../boot/app";
import { ascii85Encode, deflated, lzwEncode, onePagePdf, PDF_BOMBS, repeated, runLengthEncode, showText } from "../knowledge/pdfFixtures";
import { createRestApp } from "./rest";
import { appRouter } from "./trpc/routers/_app";
import { codeOf, createTestApp, createTestTenant, type TestCaller } from "../testing/app";
import { serveApp } from "../testing/http";

/**
 * Whatever a caller sends, Parley answers with a client error or a result: never a 500 /
 * INTERNAL_SERVER_ERROR, and a refused input changes no stored row. Inputs are random values and
 * near-valid ones built from each procedure's own input schema (real ids mixed with forged ones,
 * NUL bytes, extreme numbers and dates, forged cursors). Every procedure of the router and every
 * route of the REST face's OpenAPI document is covered, so a new one is fuzzed without a change here.
 * Documents are fuzzed through the real upload route: generated PDFs (filters, their layers and
 * names, sizes, dictionaries, damage) and Markdown and HTML shapes.
 */
const RUNS_PER_PROCEDURE = 25;
const RUNS_PER_ROUTE = 20;
const RUNS_PER_DOCUMENT_FORMAT = 20;

let app: App;
let api: TestCaller;
let ownerKey: string;
const realIds: string[] = [];
beforeAll(async () => {
  // Hundreds of calls a minute from one key: rate limits off, so every input reaches its checks. The
  // pair indexer off: it embeds ended answers in the background, which would move the digest below.
  app = await createTestApp({ PARLEY_RATE_LIMIT_PER_MINUTE: "0", PARLEY_SEND_LIMIT_PER_MINUTE: "0" }, { indexPairs: false });
  const t = await createTestTenant(app);
  api = t.owner.api;
  ownerKey = t.owner.apiKey;
  const s = await api.session.create({ title: "fuzzed" });
  const turn = await api.chat.send({ sessionId: s.id, query: "What is Parley?" });
  await idle();
  const kb = await api.knowledge.bases.create({ name: "fuzz" });
  const doc = await api.knowledge.documents.add({ knowledgeBaseId: kb.id, title: "doc", content: "# Parley\nA chat service.", mimeType: "text/markdown" });
  const { key } = await api.admin.apiKeys.create({ name: "fuzz" });
  realIds.push(s.id, turn.assistantMessage.id, turn.userMessage.id, turn.requestId, kb.id, doc.id, t.owner.user.id, key.id);
});
afterAll(() => app.close());

/** Waits until no answer runs: a running answer writes rows whatever the call being checked did. */
async function idle() {
  while (app.runner.running > 0 || app.runner.queued > 0) await new Promise((r) => setTimeout(r, 5));
}

/** Rows of a raw query, as postgres-js (an array) or PGlite (`{ rows }`) returns them. */
async function rowsOf<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  const result: unknown = await app.db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

let tables: string[] | null = null;
/** A digest of every table's rows (less the throttled `last_used_at` stamp that reads may move), in one query. */
async function digest(): Promise<string> {
  await idle();
  tables ??= (await rowsOf<{ tablename: string }>(sql`select tablename from pg_tables where schemaname = 'public' order by tablename`)).map((t) => t.tablename);
  const row = sql.raw(`(to_jsonb(t) - 'last_used_at')::text`);
  const perTable = tables.map((name) => sql`(select md5(coalesce(string_agg(${row}, '|' order by ${row}), '')) from ${sql.identifier(name)} t)`);
  const [result] = await rowsOf<{ d: string }>(sql`select concat_ws(',', ${sql.join(perTable, sql`, `)}) as d`);
  return result!.d;
}

// --- forged values ---

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const forgedUuid = fc.oneof(
  fc.constantFrom("-".repeat(36), "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
  fc.uuid(),
  fc.stringMatching(/^[0-9a-f-]{36}$/),
);
const extremeNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 100, 101, 2 ** 31, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 8.64e15, -8.64e15, 1e308, -0),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const forgedCursor = fc.tuple(fc.constantFrom(0, 1, 2), extremeNumber, fc.oneof(forgedUuid, fc.string())).map(cursorOf);
const forgedString = fc.oneof(
  // Read when drawn: the ids exist only once beforeAll has run.
  { arbitrary: fc.nat().map((i) => realIds[i % realIds.length]), weight: 4 },
  { arbitrary: forgedUuid, weight: 2 },
  { arbitrary: forgedCursor, weight: 2 },
  { arbitrary: fc.string().map((s) => `${s}\0${s}`), weight: 2 },
  { arbitrary: fc.constantFrom("9999999999999999-9999999999999999", "0-0", "0-1", "1-1", "", " ", "%", "'", "\\", "-271821-04-20T00:00:00Z"), weight: 1 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
);
const forgedDate = fc.oneof(
  fc.constantFrom(new Date(8.64e15), new Date(-8.64e15), new Date(Date.parse("0001-01-01T00:00:00Z") - 1), new Date(NaN), new Date()),
  fc.date({ noInvalidDate: false }),
);

type ZodLike = { _zod: { def: Record<string, unknown> & { type: string } } };

/** Near-valid values for a zod schema: its shape, with forged leaves. */
function nearValid(schema: ZodLike | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return fc.anything();
  const def = schema._zod.def;
  const inner = (s: unknown) => nearValid(s as ZodLike, depth + 1);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
      return fc.oneof(inner(def.innerType), fc.constantFrom(undefined, null));
    case "pipe":
      return inner(def.in);
    case "object": {
      const shape = def.shape as Record<string, unknown>;
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, inner(v)])), { requiredKeys: [] });
    }
    case "array":
      return fc.array(inner(def.element), { maxLength: 3 });
    case "string":
      return forgedString;
    case "number":
      return fc.oneof(extremeNumber, fc.constantFrom(NaN, Infinity));
    case "date":
      return forgedDate;
    case "boolean":
      return fc.boolean();
    case "enum":
      return fc.constantFrom(...Object.values(def.entries as Record<string, unknown>), "bogus");
    case "literal":
      return fc.constantFrom(...(def.values as unknown[]), "bogus");
    default:
      return fc.anything();
  }
}

const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string; inputs: ZodLike[] } }>)
  // Deleting comes last, so the other procedures meet the real ids while they exist.
  .sort(([a], [b]) => Number(a.includes("delete")) - Number(b.includes("delete")) || a.localeCompare(b));

describe("fuzzing every tRPC procedure", () => {
  it.each(procedures.map(([path, p]) => [path, p] as const))("%s: no INTERNAL_SERVER_ERROR, nothing stored when refused", async (path, procedure) => {
    const call = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], api) as (input: unknown) => Promise<unknown>;
    const input = fc.oneof({ arbitrary: nearValid(procedure._def.inputs[0]), weight: 4 }, { arbitrary: fc.anything(), weight: 1 });
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        const before = await digest();
        try {
          const result = await call(value);
          // A subscription that started is closed at once; it changes nothing.
          await (result as AsyncIterable<unknown> | undefined)?.[Symbol.asyncIterator]?.().return?.();
        } catch (error) {
          const code = (error as { code?: string }).code;
          expect(code, `${path}(${fc.stringify(value)}): ${(error as Error).message}`).not.toBe("INTERNAL_SERVER_ERROR");
          expect(await digest(), `${path}(${fc.stringify(value)}) was refused (${code}) but changed stored data`).toBe(before);
        }
      }),
      { numRuns: RUNS_PER_PROCEDURE, endOnFailure: true },
    );
  });
});

describe("forged cursors and dates", () => {
  const future = new Date(8.64e15);
  const someUuid = "6f1c1a4e-3b1d-4c51-9a0e-2f6d5b7c8e90";
  const cursors = [cursorOf([0, 8.64e15 + 1, someUuid]), cursorOf([1, -8.64e15 - 1, someUuid]), cursorOf([0, Date.now(), "-".repeat(36)]), cursorOf([0, Date.now(), "0".repeat(36)])];
  it.each(cursors)("session.list and admin.sessions refuse cursor %s as BAD_REQUEST", async (cursor) => {
    expect(await codeOf(api.session.list({ cursor }))).toBe("BAD_REQUEST");
    expect(await codeOf(api.admin.sessions({ cursor }))).toBe("BAD_REQUEST");
  });
  it("message.list refuses a time Postgres cannot store as BAD_REQUEST; REST likewise", async () => {
    for (const before of [new Date(-8.64e15), future, new Date(Date.parse("0001-01-01T00:00:00Z") - 1)]) {
      expect(await codeOf(api.message.list({ sessionId: realIds[0]!, before }))).toBe("BAD_REQUEST");
    }
    const rest = createRestApp(app);
    const res = await rest.request(`/api/v1/messages/${realIds[0]}/load?before_time=0000-01-01T00:00:00Z`, { headers: { "X-API-Key": ownerKey } });
    expect(res.status).toBe(400);
  });
});

describe("fuzzing every REST route", () => {
  it("no 500, nothing stored when refused", async () => {
    const rest = createRestApp(app, { keepAliveMs: 50 });
    const doc = (await (await rest.request("/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, { schema: { $ref?: string; properties?: Record<string, unknown> } }> } }>>;
      components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> };
    };
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(routes.length).toBeGreaterThan(10);
    const jsonValue = fc.oneof(forgedString, extremeNumber, fc.boolean(), fc.constant(null), fc.array(forgedString, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 }));
    for (const { path, method, op } of routes) {
      const params = op.parameters ?? [];
      const bodySchema = op.requestBody?.content["application/json"]?.schema;
      const props = bodySchema?.$ref ? doc.components?.schemas?.[bodySchema.$ref.split("/").at(-1)!]?.properties : bodySchema?.properties;
      const body = props
        ? fc.oneof(fc.record(Object.fromEntries(Object.keys(props).map((k) => [k, jsonValue])), { requiredKeys: [] }), fc.jsonValue())
        : fc.constant(undefined);
      const values = fc.record(Object.fromEntries(params.map((p) => [`${p.in}:${p.name}`, forgedString])));
      await fc.assert(
        fc.asyncProperty(values, body, async (given, json) => {
          let url = path;
          const query = new URLSearchParams();
          const headers = new Headers({ "X-API-Key": ownerKey });
          for (const [where, value] of Object.entries(given)) {
            if (value === undefined) continue;
            const [kind, name = ""] = where.split(":");
            if (kind === "path") url = url.replace(`{${name}}`, encodeURIComponent(value));
            else if (kind === "query") query.set(name, value);
            else if (kind === "header" && !/[\0\r\n]/.test(value) && /^[\x20-\x7e]*$/.test(value)) headers.set(name, value);
          }
          if (json !== undefined) headers.set("content-type", "application/json");
          const before = await digest();
          const controller = new AbortController();
          const res = await rest.request(`${url}${query.size ? `?${query}` : ""}`, { method: method.toUpperCase(), headers, body: json === undefined ? undefined : JSON.stringify(json), signal: controller.signal });
          const label = `${method.toUpperCase()} ${url}?${query} ${JSON.stringify(json)}`;
          expect(res.status, label).not.toBe(500);
          if (res.headers.get("content-type")?.startsWith("text/event-stream")) await res.body?.cancel();
          else await res.text();
          if (res.status >= 400) expect(await digest(), `${label} was refused (${res.status}) but changed stored data`).toBe(before);
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
    }
    // Every route of the OpenAPI document, knowledge reads and searches included: minutes on a busy machine.
  }, 240_000);
});

// --- documents ---

const MB = 1024 * 1024;
/** Filter names as a PDF may give them, known to pdf.js or not. */
const FILTERS = ["FlateDecode", "Fl", "Fl#61teDecode", "ASCIIHexDecode", "AHx", "ASCII85Decode", "LZWDecode", "RunLengthDecode", "BrotliDecode", "DCTDecode", "Crypt", "Bogus"];
/** How a stream's data is made for each filter, innermost first; a name pdf.js does not decode leaves it as it is. */
function encodeFor(filter: string, data: Buffer): Buffer {
  if (["FlateDecode", "Fl", "Fl#61teDecode"].includes(filter)) return deflateSync(data);
  if (["ASCIIHexDecode", "AHx"].includes(filter)) return Buffer.from(`${data.toString("hex")}>`);
  if (filter === "ASCII85Decode") return ascii85Encode(data);
  if (filter === "LZWDecode") return lzwEncode(data);
  if (filter === "RunLengthDecode") return runLengthEncode(data);
  if (filter === "BrotliDecode") return brotliCompressSync(data);
  return data;
}
const escapePdfString = (text: string) => text.replace(/[\\()]/g, (c) => `\\${c}`);

/**
 * A PDF whose page's contents show some text and a string of up to 40 MB, padded with up to 100 MB
 * of spaces (past 1 MB only when the innermost filter is Flate, which deflates them as they are
 * made), through up to three filters, with a dictionary that may lie or carry parameters, possibly
 * copied into an object stream, possibly damaged.
 */
const pdfDocument = fc
  .record({
    text: fc.string({ maxLength: 60 }),
    shown: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 40 * MB }), weight: 1 }),
    padding: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 64 * 1024 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 100 * MB }), weight: 1 }),
    filters: fc.array(fc.constantFrom(...FILTERS), { maxLength: 3 }),
    asArray: fc.boolean(),
    dictionary: fc.constantFrom(
      "",
      "/Type/XObject/Subtype/Image/Width 1/Height 1/BitsPerComponent 8/ColorSpace/DeviceGray",
      "/DecodeParms<</Predictor 12/Columns 7>>",
      "/DecodeParms<</Predictor 15/Colors 4/Columns 200000000>>",
      "/DecodeParms<</Predictor 2/BitsPerComponent 16/Colors 3/Columns 5>>",
      "/Length 1",
    ),
    inObjectStream: fc.boolean(),
    damage: fc.option(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) })),
    trailer: fc.constantFrom("", "", "/Encrypt 9 0 R"),
  })
  .map(async ({ text, shown, padding, filters, asArray, dictionary, inObjectStream, damage, trailer }) => {
    const innermost = filters.at(-1);
    const streamed = innermost !== undefined && ["FlateDecode", "Fl", "Fl#61teDecode"].includes(innermost);
    const [string, spaces] = streamed ? [shown, padding] : [Math.min(shown, MB), Math.min(padding, MB)];
    const parts = [showText(escapePdfString(text)), Buffer.from("BT ("), repeated("A", string), Buffer.from(") Tj ET\n"), repeated(" ", spaces)];
    let data = streamed ? await deflated(parts) : Buffer.concat(parts.map((p) => (p instanceof Uint8Array ? p : Buffer.alloc(p.count, p.character))));
    for (const filter of filters.slice(0, streamed ? -1 : undefined).reverse()) data = encodeFor(filter, data);
    const names = filters.map((f) => `/${f}`).join("");
    const filterEntry = filters.length === 0 ? "" : asArray || filters.length > 1 ? `/Filter[${names}]` : `/Filter${names}`;
    const stream = { dictionary: `${filterEntry}${dictionary}`, data };
    const objectStream = { dictionary: "/Type/ObjStm/N 1/First 4/Filter/FlateDecode", data: deflateSync(Buffer.concat([Buffer.from(`6 0 <<${stream.dictionary}>>\nstream\n`), data, Buffer.from("\nendstream")])) };
    const bytes = Buffer.from(onePagePdf(stream, { extraObjects: inObjectStream ? [objectStream] : [], trailerEntries: trailer }));
    if (damage) Buffer.from(damage.bytes).copy(bytes, damage.at % bytes.length);
    return { bytes, label: `filters ${names || "none"} (${asArray ? "array" : "name"}) ${dictionary} shown ${shown} padding ${padding}${inObjectStream ? " in an object stream" : ""}${damage ? " damaged" : ""} ${trailer}` };
  });
/** Bytes that are hardly a PDF: random, or a real header and then anything. */
const notQuiteAPdf = fc.uint8Array({ maxLength: 4096 }).chain((bytes) =>
  fc.constantFrom(bytes, Buffer.concat([Buffer.from("%PDF-1.7\n"), bytes])).map((b) => ({ bytes: Buffer.from(b), label: `${b.length} random bytes` })),
);

const nest = (depth: number, open: string, close: string, inner: string) => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
const markdownShape = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 150 }), fc.string()).map(([depth, s]) => `${"> ".repeat(depth)}${s}`),
  fc.tuple(fc.integer({ min: 0, max: 150 }), fc.string()).map(([depth, s]) => Array.from({ length: depth }, (_, i) => `${"  ".repeat(i)}- ${s}`).join("\n")),
  fc.tuple(fc.integer({ min: 1, max: 8 }), fc.string({ maxLength: 5000 })).map(([level, s]) => `${"#".repeat(level)} ${s}\n\nbody`),
  fc.integer({ min: 0, max: 2000 }).map((n) => nest(n, "*_", "_*", "x")),
  fc.integer({ min: 0, max: 2000 }).map((n) => nest(n, "[", "](y)", "x")),
  fc.string().map((s) => `\`\`\`\n${s}`),
  fc.string({ unit: "binary", maxLength: 2000 }),
);
const htmlShape = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 150 }), fc.constantFrom("div", "span", "blockquote", "ul", "li", "p", "table", "td", "b", "a"), fc.string()).map(([depth, tag, s]) =>
    nest(depth, `<${tag}>`, `</${tag}>`, s.replace(/</g, "&lt;")),
  ),
  fc.tuple(fc.integer({ min: 0, max: 500 }), fc.constantFrom("div", "em", "h1")).map(([depth, tag]) => `<${tag}>`.repeat(depth)),
  fc.string().map((s) => `<a href="${s}" title='${s}'>${s}</a><script>${s}</script><style>${s}</style><!-- ${s}`),
  fc.string({ unit: "binary", maxLength: 2000 }),
);
const textDocument = fc.oneof(
  fc.array(markdownShape, { minLength: 1, maxLength: 4 }).map((parts) => ({ name: "fuzz.md", text: parts.join("\n\n") })),
  fc.array(htmlShape, { minLength: 1, maxLength: 4 }).map((parts) => ({ name: "fuzz.html", text: `<html><body>${parts.join("")}</body></html>` })),
);

describe("fuzzing document uploads", () => {
  let server: Awaited<ReturnType<typeof serveApp>>;
  let baseId: string;
  beforeAll(async () => {
    server = await serveApp(app);
    baseId = (await api.knowledge.bases.create({ name: "fuzzed documents" })).id;
  });
  afterAll(() => server?.close());

  /** Uploads through the served route: no 5xx, the server still answering, nothing stored on refusal. */
  async function expectHandled(file: File, label: string) {
    const before = await digest();
    const form = new FormData();
    form.set("knowledgeBaseId", baseId);
    form.set("file", file);
    const res = await fetch(`${server.url}/api/knowledge/upload`, { method: "POST", body: form, headers: { authorization: `Bearer ${ownerKey}` } });
    const body = await res.text();
    expect(res.status, `${label}: ${body}`).toBeLessThan(500);
    if (res.status >= 400) expect(await digest(), `${label} was refused (${res.status}) but changed stored data`).toBe(before);
    expect((await fetch(`${server.url}/api/health?live=1`)).status, `${label}: the server stopped answering`).toBe(200);
  }

  it("PDFs of any filters, layers, sizes and dictionaries: no 5xx, the server answering, nothing stored when refused", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: pdfDocument, weight: 4 }, { arbitrary: notQuiteAPdf.map(async (b) => b), weight: 1 }), async (making) => {
        const { bytes, label } = await making;
        await expectHandled(new File([new Uint8Array(bytes)], "fuzz.pdf"), label);
      }),
      // The four kinds of bomb come first, then generated ones.
      { numRuns: RUNS_PER_DOCUMENT_FORMAT, endOnFailure: true, examples: PDF_BOMBS.map(({ name, build }) => [build().then((bytes) => ({ bytes: Buffer.from(bytes), label: name }))]) },
    );
  }, 120_000);

  it("Markdown and HTML of any shape: no 5xx, the server answering, nothing stored when refused", async () => {
    await fc.assert(
      fc.asyncProperty(textDocument, async ({ name, text }) => {
        await expectHandled(new File([text], name), `${name} ${fc.stringify(text.slice(0, 200))}`);
      }),
      { numRuns: RUNS_PER_DOCUMENT_FORMAT, endOnFailure: true },
    );
  }, 120_000);
});
