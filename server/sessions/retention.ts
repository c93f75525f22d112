import { randomUUID } from "node:crypto";
import type { Env } from "../platform/env";
import type { Keys } from "../platform/store/keys";
import type { Metrics } from "../platform/metrics";
import { repeat } from "../platform/repeat";
import { finishDeletions, DELETE_BATCH, type SessionStateDeps } from "./removal";
import { markExpired, unfinishedDeletions, type Expiry } from "./sessions";
import { tenantsWithRetention } from "./tenantSettings";
import { deleteExpiredAttachments } from "./attachments";

/**
 * The retention sweep: every PARLEY_RETENTION_SWEEP_SECONDS, one instance at a time (a lock in the
 * store, shared by every instance, Redis Cluster included), deletes in batches the temporary chats
 * past their lifetime and the sessions idle longer than their tenant's `retentionDays` (pinned ones
 * spared under `keepPinned`), each through the one deletion path (removal.ts), then the chat
 * attachments past their lifetime (attachments.ts; they own nothing else). It first finishes
 * deletions an earlier run (or a caller's delete) left unfinished, so a sweep killed mid-batch is
 * completed by the next.
 */

export interface RetentionDeps extends SessionStateDeps {
  instanceId: string;
  keys: SessionStateDeps["keys"] & Pick<Keys, "retentionLock">;
  env: Pick<Env, "PARLEY_RETENTION_SWEEP_SECONDS">;
  metrics: Pick<Metrics, "sessionsExpired">;
}

/** The sweep's lock lapses this long after its last renewal (each batch renews it), should its instance die. */
const LOCK_MS = 60_000;

export interface SweepResult {
  /** Sessions deleted for each reason (`unfinished`: deletions started earlier, finished now). */
  temporary: number;
  retention: number;
  unfinished: number;
  batches: number;
}

/**
 * One sweep; null when another one holds the lock (on this instance or another). `shouldStop` is
 * asked between batches (the App closing). A step that keeps failing ends the sweep with its error;
 * what it left is marked and the next sweep finishes it.
 */
export async function sweepExpiredSessions(deps: RetentionDeps, shouldStop: () => boolean = () => false): Promise<SweepResult | null> {
  const lockKey = deps.keys.retentionLock();
  const owner = `${deps.instanceId}:${randomUUID()}`;
  if (!(await deps.store.acquire(lockKey, owner, LOCK_MS))) return null;
  const result: SweepResult = { temporary: 0, retention: 0, unfinished: 0, batches: 0 };
  /** Marks a batch at a time (`next`) and deletes it, until none is left. */
  const drain = async (reason: keyof Omit<SweepResult, "batches">, next: () => Promise<string[]>) => {
    while (!shouldStop()) {
      const started = Date.now();
      const ids = await next();
      if (ids.length === 0) return;
      // Counted once, when they expire; finishing an earlier run's deletions counts nothing again.
      if (reason !== "unfinished") deps.metrics.sessionsExpired.inc({ reason }, ids.length);
      await finishDeletions(deps, ids);
      result[reason] += ids.length;
      result.batches++;
      deps.log.info({ reason, sessions: ids.length, ms: Date.now() - started }, "expired sessions deleted");
      if (!(await deps.store.renew(lockKey, owner, LOCK_MS))) throw new Error("The retention sweep lost its lock");
    }
  };
  const expire = (expiry: Expiry) => drain(expiry.reason, () => markExpired(deps.db, expiry, DELETE_BATCH));
  try {
    await drain("unfinished", () => unfinishedDeletions(deps.db, DELETE_BATCH));
    await expire({ reason: "temporary" });
    for (const tenant of await tenantsWithRetention(deps.db)) {
      await expire({ reason: "retention", tenantId: tenant.id, days: tenant.retentionDays, keepPinned: tenant.keepPinned });
    }
    const attachments = await deleteExpiredAttachments(deps.db);
    if (attachments > 0) deps.log.info({ attachments }, "expired attachments deleted");
    return result;
  } finally {
    await deps.store.release(lockKey, owner).catch(() => undefined);
  }
}

/**
 * Sweeps every PARLEY_RETENTION_SWEEP_SECONDS on this instance (the lock keeps it to one instance
 * at a time). Returns what stops it: no new sweep starts, and a running one ends after its batch.
 */
export function startRetentionSweeper(deps: RetentionDeps): () => Promise<void> {
  return repeat((stopping) => sweepExpiredSessions(deps, stopping), {
    everyMs: deps.env.PARLEY_RETENTION_SWEEP_SECONDS * 1000,
    onError: (error) => deps.log.error({ err: error }, "the retention sweep failed; the next one takes it up"),
  });
}
