import { appRouter } from "./routers/_app";

/*
 * A value in superjson's wire form, as JSON text: what `JSON.stringify(superjson.serialize(v))`
 * writes, without superjson's walk where it has little to note. Superjson copies every value it
 * is given (a new object for each object, a path array for each property) to find the few it must
 * annotate; on a plain call that walk was 8 % of the server's CPU (session.create, profiled). Most
 * answers are plain JSON plus Dates: their JSON is the value's own (a Date writes the same ISO
 * string either way), and their only notes are the Dates' paths, found here in one read-only pass
 * and laid out as superjson lays them out. Anything else superjson would note (undefined, -0, NaN,
 * bigint, Map, Set, class instances, a value reached twice) goes to superjson itself.
 * serialized.test.ts holds the two to the same bytes over generated values.
 */

const transformer = appRouter._def._config.transformer.output;

/** Superjson's note on a Date. */
type DateNote = ["Date"];
/** What a value needs noted: nothing, itself (a Date), or its Dates by escaped path. */
type Notes = undefined | DateNote | Record<string, DateNote>;
/** A value the fast path does not take. */
const SUPERJSON = Symbol("superjson");

/** `JSON.stringify(superjson.serialize(value))`, byte for byte. */
export function serializedText(value: unknown): string {
  const notes = datesToNote(value, null);
  if (notes === SUPERJSON) return JSON.stringify(transformer.serialize(value));
  const json = JSON.stringify(value);
  return notes === undefined ? `{"json":${json}}` : `{"json":${json},"meta":{"values":${JSON.stringify(notes)},"v":1}}`;
}

/**
 * The notes superjson would make of `value` when they can only be Dates, in its order (each
 * level's keys as an object orders them, then merged into the level above); SUPERJSON otherwise.
 */
function datesToNote(value: unknown, seen: Set<object> | null): Notes | typeof SUPERJSON {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? undefined : SUPERJSON;
    case "object":
      if (value === null) return undefined;
      break;
    default:
      return SUPERJSON;
  }
  // Superjson notes every object reached more than once (and breaks cycles): left to it. The set
  // is made (with the top value in it) on the way into the first inner object, so a flat value
  // (an answer's delta) needs none.
  if (seen?.has(value)) return SUPERJSON;
  seen?.add(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Date.prototype) return Number.isNaN((value as Date).getTime()) ? SUPERJSON : ["Date"];
  const keys = Object.keys(value);
  // A sparse array, or one with other properties, is walked differently from how JSON writes it.
  if (Array.isArray(value) ? keys.length !== value.length : proto !== Object.prototype && proto !== null) return SUPERJSON;
  let notes: Record<string, DateNote> | undefined;
  for (const key of keys) {
    // Superjson refuses these keys (a prototype pollution risk): its error, not ours.
    if (key === "__proto__" || key === "constructor" || key === "prototype") return SUPERJSON;
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === "object" && child !== null) seen ??= new Set([value]);
    const inner = datesToNote(child, seen);
    if (inner === undefined) continue;
    if (inner === SUPERJSON) return SUPERJSON;
    notes ??= {};
    const path = escapeKey(key);
    if (Array.isArray(inner)) notes[path] = inner;
    else for (const innerPath in inner) notes[`${path}.${innerPath}`] = inner[innerPath]!;
  }
  return notes;
}

/** A key as superjson writes it in a path: `\` and `.` escaped. */
function escapeKey(key: string): string {
  return key.includes("\\") || key.includes(".") ? key.replace(/\\/g, "\\\\").replace(/\./g, "\\.") : key;
}
