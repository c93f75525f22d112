import fc from "fast-check";
import SuperJSON from "superjson";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appRouter } from "./routers/_app";
import { serializedText } from "./serialized";

/** What a call gives: its text, or the message it threw. */
function outcome(write: () => string): { text: string } | { threw: string } {
  try {
    return { text: write() };
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

/** Superjson itself, an instance of its own (the router's is the default one, spied on below). */
const reference = new SuperJSON();
const superjsonText = (value: unknown) => JSON.stringify(reference.serialize(value));

/** Keys superjson escapes in paths, keys an object orders before others, and keys it refuses. */
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("a.b", "a\\b", "\\.", "0", "7", "10", "x.0", "__proto__", "constructor", "prototype"));
const date = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });
const finite = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)));

/** Plain JSON with Dates anywhere: what the fast path takes whole (no keys superjson refuses). */
const { tree: plainTree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, fc.string(), fc.boolean(), fc.constant(null), finite, date, tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 5 }),
  object: fc.dictionary(key.filter((k) => !["__proto__", "constructor", "prototype"].includes(k)), tie("tree"), { maxKeys: 5 }),
}));

const serializeSpy = () => vi.spyOn(appRouter._def._config.transformer.output, "serialize");
afterEach(() => vi.restoreAllMocks());

describe("serializedText", () => {
  it("writes plain JSON with Dates as superjson does, without calling it", () => {
    const spy = serializeSpy();
    fc.assert(
      fc.property(plainTree, (value) => {
        expect(serializedText(value)).toBe(superjsonText(value));
      }),
      { numRuns: 2000 },
    );
    expect(spy).not.toHaveBeenCalled();
  });

  it("writes any value as superjson does, or throws what it throws", () => {
    const anything = fc.anything({
      key,
      withDate: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBigInt: true,
      withMap: true,
      withSet: true,
      withBoxedValues: true,
      withObjectString: true,
      withTypedArray: true,
    });
    fc.assert(
      fc.property(fc.oneof(anything, plainTree), (value) => {
        expect(outcome(() => serializedText(value))).toEqual(outcome(() => superjsonText(value)));
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves to superjson what it notes besides Dates: a value reached twice, undefined, -0, NaN, an invalid Date, a class instance", () => {
    const spy = serializeSpy();
    const shared = { at: new Date(0) };
    const when = new Date(1);
    const notes = [
      { a: shared, b: shared },
      { created: when, updated: when },
      { text: "x", missing: undefined },
      [undefined],
      { n: -0 },
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { at: new Date(Number.NaN) },
      { at: new URL("https://parley.test/") },
      { at: new Map([["a", 1]]) },
    ];
    for (const value of notes) expect(serializedText(value)).toBe(superjsonText(value));
    expect(spy).toHaveBeenCalledTimes(notes.length);
  });

  it("lays out nested Dates' paths in superjson's order, index keys first at each level", () => {
    const value = { list: [{ at: new Date(0) }, new Date(1)], "a.b": { "c\\d": new Date(2) }, 10: new Date(3), 2: { at: new Date(4) } };
    const text = serializedText(value);
    expect(text).toBe(superjsonText(value));
    expect(JSON.parse(text).meta.values).toEqual({ "10": ["Date"], "2.at": ["Date"], "list.0.at": ["Date"], "list.1": ["Date"], "a\\.b.c\\\\d": ["Date"] });
  });
});
