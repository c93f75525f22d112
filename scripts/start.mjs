#!/usr/bin/env node
// `npm start`: build the production app (Next's pages and the server bundle) when the sources are
// newer than the last build, then serve it in this process (`npm run serve` does the same without
// building). Data lives in PGlite under ./.data/pglite unless DATABASE_URL is set.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

process.env.NEXT_TELEMETRY_DISABLED = "1";
const sources = ["app", "server", "db", "client", "public", "docs", "package.json", "next.config.mjs"];
/** What `npm run build` writes last of each part. */
const outputs = [".next/BUILD_ID", "build/server.mjs"];

function newestMtime(entry) {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

const built = Math.min(...outputs.map((file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0)));
if (built < Math.max(...sources.map(newestMtime))) {
  console.log("Building Parley (once per change of the sources)…");
  const result = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
// The server reads its -H/-p arguments from this process's argv.
await import(path.resolve("build/server.mjs"));
