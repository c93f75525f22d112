import type { Logger } from "../platform/log";
import { acquire, release, renew, type Lease, type LeaseDeps } from "./lease";

/**
 * Runs answers on this instance: a pool of at most PARLEY_MAX_CONCURRENT_ANSWERS at once, whose
 * queue takes tenants in turn (each tenant's answers in their order), and a lease per answer
 * (lease.ts, renewed by a heartbeat) so other instances can tell a live answer from a dead one
 * (recovery.ts sweeps up the dead ones).
 */
const HEARTBEAT_MS = 5_000;

export interface AnswerJob {
  /** Whose turn in the queue it waits for. */
  tenantId: string;
  sessionId: string;
  messageId: string;
  /** The answer's hold on its session, taken when it was stored. */
  lease: Lease;
  controller: AbortController;
  /**
   * Generates the answer. It calls `releaseLease` once the answer is final and before its terminal
   * event, so a client that sends again on seeing that event finds the session free.
   */
  run(signal: AbortSignal, releaseLease: () => Promise<void>): Promise<void>;
}

/** A place in the pool or its queue, held while an answer is being stored; `enqueue` fills it. */
export interface Reservation {
  enqueue(job: AnswerJob): void;
  /** Gives the place back unless it was filled (safe to call after `enqueue`). */
  release(): void;
}

export function createAnswerRunner(options: {
  maxConcurrent: number;
  /** Answers that may wait for a slot; `reserve` refuses beyond it. */
  maxQueued: number;
  leases: LeaseDeps;
  log: Logger;
}) {
  const { leases } = options;
  const jobs = new Map<string, AnswerJob>();
  /**
   * The queue, per tenant: its waiting answers in order of arrival, its running ones, and when it
   * was last served. A tenant stays while it has either, so one whose answers fill the pool keeps
   * its place in the turn behind tenants that have none running.
   */
  const tenants = new Map<string, { waiting: AnswerJob[]; running: number; lastServed: number }>();
  let queued = 0;
  /** Answers started from the queue so far: the clock of `lastServed`. */
  let served = 0;
  let running = 0;
  /** Places held by sends still storing their answer, so concurrent sends cannot overfill the queue. */
  let reserved = 0;
  let closed = false;

  const heartbeat = setInterval(() => {
    for (const job of jobs.values()) {
      // A lease lost while Redis was away is taken back, so no sweeper mistakes us for dead; but not
      // one released on purpose while this renewal was in flight (the answer ended: its session is
      // free for the next question). releaseLease drops the job before it sends its release.
      renew(leases, job.lease)
        .then((held) => (held || jobs.get(job.messageId) !== job ? held : acquire(leases, job.lease)))
        .catch(() => undefined);
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  /** Ends the heartbeat for a job, then frees its session. Safe to call twice. */
  const releaseLease = async (job: AnswerJob) => {
    if (jobs.get(job.messageId) !== job) return;
    jobs.delete(job.messageId);
    await release(leases, job.lease).catch(() => undefined);
  };

  const tenantOf = (job: AnswerJob) => {
    let tenant = tenants.get(job.tenantId);
    if (!tenant) tenants.set(job.tenantId, (tenant = { waiting: [], running: 0, lastServed: 0 }));
    return tenant;
  };
  const forgetIdle = (job: AnswerJob) => {
    const tenant = tenants.get(job.tenantId);
    if (tenant && tenant.waiting.length === 0 && tenant.running === 0) tenants.delete(job.tenantId);
  };

  const launch = (job: AnswerJob) => {
    running++;
    tenantOf(job).running++;
    void job
      .run(job.controller.signal, () => releaseLease(job))
      .catch((error) => options.log.error({ err: error, sessionId: job.sessionId, messageId: job.messageId }, "answer crashed"))
      .finally(async () => {
        await releaseLease(job);
        running--;
        tenantOf(job).running--;
        forgetIdle(job);
        startNext();
      });
  };

  /**
   * Takes the next answer from the queue: the first waiting answer of the tenant served longest
   * ago (never served first; ties in the order tenants arrived), so tenants take turns.
   */
  const dequeue = (): AnswerJob | undefined => {
    let next: { waiting: AnswerJob[]; lastServed: number } | undefined;
    for (const tenant of tenants.values()) if (tenant.waiting.length > 0 && (!next || tenant.lastServed < next.lastServed)) next = tenant;
    if (!next) return undefined;
    next.lastServed = ++served;
    queued--;
    return next.waiting.shift();
  };

  const startNext = () => {
    while (!closed && running < options.maxConcurrent && queued > 0) launch(dequeue()!);
  };

  /** Takes a waiting answer out of the queue; false when it is not waiting. */
  const unqueue = (job: AnswerJob) => {
    const waiting = tenants.get(job.tenantId)?.waiting ?? [];
    const at = waiting.indexOf(job);
    if (at < 0) return false;
    waiting.splice(at, 1);
    queued--;
    return true;
  };

  /** Queues an answer; it starts when a slot is free and its tenant's turn comes, after the tenant's earlier ones. */
  const enqueue = (job: AnswerJob) => {
    jobs.set(job.messageId, job);
    tenantOf(job).waiting.push(job);
    queued++;
    startNext();
  };

  return {
    /**
     * Holds a place for an answer about to be stored: null when every slot runs and the queue is
     * full (PARLEY_MAX_QUEUED_ANSWERS), so the send is refused before it writes anything.
     */
    reserve(): Reservation | null {
      if (running + queued + reserved >= options.maxConcurrent + options.maxQueued) return null;
      reserved++;
      let held = true;
      const release = () => {
        if (held) reserved--;
        held = false;
      };
      return {
        enqueue(job) {
          release();
          enqueue(job);
        },
        release,
      };
    },
    /** Aborts a local answer (queued or running); false when this instance does not have it. */
    abort(messageId: string, reason: string): boolean {
      const job = jobs.get(messageId);
      if (!job) return false;
      job.controller.abort(reason);
      // A queued answer runs at once, outside the pool: it sees its aborted signal and
      // finalises as stopped without generating anything.
      if (unqueue(job)) launch(job);
      return true;
    },
    /** Aborts every local answer of these sessions (they were deleted). */
    abortSessions(sessionIds: string[], reason: string) {
      const gone = new Set(sessionIds);
      for (const job of [...jobs.values()]) if (gone.has(job.sessionId)) this.abort(job.messageId, reason);
    },
    has: (messageId: string) => jobs.has(messageId),
    get running() {
      return running;
    },
    get queued() {
      return queued;
    },
    /** Stops taking work and aborts what runs; resolves when every local answer has ended. */
    async close() {
      closed = true;
      clearInterval(heartbeat);
      for (const job of jobs.values()) job.controller.abort("shutdown");
      // Queued answers run at once too: they see the aborted signal and end as interrupted.
      for (let job = dequeue(); job; job = dequeue()) launch(job);
      const deadline = Date.now() + 5000;
      while (running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
export type AnswerRunner = ReturnType<typeof createAnswerRunner>;
