import { and, count, eq, gte, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../../db";
import { messages, sessions, users } from "../../db/schema";

const DAYS = 30;

/**
 * Tenant-wide numbers for the dashboard; days are UTC calendar days, zero-filled. Temporary chats
 * (and sessions being deleted) count nowhere.
 */
export async function tenantStats(db: Db, tenantId: string) {
  const counted = and(eq(sessions.tenantId, tenantId), isNull(sessions.temporaryLifetime), isNull(sessions.deletingAt));
  const since = new Date();
  since.setUTCHours(0, 0, 0, 0);
  since.setUTCDate(since.getUTCDate() - (DAYS - 1));
  const day = sql<string>`to_char(${sessions.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
  const ratedSince = new Date(Date.now() - DAYS * 86_400_000);
  // count() without `group by` always gives one row.
  const [[s], [m], [u], [a], perDay, ratings] = await Promise.all([
    db.select({ n: count() }).from(sessions).where(counted),
    db.select({ n: count() }).from(messages).innerJoin(sessions, eq(sessions.id, messages.sessionId)).where(counted),
    db.select({ n: count() }).from(users).where(eq(users.tenantId, tenantId)),
    db
      .select({ n: count() })
      .from(messages)
      .innerJoin(sessions, eq(sessions.id, messages.sessionId))
      .where(and(counted, eq(messages.status, "streaming"))),
    db
      .select({ day, n: count() })
      .from(sessions)
      .where(and(counted, gte(sessions.createdAt, since)))
      .groupBy(day),
    db
      .select({ rating: messages.rating, n: count() })
      .from(messages)
      .innerJoin(sessions, eq(sessions.id, messages.sessionId))
      .where(and(counted, eq(messages.tenantId, tenantId), isNotNull(messages.rating), gte(messages.ratedAt, ratedSince)))
      .groupBy(messages.rating),
  ]);
  const rated = (rating: "up" | "down") => Number(ratings.find((r) => r.rating === rating)?.n ?? 0);
  const byDay = new Map(perDay.map((r) => [r.day, Number(r.n)]));
  const sessionsPerDay = Array.from({ length: DAYS }, (_, i) => {
    const d = new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10);
    return { day: d, count: byDay.get(d) ?? 0 };
  });
  return {
    sessions: Number(s!.n),
    messages: Number(m!.n),
    users: Number(u!.n),
    activeStreams: Number(a!.n),
    sessionsPerDay,
    // Answers rated in the last 30 days (by when they were rated), as they are rated now.
    feedback: { up: rated("up"), down: rated("down") },
  };
}
