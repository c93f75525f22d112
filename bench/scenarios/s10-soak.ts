/**
 * Scenario 9 — soak through a load balancer while instances die: three Parley instances behind
 * nginx (deploy/nginx.conf), clients asking questions through it with the SDK's `ask`, one instance
 * SIGKILLed at a quarter of the answers and another restarted with SIGTERM at half. Once on the
 * bench's Redis server, once on a 3-master Redis Cluster started for it, side by side.
 * server/boot/loadBalancer.test.ts runs the same soak at CI size and asserts what this one reports.
 */
import { checkSoak, formatSoakFigures, runSoak, soakFigures, startFleet, type SoakResult } from "../../scripts/fleet";
import { startRedisCluster } from "../../scripts/redisCluster";
import type { Ctx } from "../lib/context";
import type { Row, ScenarioResult } from "../lib/report";
import { BENCH_LIMITS, bootstrapKey, cleanupRedisPrefix, createDatabase, newPrefix, onCleanup, REDIS_URL, startParley } from "../lib/servers";
import { summarize, type Summary } from "../lib/stats";

interface Run {
  soak: SoakResult;
  figures: ReturnType<typeof soakFigures>;
  problems: string[];
}

async function soakOn(ctx: Ctx, redis: { REDIS_URL: string } | { REDIS_CLUSTER_NODES: string }, prefix: string): Promise<Run> {
  const { soakSessions: sessions, soakQuestions: questionsPerSession } = ctx.sizes;
  const database = await createDatabase();
  const apiKey = bootstrapKey();
  const env = {
    DATABASE_URL: database.url,
    ...redis,
    PARLEY_REDIS_PREFIX: prefix,
    PARLEY_BOOTSTRAP_KEY: apiKey,
    // Answers that take a while, so that the kills find some under way.
    PARLEY_OFFLINE_TOKEN_DELAY_MS: "25",
    ...BENCH_LIMITS,
    PARLEY_DRAIN_SECONDS: "5",
  };
  const fleet = await startFleet(3, (port) => startParley({ kind: "servers", env, port }));
  try {
    const total = sessions * questionsPerSession;
    const soak = await runSoak({
      url: fleet.nginx.url,
      apiKey,
      sessions,
      questionsPerSession,
      stopEvery: 10,
      disruptions: [
        { afterAnswers: Math.round(total / 4), what: "SIGKILL instance 1", run: async () => fleet.kill(0) },
        { afterAnswers: Math.round(total / 2), what: "SIGTERM + restart instance 2", run: () => fleet.restart(1) },
      ],
      log: (message) => ctx.log(message),
    });
    return { soak, figures: soakFigures(soak), problems: await checkSoak(fleet.nginx.url, apiKey, soak, questionsPerSession) };
  } finally {
    await fleet.stop();
  }
}

const samples = (run: Run, pick: (a: SoakResult["answers"][number]) => number | null) => summarize(run.soak.answers.flatMap((a) => pick(a) ?? []));
const single = (v: number): Summary => ({ n: 1, p50: v, p99: v, mean: v, min: v, max: v });

export async function run(ctx: Ctx): Promise<ScenarioResult> {
  const onRedisPrefix = newPrefix("soak");
  cleanupRedisPrefix(onRedisPrefix);
  ctx.log("s10: soak on one Redis");
  const one = await soakOn(ctx, { REDIS_URL }, onRedisPrefix);
  ctx.log(formatSoakFigures("s10 one Redis", one.figures));
  ctx.log("s10: soak on a 3-master Redis Cluster");
  const cluster = await startRedisCluster();
  onCleanup(() => cluster.stop());
  const many = await soakOn(ctx, { REDIS_CLUSTER_NODES: cluster.urls.join(",") }, newPrefix("soak"));
  ctx.log(formatSoakFigures("s10 cluster", many.figures));
  await cluster.stop();

  const ok = (r: Run) => r.problems.length === 0 && r.soak.failures.length === 0 && r.soak.answers.length === ctx.sizes.soakSessions * ctx.sizes.soakQuestions;
  const row = (metric: string, unit: string, a: Summary, b: Summary, target: string, met: boolean | null): Row => ({
    metric,
    unit,
    parley: a,
    baseline: b,
    ratio: a.p50 / b.p50,
    ratioKind: unit === "answers/s" ? "%" : "x",
    target,
    met,
  });
  const silence = (a: SoakResult["answers"][number]) => a.silenceBeforeErrorMs;
  const rows = [
    row("answers per second (whole soak)", "answers/s", single(one.figures.answersPerSecond), single(many.figures.answersPerSecond), "", null),
    row("send → first token", "ms", samples(one, (a) => a.firstTokenMs), samples(many, (a) => a.firstTokenMs), "", null),
    row("interrupted: silence before its error event", "ms", samples(one, silence), samples(many, silence), "< 30 s", [one, many].every((r) => r.figures.interruptedSilenceMaxMs < 30_000)),
    row("every answer final, subscriber text = stored, no lost turn", "count", single(one.soak.answers.length), single(many.soak.answers.length), "all", ok(one) && ok(many)),
  ];
  const lines = (label: string, r: Run) =>
    [
      `- ${formatSoakFigures(label, r.figures)}`,
      ...r.soak.disruptions.map((d) => `  - ${d.what} at ${(d.atMs / 1000).toFixed(1)} s, took ${(d.tookMs / 1000).toFixed(1)} s${d.error ? ` (failed: ${d.error})` : ""}`),
      ...(r.soak.retried.length ? [`  - retried: ${[...new Set(r.soak.retried)].slice(0, 5).join("; ")}`] : []),
      ...r.soak.failures.slice(0, 5).map((f) => `  - failure: ${f}`),
      ...r.problems.slice(0, 5).map((p) => `  - problem: ${p}`),
    ].join("\n");
  return {
    id: "s10",
    title: "9. Soak through nginx while instances die (one Redis beside a 3-master Redis Cluster)",
    method: `
Three Parley instances (each its own \`node\` process) behind nginx with deploy/nginx.conf (round robin, no sticky sessions).
${ctx.sizes.soakSessions} clients at once, each asking ${ctx.sizes.soakQuestions} questions in turn with the SDK's \`ask\` through nginx
(${ctx.sizes.soakSessions * ctx.sizes.soakQuestions} answers; every 10th stopped by its client after three words; offline model, 25 ms a token; rate limits off).
After a quarter of the answers one instance is SIGKILLed; after half another gets SIGTERM and a new process on its port.
Then Postgres is checked against what each subscriber saw (scripts/fleet.ts \`checkSoak\`). Left column: the bench's Redis server;
right column: a 3-master Redis Cluster started for this scenario. Ratio: one Redis ÷ cluster.`,
    columns: { subject: "one Redis", baseline: "3-master cluster" },
    rows,
    appendix: [lines("one Redis", one), lines("3-master cluster", many)].join("\n"),
  };
}
