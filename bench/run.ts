/**
 * `npm run bench` — Parley measured against the raw Redis and Postgres limits, in one run.
 * `npm run bench -- --quick` for the short mode (under two minutes). Options:
 *   --only s1,s3,…   run only these scenarios (s1…s12, knowledge; `--only knowledge` and `--only s12` need no build and start no server)
 *   --profile        start the Parley server with `--cpu-prof` (profiles in bench/profiles/)
 *   --rebuild        run `npm run build` even when a build exists
 *   --app-dir DIR    start Parley from another checkout's production build (default: this tree)
 * Writes bench/report.md and bench/report.json (untracked).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FULL, QUICK, type Ctx } from "./lib/context";
import { writeReport, type Report, type ScenarioResult } from "./lib/report";
import {
  BENCH_LIMITS,
  bootstrapKey,
  cleanupAll,
  cleanupRedisPrefix,
  createDatabase,
  ensureBuild,
  machineInfo,
  newPrefix,
  REDIS_URL,
  ROOT,
  setAppDir,
  startParley,
} from "./lib/servers";
import type { Summary } from "./lib/stats";
import { serversTarget } from "./lib/target";
import * as s1 from "./scenarios/s1-latency";
import * as s2 from "./scenarios/s2-resume";
import * as s3 from "./scenarios/s3-throughput";
import * as s4 from "./scenarios/s4-create";
import * as s5 from "./scenarios/s5-list";
import * as s6 from "./scenarios/s6-fanout";
import * as s7 from "./scenarios/s7-embedded";
import * as s8 from "./scenarios/s8-peer";
import * as s9 from "./scenarios/s9-capacity";
import * as s10 from "./scenarios/s10-soak";
import * as s11 from "./scenarios/s11-branches";
import * as s12 from "./scenarios/s12-retention";
import { profileCovers, profileTimeline, summariseProfile, type ProfileWindow } from "./lib/cpuprofile";
import { runKnowledgeEvaluation } from "./scenarios/knowledge";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const profile = args.includes("--profile");
const onlyArg = args.find((a) => a.startsWith("--only"));
const only = onlyArg ? (onlyArg.includes("=") ? onlyArg.split("=")[1] : args[args.indexOf(onlyArg) + 1])!.split(",") : null;
const appDirArg = args.find((a) => a.startsWith("--app-dir"));
if (appDirArg) setAppDir((appDirArg.includes("=") ? appDirArg.split("=")[1] : args[args.indexOf(appDirArg) + 1])!);
const wanted = (id: string) => !only || only.includes(id);

const BENCH_DIR = path.join(ROOT, "bench");
const PROFILE_DIR = path.join(BENCH_DIR, "profiles");
/** Stretches scenarios marked (s9's holds), summarised from whichever server profile covers them. */
const profileWindows: ProfileWindow[] = [];
const started = Date.now();
const log = (message: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);

process.on("SIGINT", () => {
  log("interrupted: cleaning up");
  void cleanupAll().finally(() => process.exit(130));
});

/** Scenarios that need the production build and running Parley servers; `knowledge` runs in this process alone. */
const SERVER_SCENARIOS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"];

type RunScenario = (id: string, fn: () => Promise<ScenarioResult | null>) => Promise<void>;

