#!/usr/bin/env node
// `npm run sdk:pack`: builds `@parley/sdk` from client/ (ESM + CommonJS, one bundled .d.ts per
// format) into dist/sdk/, gives it the root package's version, and writes its `npm pack` tarball
// into dist/. Prints the tarball's path last.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build } from "tsup";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "dist");
const staging = path.join(out, "sdk");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "client/package.json"), "utf8"));
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

fs.rmSync(staging, { recursive: true, force: true });
await build({
  entry: { index: path.join(root, "client/index.ts") },
  outDir: path.join(staging, "dist"),
  format: ["esm", "cjs"],
  target: "node20",
  platform: "node",
  tsconfig: path.join(root, "tsconfig.json"),
  // Every runtime dependency stays a dependency; the server is reached by types only.
  external: Object.keys(manifest.dependencies),
  dts: {
    // The router's type is inlined from the server's sources; `stripInternal` leaves out the
    // request context (see server/http/trpc/trpc.ts), so no database, Redis or Drizzle type is reachable.
    // Without the app's `@/` alias, the declarations name the server's own modules, which get inlined.
    compilerOptions: { stripInternal: true, incremental: false, paths: {} },
  },
  clean: true,
  silent: true,
});
fs.writeFileSync(path.join(staging, "package.json"), `${JSON.stringify({ ...manifest, version }, null, 2)}\n`);
fs.copyFileSync(path.join(root, "client/README.md"), path.join(staging, "README.md"));
const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: staging, encoding: "utf8" }));
console.log(path.join(out, packed[0].filename));
