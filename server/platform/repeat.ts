/**
 * Runs `task` every `everyMs` on this instance, one run at a time (a tick while a run is under way
 * is skipped), after `first` settles when given (then once at once). `task` is told whether it
 * should stop (between its batches). Its failures go to `onError`; the next tick tries again.
 * Returns what stops it: no new run starts, and the call resolves once a running one has ended.
 */
export function repeat(
  task: (stopping: () => boolean) => Promise<unknown>,
  options: { everyMs: number; onError: (error: Error) => void; first?: Promise<unknown> },
): () => Promise<void> {
  let stopped = false;
  let running: Promise<unknown> | null = null;
  const tick = () => {
    if (stopped || running) return;
    running = task(() => stopped)
      .catch(options.onError)
      .finally(() => (running = null));
  };
  const started = options.first?.then(tick);
  const timer = setInterval(tick, options.everyMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await started;
    await running;
  };
}
