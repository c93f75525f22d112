import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dateGroup, groupSessions } from "./dateGroups";

/** Instants are written with their UTC offset, so they mean the same whatever the zone; the zone only decides where days begin. */
const at = (iso: string) => new Date(iso);
const group = (updatedAt: string, now: string) => dateGroup({ pinned: false, updatedAt: at(updatedAt) }, at(now));

function inZone(tz: string) {
  const previous = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = tz;
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  });
}

describe("date groups in America/New_York (clocks change 2025-03-09 and 2025-11-02)", () => {
  inZone("America/New_York");

  it("runs in the zone it names", () => {
    expect(at("2025-01-15T12:00:00Z").getTimezoneOffset()).toBe(300);
    expect(at("2025-07-15T12:00:00Z").getTimezoneOffset()).toBe(240);
  });

  it("the day after spring forward: yesterday had 23 hours, the evening before it is not yesterday", () => {
    const now = "2025-03-10T09:00:00-04:00";
    expect(group("2025-03-10T00:00:00-04:00", now)).toBe("Today");
    expect(group("2025-03-09T23:59:00-04:00", now)).toBe("Yesterday");
    expect(group("2025-03-09T00:00:00-05:00", now)).toBe("Yesterday");
    expect(group("2025-03-08T23:30:00-05:00", now)).toBe("Previous 7 days");
  });

  it("the day after fall back: yesterday had 25 hours, its first hour is still yesterday", () => {
    const now = "2025-11-03T09:00:00-05:00";
    expect(group("2025-11-03T00:00:00-05:00", now)).toBe("Today");
    expect(group("2025-11-02T00:30:00-04:00", now)).toBe("Yesterday");
    expect(group("2025-11-02T01:30:00-05:00", now)).toBe("Yesterday");
    expect(group("2025-11-01T23:59:00-04:00", now)).toBe("Previous 7 days");
  });

  it("on the day the clocks change, today begins at its midnight", () => {
    const now = "2025-03-09T12:00:00-04:00";
    expect(group("2025-03-09T00:00:00-05:00", now)).toBe("Today");
    expect(group("2025-03-08T23:59:00-05:00", now)).toBe("Yesterday");
    expect(group("2025-03-08T00:00:00-05:00", now)).toBe("Yesterday");
  });

  it("the previous 7 days span a change as seven calendar days", () => {
    const now = "2025-03-12T09:00:00-04:00";
    expect(group("2025-03-05T00:00:00-05:00", now)).toBe("Previous 7 days");
    expect(group("2025-03-04T23:30:00-05:00", now)).toBe("Older");
    const afterFallBack = "2025-11-06T09:00:00-05:00";
    expect(group("2025-10-30T00:30:00-04:00", afterFallBack)).toBe("Previous 7 days");
    expect(group("2025-10-29T23:59:00-04:00", afterFallBack)).toBe("Older");
  });
});

describe("date groups in Europe/Berlin (clocks change 2025-03-30 and 2025-10-26)", () => {
  inZone("Europe/Berlin");

  it("runs in the zone it names", () => {
    expect(at("2025-01-15T12:00:00Z").getTimezoneOffset()).toBe(-60);
    expect(at("2025-07-15T12:00:00Z").getTimezoneOffset()).toBe(-120);
  });

  it("the day after spring forward", () => {
    const now = "2025-03-31T09:00:00+02:00";
    expect(group("2025-03-30T00:00:00+01:00", now)).toBe("Yesterday");
    expect(group("2025-03-29T23:30:00+01:00", now)).toBe("Previous 7 days");
  });

  it("the day after fall back", () => {
    const now = "2025-10-27T09:00:00+01:00";
    expect(group("2025-10-26T00:30:00+02:00", now)).toBe("Yesterday");
    expect(group("2025-10-25T23:59:00+02:00", now)).toBe("Previous 7 days");
  });

  it("the previous 7 days, seven calendar days back over a change", () => {
    const now = "2025-04-02T09:00:00+02:00";
    expect(group("2025-03-26T00:00:00+01:00", now)).toBe("Previous 7 days");
    expect(group("2025-03-25T23:30:00+01:00", now)).toBe("Older");
  });
});

describe("grouping the sidebar", () => {
  inZone("Europe/Berlin");

  it("puts pinned chats first and keeps the groups in order, each in list order", () => {
    const now = at("2025-10-27T09:00:00+01:00");
    const s = (id: string, updatedAt: string, pinned = false) => ({ id, pinned, updatedAt: at(updatedAt) });
    const sessions = [
      s("old-pinned", "2024-01-01T12:00:00+01:00", true),
      s("today", "2025-10-27T08:00:00+01:00"),
      s("yesterday", "2025-10-26T00:30:00+02:00"),
      s("week", "2025-10-25T10:00:00+02:00"),
      s("older", "2025-10-19T10:00:00+02:00"),
      s("today-2", "2025-10-27T00:01:00+01:00"),
    ];
    expect(groupSessions(sessions, "", now).map((g) => [g.name, g.items.map((x) => x.id)])).toEqual([
      ["Pinned", ["old-pinned"]],
      ["Today", ["today", "today-2"]],
      ["Yesterday", ["yesterday"]],
      ["Previous 7 days", ["week"]],
      ["Older", ["older"]],
    ]);
    expect(groupSessions(sessions.slice(1, 2), "", now).map((g) => g.name)).toEqual(["Today"]);
  });

  it("shows search results as one group, in the server's order", () => {
    const sessions = [
      { id: "a", pinned: false, updatedAt: at("2020-01-01T00:00:00Z") },
      { id: "b", pinned: true, updatedAt: at("2025-01-01T00:00:00Z") },
    ];
    expect(groupSessions(sessions, "report")).toEqual([{ name: "Results", items: sessions }]);
  });
});
