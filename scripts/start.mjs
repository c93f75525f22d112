#!/usr/bin/env node
// `npm start`: build the production app when the sources are newer than the last build, then serve
// it. Data lives in PGlite under ./.data/pglite unless DATABASE_URL is set.
import { spawnSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
const sources = ["app", "server", "db", "client", "public", "docs", "package.json", "next.config.mjs", "instrumentation.ts"];

function newestMtime(entry) {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

const buildId = ".next/BUILD_ID";
const built = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
if (built < Math.max(...sources.map(newestMtime))) {
  console.log("Building Parley (once per change of the sources)…");
  const result = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
const server = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", ...process.argv.slice(2)], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));
