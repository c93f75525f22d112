export type DateGroup = "Pinned" | "Today" | "Yesterday" | "Previous 7 days" | "Older";
export const DATE_GROUPS: DateGroup[] = ["Pinned", "Today", "Yesterday", "Previous 7 days", "Older"];

/**
 * A session's section in the sidebar, by the calendar days of the browser's zone. Day starts are
 * taken from the calendar (the day before, seven days before), not as multiples of 24 hours: a day
 * the clocks change has 23 or 25 hours.
 */
export function dateGroup(s: { pinned: boolean; updatedAt: Date }, now = new Date()): DateGroup {
  if (s.pinned) return "Pinned";
  const daysAgo = (n: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate() - n).getTime();
  const t = new Date(s.updatedAt).getTime();
  if (t >= daysAgo(0)) return "Today";
  if (t >= daysAgo(1)) return "Yesterday";
  if (t >= daysAgo(7)) return "Previous 7 days";
  return "Older";
}

/** The sidebar's sections: search results as one, otherwise by date group in `DATE_GROUPS` order. */
export function groupSessions<S extends { pinned: boolean; updatedAt: Date }>(sessions: S[], search: string, now = new Date()): { name: string; items: S[] }[] {
  if (search) return [{ name: `Results`, items: sessions }];
  const by = new Map<DateGroup, S[]>();
  for (const s of sessions) {
    const g = dateGroup(s, now);
    by.set(g, [...(by.get(g) ?? []), s]);
  }
  return DATE_GROUPS.filter((g) => by.has(g)).map((g) => ({ name: g, items: by.get(g)! }));
}
