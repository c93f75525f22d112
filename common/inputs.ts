import { z } from "zod";

/**
 * Input pieces every router and the REST face build their schemas from, so that whatever a caller
 * can forge (a NUL byte, an id that only looks like one, a date Postgres cannot store) is refused
 * as bad input at the edge instead of failing in Postgres as a 500.
 */

/** Postgres keeps no NUL character in `text` or `jsonb` (it refuses the whole statement). */
const NO_NUL = (value: string) => !value.includes("\0");

/** A string that Postgres can store. */
export const text = () => z.string().refine(NO_NUL, "Must not contain a NUL character");

/** A uuid (RFC 9562 form, as Postgres' `uuid` type takes it). */
export const uuid = () => z.uuid();
const uuidCheck = uuid();
export const isUuid = (value: unknown): value is string => uuidCheck.safeParse(value).success;

/**
 * The instants Parley takes as input: years 1..9999. Postgres' own range is wider at the top and
 * narrower at the bottom than JavaScript's, so any Date outside this would fail in the query.
 */
const MIN_TIME = Date.parse("0001-01-01T00:00:00.000Z");
const MAX_TIME = Date.parse("9999-12-31T23:59:59.999Z");
export const isStorableTime = (ms: number) => Number.isFinite(ms) && ms >= MIN_TIME && ms <= MAX_TIME;
export const timestamp = () =>
  z.date().refine((d) => isStorableTime(d.getTime()), "Must be a time between the years 1 and 9999");
