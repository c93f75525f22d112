import { randomUUID } from "node:crypto";
import type { Keys } from "../platform/store/keys";
import type { Store } from "../platform/store/types";

/**
 * The answer lease: the session's answer lock in the store (one answer at a time per session),
 * held by the answer running in it, renewed by its instance's heartbeat (runner.ts) so any
 * instance can tell a live answer from a dead one (recovery.ts). A branch switch holds it for a
 * moment too (answers.ts). The lock's value names the holder and its instance: only this module
 * writes or reads it.
 */

/** How long a lease lasts unless renewed. */
export const LEASE_MS = 15_000;

/** The store's lock commands, and the session's lock key. */
export interface LeaseDeps {
  store: Pick<Store, "acquire" | "renew" | "release" | "get">;
  keys: Pick<Keys, "answerLock">;
}

/** One holder's lease on a session: what it acquires, renews and releases. */
export interface Lease {
  readonly sessionId: string;
  /** The lock's value ("<holder>:<instanceId>"), opaque outside this module. */
  readonly owner: string;
}

const ownerOf = (holder: string, instanceId: string) => `${holder}:${instanceId}`;
/** The holder a lock's value names (an answer's message id, or a switch's own id); ids hold no ":". */
function holderOf(owner: string): string | null {
  const end = owner.indexOf(":");
  return end < 0 ? null : owner.slice(0, end);
}

/** The lease of answer `messageId` running on instance `instanceId`. */
export const forAnswer = (ids: { sessionId: string; messageId: string; instanceId: string }): Lease => ({
  sessionId: ids.sessionId,
  owner: ownerOf(ids.messageId, ids.instanceId),
});

/** A lease held for no answer (a branch switch): a holder of its own, never mistaken for an answer. */
export const forSwitch = (ids: { sessionId: string; instanceId: string }): Lease => ({
  sessionId: ids.sessionId,
  owner: ownerOf(`switch-${randomUUID()}`, ids.instanceId),
});

/** Takes the session's lease for `lease`'s holder; false when it is held (by anyone, this holder too). */
export function acquire(deps: LeaseDeps, lease: Lease, ttlMs = LEASE_MS): Promise<boolean> {
  return deps.store.acquire(deps.keys.answerLock(lease.sessionId), lease.owner, ttlMs);
}

/** Extends the lease while its holder still holds it; false when it does not. */
export function renew(deps: LeaseDeps, lease: Lease, ttlMs = LEASE_MS): Promise<boolean> {
  return deps.store.renew(deps.keys.answerLock(lease.sessionId), lease.owner, ttlMs);
}

/** Frees the session, only while the lease's holder still holds it. */
export function release(deps: LeaseDeps, lease: Lease): Promise<boolean> {
  return deps.store.release(deps.keys.answerLock(lease.sessionId), lease.owner);
}

/** Whether answer `messageId` (on whichever instance) holds its session's lease: it runs, somewhere. */
export async function isHeldBy(deps: { store: Pick<Store, "get">; keys: LeaseDeps["keys"] }, sessionId: string, messageId: string): Promise<boolean> {
  const owner = await deps.store.get(deps.keys.answerLock(sessionId));
  return owner !== null && holderOf(owner) === messageId;
}
