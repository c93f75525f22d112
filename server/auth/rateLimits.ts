import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimited } from "../platform/errors";
import type { Store } from "../platform/store/types";

/**
 * Rate limits, shared by every instance through the store (Redis; in process on the embedded
 * default): calls and answers started per API key or signed-in user, and wrong keys per client
 * address (server/http/authenticate.ts presents every key and cookie). Each check is one key and
 * one round trip. A refusal is an AppError `rate_limited` carrying its `Retry-After`, thrown
 * before the call writes anything.
 */
// `sign_in` is the wrong-key limit (its metric label and Redis key from when only sign-ins counted).
export type LimitName = "calls" | "sends" | "sign_in" | "share";

/** Wrong keys (sign-in, header or cookie) per client address and window (the contract's 10 a minute). */
export const WRONG_KEYS_PER_WINDOW = 10;
/** Reads of shared conversations (the page and its JSON) per client address and window (the contract's 120 a minute). */
export const SHARE_READS_PER_WINDOW = 120;

export interface RateLimitOptions {
  store: Pick<Store, "rateLimiter">;
  /** The store's key prefix (`PARLEY_REDIS_PREFIX`): keys are `<prefix>ratelimit:<limit>:<subject>`. */
  prefix: string;
  /** 0: no limit. */
  callsPerWindow: number;
  sendsPerWindow: number;
  wrongKeysPerWindow?: number;
  shareReadsPerWindow?: number;
  /** 60 in production; tests shorten it to see a window reset. */
  windowSeconds?: number;
  /** Counts each refusal (the metrics). */
  onRefused?: (limit: LimitName) => void;
}

/** Who a call is limited as: its API key, or the signed-in user when it came with the browser's cookie. */
export function limitSubject(caller: { apiKeyId: string; user: { id: string } }, via: "key" | "cookie"): string {
  return via === "key" ? `key:${caller.apiKeyId}` : `user:${caller.user.id}`;
}

export function createRateLimits(options: RateLimitOptions) {
  const windowSeconds = options.windowSeconds ?? 60;
  const per = windowSeconds === 60 ? "a minute" : `in ${windowSeconds} s`;
  const limiter = (name: LimitName, points: number): { limiter: RateLimiterAbstract; points: number } | null =>
    points > 0 ? { limiter: options.store.rateLimiter({ keyPrefix: `${options.prefix}ratelimit:${name}`, points, durationSeconds: windowSeconds }), points } : null;
  const calls = limiter("calls", options.callsPerWindow);
  const sends = limiter("sends", options.sendsPerWindow);
  const wrongKeys = limiter("sign_in", options.wrongKeysPerWindow ?? WRONG_KEYS_PER_WINDOW);
  const shareReads = limiter("share", options.shareReadsPerWindow ?? SHARE_READS_PER_WINDOW);

  const wrongKeysMessage = () => `Too many wrong keys from this address: at most ${wrongKeys?.points} ${per}`;
  const refuse = (name: LimitName, msBeforeNext: number, message: string) => {
    options.onRefused?.(name);
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return rateLimited(`${message}; retry in ${retryAfter} s`, retryAfter);
  };

  /** Counts `points` against `subject`; over the limit, throws `rate_limited`. */
  async function consume(name: LimitName, limit: typeof calls, subject: string, message: string, points = 1) {
    if (!limit) return;
    try {
      await limit.limiter.consume(subject, points);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw refuse(name, error.msBeforeNext, message);
      throw error;
    }
  }

  return {
    /** Every tRPC procedure call, REST request, upload and stream (re)connect: `count` of them at once (a tRPC batch). */
    call: (subject: string, count = 1) => consume("calls", calls, subject, `Too many calls: at most ${calls?.points} ${per}`, count),
    /** An answer about to start (after the idempotency check: a retried send counts nothing). */
    answerStarted: (subject: string) => consume("sends", sends, subject, `Too many questions: at most ${sends?.points} answers ${per}`),
    /** Gives back an answer counted by `answerStarted` that did not start after all (its session was busy). */
    async answerNotStarted(subject: string) {
      await sends?.limiter.reward(subject);
    },
    /** A read of a shared conversation (its page or its JSON) from a client address: anyone may read, but not endlessly. */
    shareRead: (address: string) => consume("share", shareReads, address, `Too many shared conversations read from this address: at most ${shareReads?.points} ${per}`),
    /** Before a sign-in's key is checked: refused once the address has used up its wrong attempts. */
    async signInAllowed(address: string) {
      if (!wrongKeys) return;
      const used = await wrongKeys.limiter.get(address);
      if (used && used.consumedPoints >= wrongKeys.points) throw refuse("sign_in", used.msBeforeNext, wrongKeysMessage());
    },
    /** A key or cookie (in a header or the sign-in form) that named nobody: counted; past the limit, refused as such. */
    async wrongKey(address: string) {
      if (!wrongKeys) return;
      const used = await wrongKeys.limiter.penalty(address);
      if (used.consumedPoints > wrongKeys.points) throw refuse("sign_in", used.msBeforeNext, wrongKeysMessage());
    },
  };
}
export type RateLimits = ReturnType<typeof createRateLimits>;
