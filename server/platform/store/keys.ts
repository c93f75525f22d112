/**
 * Every Redis key Parley uses. The session id sits in a Cluster hash tag so all keys of one session
 * land on one slot (multi-key operations and pattern deletes stay on one node).
 */
export function createKeys(prefix: string) {
  return {
    prefix,
    stream: (sessionId: string, messageId: string) => `${prefix}stream:{${sessionId}}:${messageId}`,
    sessionStreams: (sessionId: string) => `${prefix}stream:{${sessionId}}:*`,
    /** Who may follow an answer, while its stream lives: a live answer is resumed without Postgres (chat/answerAccess.ts). */
    answerAccess: (sessionId: string, messageId: string) => `${prefix}access:{${sessionId}}:${messageId}`,
    context: (sessionId: string) => `${prefix}context:{${sessionId}}`,
    /** One answer at a time per session; doubles as the running answer's lease. */
    answerLock: (sessionId: string) => `${prefix}lock:{${sessionId}}`,
    /** requestId → the turn it started, for idempotent sends. */
    request: (sessionId: string, requestId: string) => `${prefix}request:{${sessionId}}:${requestId}`,
    /** Signals every instance acts on: stop answers, forget revoked keys. */
    signalChannel: () => `${prefix}signals`,
    /** Held by the one instance running the retention sweep. */
    retentionLock: () => `${prefix}retention:lock`,
  };
}
export type Keys = ReturnType<typeof createKeys>;
