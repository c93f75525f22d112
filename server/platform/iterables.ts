/** What a finished iterator's `next()` settles with (one object for every call, so frozen). */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * The reason Parley gives when it stops a reader, a stream or a call itself (its client has gone,
 * its answer has ended, its key was revoked). Made once: `abort()` without a reason builds a
 * DOMException and its stack trace every time, a resume's largest cost after its I/O.
 */
export const STOPPED = new DOMException("This operation was aborted", "AbortError");

/**
 * `source` with `map` applied to each value, as a plain iterator rather than an async generator
 * around a `for await` (three promise hops per value fewer on a live answer's path). Stopping it
 * early stops `source`, so its `finally` runs.
 */
export function mapEach<T, U>(source: AsyncIterable<T>, map: (value: T) => U): AsyncIterable<U> {
  const iterator = source[Symbol.asyncIterator]();
  const mapped: AsyncIterator<U> = {
    next: () => iterator.next().then((next) => (next.done ? next : { value: map(next.value), done: false })),
    return: async () => {
      await iterator.return?.();
      return DONE;
    },
  };
  return { [Symbol.asyncIterator]: () => mapped };
}

/**
 * A promise rejected with `reason`, whatever it is: a hand-written iterator passes on what its
 * source or its signal throws, as a generator's `throw` would (an abort's reason need not be an Error).
 */
export async function rejection(reason: unknown): Promise<never> {
  throw reason;
}

/**
 * The one pending call of a hand-written async iterator (its `next()`, a queue's `take()`): the
 * caller `wait()`s when nothing is there yet, and whatever produces values later `give`s the next
 * one or `fail`s it. The promise's executor is made once, not per call: on a live answer's path
 * these calls come once per delta.
 */
export class PendingCall<T> {
  #settle: ((result: T | Promise<never>) => void) | null = null;
  readonly #executor = (resolve: (result: T | Promise<never>) => void) => {
    this.#settle = resolve;
  };

  /** A caller is waiting. */
  get waiting(): boolean {
    return this.#settle !== null;
  }

  /** The promise a caller waits on (one caller at a time). */
  wait(): Promise<T> {
    return new Promise(this.#executor);
  }

  /** Settles the waiting call with `result`; false when none waits. */
  give(result: T): boolean {
    return this.#settleWith(result);
  }

  /** Rejects the waiting call with `reason`; false when none waits (nothing is rejected, so nothing goes unhandled). */
  fail(reason: unknown): boolean {
    return this.waiting && this.#settleWith(rejection(reason));
  }

  #settleWith(result: T | Promise<never>): boolean {
    const settle = this.#settle;
    if (!settle) return false;
    this.#settle = null;
    settle(result);
    return true;
  }
}
