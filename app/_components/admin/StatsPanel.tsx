"use client";
import { useFormatter, useLocale, useTranslations } from "next-intl";
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../errors";
import { useTRPC } from "../trpc";

export function StatsPanel({ onOpenSessions }: { onOpenSessions: () => void }) {
  const t = useTranslations("admin.stats");
  const format = useFormatter();
  const trpc = useTRPC();
  const stats = useQuery({ ...trpc.admin.stats.queryOptions(), refetchInterval: 10_000 });

  if (stats.isPending) return <p className="panel-empty">{t("loading")}</p>;
  if (stats.isError)
    return (
      <p className="panel-empty" role="alert">
        {errorMessage(stats.error)}
      </p>
    );
  const s = stats.data;
  const cards = [
    { id: "sessions", label: t("sessions"), value: s.sessions },
    { id: "messages", label: t("messages"), value: s.messages },
    { id: "users", label: t("users"), value: s.users },
    { id: "streaming-now", label: t("streaming"), value: s.activeStreams, live: s.activeStreams > 0 },
    { id: "rated-up", label: `${t("feedback")}: ${t("ratedUp")}`, value: s.feedback.up, hint: t("feedbackLast30") },
    { id: "rated-down", label: `${t("feedback")}: ${t("ratedDown")}`, value: s.feedback.down, hint: t("feedbackLast30") },
  ];
  return (
    <div className="admin-overview">
      <section className="stat-grid" aria-label={t("atAGlance")}>
        {cards.map((c) => (
          <div key={c.id} className="stat-card">
            <span className="stat-label">
              {c.live && <span className="live-dot" aria-hidden="true" />}
              {c.label}
            </span>
            <span className="stat-value" data-testid={`stat-${c.id}`}>
              {format.number(c.value)}
            </span>
            {"hint" in c && <span className="muted stat-hint">{c.hint}</span>}
          </div>
        ))}
      </section>
      <section className="card chart-card" aria-labelledby="chart-title">
        <header className="card-header">
          <h2 id="chart-title">{t("perDay")}</h2>
          <span className="muted">{t("last30")}</span>
          <button type="button" className="link-btn" onClick={onOpenSessions}>
            {t("seeAll")}
          </button>
        </header>
        <BarChart data={s.sessionsPerDay} />
      </section>
    </div>
  );
}

const dayFormat = (locale: string) => {
  const f = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric", timeZone: "UTC" });
  return (day: string) => f.format(new Date(`${day}T00:00:00Z`));
};

/** Plain CSS bars (no chart library): crisp at any width, with the numbers in each bar's label. */
function BarChart({ data }: { data: { day: string; count: number }[] }) {
  const t = useTranslations("admin.stats");
  const dayLabel = dayFormat(useLocale());
  const max = Math.max(1, ...data.map((d) => d.count));
  const niceMax = max <= 4 ? max : Math.ceil(max / 4) * 4;
  const total = data.reduce((n, d) => n + d.count, 0);
  const ticks = [niceMax, Math.round(niceMax / 2), 0].filter((t, i, a) => a.indexOf(t) === i);
  return (
    <figure className="chart" aria-label={t("chartLabel", { total })}>
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
                aria-label={t("bar", { day: dayLabel(d.day), count: d.count })}
              />
            </li>
          ))}
        </ol>
      </div>
      {data.length > 0 && (
        <div className="chart-xaxis" aria-hidden="true">
          <span>{dayLabel(data[0]!.day)}</span>
          <span>{dayLabel(data[Math.floor(data.length / 2)]!.day)}</span>
          <span>{dayLabel(data[data.length - 1]!.day)}</span>
        </div>
      )}
      <figcaption className="muted">
        {t("caption", { total })}
      </figcaption>
    </figure>
  );
}
