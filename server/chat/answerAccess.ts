import type { Caller } from "../auth/accounts";
import type { Env } from "../platform/env";
import type { Keys } from "../platform/store/keys";
import { REPLAY_PAGE } from "../platform/store/follow";
import type { Store, StreamEntry } from "../platform/store/types";
import { mayReach, type Access } from "../sessions/sessions";
import { isHeldBy } from "./lease";
import type { LiveAnswer } from "./streams";

/**
 * Resuming a live answer without Postgres. When an answer starts, the store keeps what reading it
 * is decided on (its session's tenant and owner) and what its frames name (its request id) under
 * the answer's access key, in its session's slot, as long as its stream lives. A follower of a live
 * answer is authorized from that key by the rule Postgres applies (`mayReach`, as `visibleWhere`):
 * two reads in one round trip instead of a query. Postgres is asked when the store has nothing.
 * The stream's first page after the resume id goes in that round trip too, so a resuming client's
 * first event needs no second one; it is handed on only once the check has passed. A refused
 * caller or a finished answer costs that read for nothing: one bounded page, on the rarer path.
 *
 * Whether the answer is live comes from its lease (lease.ts), not from the key: the lease is held
 * while its row is `streaming` and lapses within seconds when its instance dies or the store
 * missed its release, so a finished answer (its row, its terminal event rebuilt from it) is always
 * read from Postgres, and the key needs no write when the answer ends. Every deletion path deletes
 * the key with the session's other keys (sessions/removal.ts), the keys of running answers first.
 */

export interface AnswerAccessDeps {
  store: Pick<Store, "get" | "set" | "range">;
  keys: Pick<Keys, "answerAccess" | "answerLock" | "stream">;
  env: Pick<Env, "STREAM_TTL_SECONDS">;
}

/** What the access key holds; the session and message are its name. */
interface AnswerAccess {
  tenantId: string;
  userId: string;
  requestId: string;
}

/** Records who may follow answer `messageId`, for as long as its stream is kept. */
export function recordAnswerAccess(
  deps: Pick<AnswerAccessDeps, "env"> & { store: Pick<Store, "set">; keys: Pick<Keys, "answerAccess"> },
  ids: { sessionId: string; messageId: string },
  access: AnswerAccess,
): Promise<void> {
  const value: AnswerAccess = { tenantId: access.tenantId, userId: access.userId, requestId: access.requestId };
  return deps.store.set(deps.keys.answerAccess(ids.sessionId, ids.messageId), JSON.stringify(value), deps.env.STREAM_TTL_SECONDS);
}

/**
 * The live answer `messageId` of session `sessionId` when the store says the caller may follow it;
 * otherwise null, and Postgres decides: the store cannot tell (no key, the answer is not live, the
 * store unreachable), or the caller may not reach it (Postgres refuses, with its own NOT_FOUND).
 */
export async function liveAnswerFromStore(
  deps: AnswerAccessDeps,
  caller: Caller,
  ids: { sessionId: string; messageId: string },
  access: Access,
  lastEventId: string | null,
): Promise<LiveAnswer | null> {
  let read: [string | null, boolean, StreamEntry[]];
  try {
    read = await Promise.all([
      deps.store.get(deps.keys.answerAccess(ids.sessionId, ids.messageId)),
      isHeldBy(deps, ids.sessionId, ids.messageId),
      deps.store.range(deps.keys.stream(ids.sessionId, ids.messageId), lastEventId, REPLAY_PAGE),
    ]);
  } catch {
    return null;
  }
  const [value, live, firstPage] = read;
  if (value === null || !live) return null;
  const known = JSON.parse(value) as AnswerAccess;
  if (!mayReach(caller, known, access)) return null;
  return { id: ids.messageId, sessionId: ids.sessionId, requestId: known.requestId, status: "streaming", firstPage };
}
