"use client";
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";

export function StatsPanel({ onOpenSessions }: { onOpenSessions: () => void }) {
  const trpc = useTRPC();
  const stats = useQuery({ ...trpc.admin.stats.queryOptions(), refetchInterval: 10_000 });

  if (stats.isPending) return <p className="panel-empty">Loading numbers…</p>;
  if (stats.isError)
    return (
      <p className="panel-empty" role="alert">
        {errorMessage(stats.error)}
      </p>
    );
  const s = stats.data;
  const cards = [
    { label: "Sessions", value: s.sessions },
    { label: "Messages", value: s.messages },
    { label: "Users", value: s.users },
    { label: "Streaming now", value: s.activeStreams, live: s.activeStreams > 0 },
  ];
  return (
    <div className="admin-overview">
      <section className="stat-grid" aria-label="Numbers at a glance">
        {cards.map((c) => (
          <div key={c.label} className="stat-card">
            <span className="stat-label">
              {c.live && <span className="live-dot" aria-hidden="true" />}
              {c.label}
            </span>
            <span className="stat-value" data-testid={`stat-${c.label.toLowerCase().replace(/\s+/g, "-")}`}>
              {c.value.toLocaleString()}
            </span>
          </div>
        ))}
      </section>
      <section className="card chart-card" aria-labelledby="chart-title">
        <header className="card-header">
          <h2 id="chart-title">Sessions per day</h2>
          <span className="muted">Last 30 days (UTC)</span>
          <button type="button" className="link-btn" onClick={onOpenSessions}>
            See all sessions
          </button>
        </header>
        <BarChart data={s.sessionsPerDay} />
      </section>
    </div>
  );
}

const dayLabel = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

/** Plain CSS bars (no chart library): crisp at any width, with the numbers in each bar's label. */
function BarChart({ data }: { data: { day: string; count: number }[] }) {
  const max = Math.max(1, ...data.map((d) => d.count));
  const niceMax = max <= 4 ? max : Math.ceil(max / 4) * 4;
  const total = data.reduce((n, d) => n + d.count, 0);
  const ticks = [niceMax, Math.round(niceMax / 2), 0].filter((t, i, a) => a.indexOf(t) === i);
  return (
    <figure className="chart" aria-label={`Sessions created per day over the last 30 days: ${total} in total.`}>
      <div className="chart-plot">
        <div className="chart-yaxis" aria-hidden="true">
          {ticks.map((t) => (
            <span key={t}>{t}</span>
          ))}
        </div>
        <ol className="chart-bars">
          {data.map((d) => (
            <li key={d.day} className="chart-col" title={`${dayLabel(d.day)}: ${d.count}`}>
              <span
                className={`chart-bar ${d.count ? "" : "is-zero"}`}
                style={{ height: `${(d.count / niceMax) * 100}%` }}
                aria-label={`${dayLabel(d.day)}: ${d.count} ${d.count === 1 ? "session" : "sessions"}`}
              />
            </li>
          ))}
        </ol>
      </div>
      {data.length > 0 && (
        <div className="chart-xaxis" aria-hidden="true">
          <span>{dayLabel(data[0].day)}</span>
          <span>{dayLabel(data[Math.floor(data.length / 2)].day)}</span>
          <span>{dayLabel(data[data.length - 1].day)}</span>
        </div>
      )}
      <figcaption className="muted">
        {total.toLocaleString()} {total === 1 ? "session" : "sessions"} in the last 30 days
      </figcaption>
    </figure>
  );
}
