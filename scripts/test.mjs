#!/usr/bin/env node
// `npm test`: lint and type check first (seconds, so a finding fails fast), the production build
// (the multi-instance and browser tests run it), the unit and integration suites (PGlite and real
// Postgres/Redis), then the browser tests in Chromium. Stops at the first failure.
// `npm test -- vitest` runs one step.
import { spawnSync } from "node:child_process";

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
const steps = [
  ["lint", ["npm", "run", "lint"]],
  ["typecheck", ["npm", "run", "typecheck"]],
  ["build", ["npm", "run", "build"]],
  ["vitest", ["npx", "vitest", "run"]],
  ["e2e", ["npx", "playwright", "test"]],
];
const only = process.argv.slice(2);
for (const [name, [cmd, ...args]] of steps) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n▶ npm test: ${name}\n`);
  const result = spawnSync(cmd, args, { stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`\n✖ npm test: ${name} failed`);
    process.exit(result.status ?? 1);
  }
}
