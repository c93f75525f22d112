import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { BOOTSTRAP_KEY, E2E_PORT } from "./e2e/constants";
import { SERVER_ENTRY, SERVER_NODE_FLAGS } from "./scripts/localServers";

/**
 * Browser tests against the production build (`npm run build` first; `npm test` does) on the
 * embedded defaults: PGlite in a fresh data directory per run, the in-process store, the offline model.
 */

// One stamp per run, shared with the workers (they inherit the runner's environment).
process.env.PARLEY_E2E_STAMP ??= String(Date.now());
const dataDir = path.join(".data", `e2e-${process.env.PARLEY_E2E_STAMP}`);

// Old runs' databases are of no further use: remove those older than an hour (runner process only).
if (!process.env.TEST_WORKER_INDEX && existsSync(".data")) {
  for (const name of readdirSync(".data")) {
    const dir = path.join(".data", name);
    if (name.startsWith("e2e-") && dir !== dataDir && Date.now() - statSync(dir).mtimeMs > 3_600_000) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: `http://localhost:${E2E_PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    viewport: { width: 1280, height: 800 },
    // The app follows the browser's language: the suites run in English unless one asks otherwise.
    locale: "en-US",
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        viewport: { width: 1280, height: 800 },
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: {
    // `env -u` really unsets them (Playwright merges `env` over the runner's environment).
    command: `env -u DATABASE_URL -u REDIS_URL node ${SERVER_NODE_FLAGS.join(" ")} ${SERVER_ENTRY} -p ${E2E_PORT}`,
    url: `http://localhost:${E2E_PORT}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PARLEY_DATA_DIR: dataDir,
      PARLEY_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      // An answer of the offline model lasts ~6 s at this pace: long enough that a reload under load
      // (e2e runs after the whole vitest suite) still lands mid-answer. At 40 ms the "reloading
      // mid-answer" test found the answer already finished in 3 of 6 runs on a quiet machine.
      PARLEY_OFFLINE_TOKEN_DELAY_MS: "70",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(E2E_PORT),
      DATABASE_URL: "",
      REDIS_URL: "",
      OPENAI_BASE_URL: "",
      OPENAI_API_KEY: "",
      PARLEY_CHAT_MODEL: "",
    },
  },
});