async function main() {
  const report: Report = {
    title: "Parley bench: Parley against the raw Redis and Postgres limits",
    mode: quick ? "quick" : "full",
    startedAt: new Date().toISOString(),
    machine: {},
    scenarios: [],
    notes: [],
  };
  const save = () => writeReport(report, BENCH_DIR);
  const runScenario: RunScenario = async (id, fn) => {
    if (!wanted(id)) return;
    log(`${id} …`);
    const t0 = Date.now();
    try {
      const result = await fn();
      if (result) {
        result.seconds = (Date.now() - t0) / 1000;
        report.scenarios.push(result);
        for (const r of result.rows) if (r.met === false) log(`  ${id}: target missed — ${r.metric}`);
      }
    } catch (error) {
      const e = error as Error;
      log(`${id} failed: ${e.stack ?? e.message}`);
      report.scenarios.push({ id, title: id, method: "", rows: [], error: e.stack ?? e.message, seconds: (Date.now() - t0) / 1000 });
    }
    log(`${id} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    save();
  };
  report.machine = await machineInfo();
  log(`mode ${report.mode}; ${report.machine.cores} cores, node ${report.machine.node}, postgres ${report.machine.postgres}, redis ${report.machine.redis}`);

  try {
    if (SERVER_SCENARIOS.some(wanted)) await runServerScenarios(report, runScenario);
    // In this process, on its own database and Redis prefix: no build, no server process.
    await runScenario("s12", () => s12.run({ quick, log }));
    await runScenario("knowledge", () => runKnowledgeEvaluation({ quick, log }));
    if (!report.scenarios.some((s) => s.id === "knowledge") && wanted("knowledge")) {
      report.notes.push("Knowledge evaluation hook (`bench/scenarios/knowledge.ts` → `runKnowledgeEvaluation`): `server/knowledge/evaluate.ts` is not there yet, so no table.");
    }
  } finally {
    await cleanupAll();
  }
  report.machine["load average at end"] = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  report.finishedAt = new Date().toISOString();
  report.notes.push(`Total run time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  if (profile && fs.existsSync(PROFILE_DIR)) {
    report.notes.push(`CPU profiles of the server processes in ${path.relative(ROOT, PROFILE_DIR)}/ (summaries below).`);
    for (const file of fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith(".cpuprofile"))) {
      const full = path.join(PROFILE_DIR, file);
      if (fs.statSync(full).mtimeMs < started) continue;
      report.scenarios.push({ id: `profile-${file}`, title: `CPU profile ${file}`, method: "Whole server process lifetime (start-up included).", rows: [], appendix: "```\n" + summariseProfile(full, 25) + "\n```" });
      for (const window of profileWindows.filter((w) => profileCovers(full, w))) {
        const appendix = "```\n" + (window.timeline ? profileTimeline(full, window) : summariseProfile(full, 30, undefined, window)) + "\n```";
        const method = window.timeline ? "The samples inside that stretch, in order: when the process was busy (and with what) or idle." : "Only the samples inside that stretch.";
        report.scenarios.push({ id: `profile-${file}-${window.label}`, title: `CPU profile ${file}: ${window.label}`, method, rows: [], appendix });
      }
    }
  }
  save();
  log(`report: bench/report.md, bench/report.json (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const missed = report.scenarios.flatMap((s) => s.rows.filter((r) => r.met === false).map((r) => `${s.id} ${r.metric}`));
  if (missed.length) log(`targets missed: ${missed.join("; ")}`);
}

/** Scenarios 1–10: against the production build, on a fresh database and Redis prefix. */
async function runServerScenarios(report: Report, runScenario: RunScenario) {
  ensureBuild(args.includes("--rebuild"));
  const db = await createDatabase();
  const prefix = newPrefix("bench");
  cleanupRedisPrefix(prefix);
  const apiKey = bootstrapKey();
  const nodeArgs = profile ? ["--cpu-prof", "--cpu-prof-dir", PROFILE_DIR] : [];
  if (profile) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  log(`database ${db.name}, redis prefix ${prefix}; starting Parley (Postgres + Redis)`);
  report.notes.push(
    "Server settings: limits off (`PARLEY_RATE_LIMIT_PER_MINUTE=0`, `PARLEY_SEND_LIMIT_PER_MINUTE=0`, `PARLEY_STREAMS_PER_KEY=1000000`: the bench is one key); `PARLEY_MAX_CONCURRENT_ANSWERS` at its default (16, FIFO queue behind it) except in scenario 9, which raises it to its largest N.",
  );
  const startServers = async (extraEnv: Record<string, string> = {}, extraNodeArgs: string[] = []) => {
    const instance = await startParley({
      kind: "servers",
      env: {
        DATABASE_URL: db.url,
        REDIS_URL,
        PARLEY_REDIS_PREFIX: prefix,
        PARLEY_BOOTSTRAP_KEY: apiKey,
        PARLEY_OFFLINE_TOKEN_DELAY_MS: "0",
        ...BENCH_LIMITS,
        ...extraEnv,
      },
      nodeArgs: [...nodeArgs, ...extraNodeArgs],
    });
    return serversTarget(instance, { apiKey, prefix, databaseUrl: db.url, redisUrl: REDIS_URL });
  };
  const target = await startServers();
  const instance = target.instance;
  const ctx: Ctx = {
    quick,
    sizes: quick ? QUICK : FULL,
    redisUrl: REDIS_URL,
    prefix,
    databaseUrl: db.url,
    target,
    figures: new Map<string, Summary>(),
    log,
    profileWindows,
    freshTarget: startServers,
  };

  try {
    await runScenario("s1", () => s1.run(ctx));
    await runScenario("s2", () => s2.run(ctx));
    await runScenario("s3", () => s3.run(ctx));
    await runScenario("s8", () => s8.run(ctx));
    await runScenario("s4", () => s4.run(ctx));
    await runScenario("s6", () => s6.run(ctx));
    await runScenario("s5", () => s5.run(ctx));
    await runScenario("s11", () => s11.run(ctx));
    await runScenario("s9", () => s9.run(ctx));
    await target.close();
    await instance.stop();
    await runScenario("s7", () => s7.run(ctx, nodeArgs));
    await runScenario("s10", () => s10.run(ctx));
  } finally {
    await instance.stop();
  }
}

main().catch(async (error) => {
  console.error(error);
  await cleanupAll();
  process.exit(1);
});
