/** How long waitFor polls, how often, and what its timeout error says (a function: read when it fails). */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string | (() => string);
}

/**
 * Polls `check` until it returns a truthy value, and returns that value; throws once `timeoutMs`
 * (default 5 s) have passed without one.
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 5_000, intervalMs = 10, message = "timed out waiting for condition" } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(typeof message === "function" ? message() : message);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
