import { defineConfig } from "vitest/config";

/**
 * Integration suites (`*.db.test.ts`) run twice: on embedded PGlite with the in-process store, and
 * on the real Postgres and Redis at 127.0.0.1 (a fresh database and key prefix per run).
 * Everything else runs once.
 */
const integration = "**/*.db.test.ts";
// Request lines at `info` would drown the test output; suites that check logs capture their own.
process.env.LOG_LEVEL ??= "warn";
/** Suites that start real server instances from the production build (the SDK's runs its package against one). */
const instances = ["**/instances.test.ts", "server/boot/boot.test.ts", "client/sdk.test.ts"];
/** Three instances behind nginx, and the soak with instances dying (production build, nginx, one Redis and a cluster). */
const loadBalancer = "server/boot/loadBalancer.test.ts";
/** The shared store suite runs again on a real 3-master Redis Cluster, with the cluster's own cases (the retention sweep's lock among them). */
const clusterOnly = ["server/platform/store/cluster.test.ts", "server/sessions/retention.cluster.test.ts"];
export default defineConfig({
  // tsconfig keeps JSX for Next to compile; the components a test renders are compiled here.
  oxc: { jsx: { runtime: "automatic" } },
  resolve: {
    alias: [
      { find: "@", replacement: new URL(".", import.meta.url).pathname },
      // The SDK's package.json points at its build (dist/); tests use its sources.
      { find: /^(\.\.\/)+client$/, replacement: new URL("./client/index.ts", import.meta.url).pathname },
    ],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["{server,client,db,common,app}/**/*.test.ts"], exclude: [integration, ...instances, loadBalancer, ...clusterOnly, "node_modules/**"] },
      },
      { extends: true, test: { name: "pglite", include: [integration], env: { PARLEY_TEST_BACKEND: "embedded" } } },
      {
        extends: true,
        test: {
          name: "postgres",
          include: [integration],
          env: { PARLEY_TEST_BACKEND: "servers" },
          globalSetup: ["./scripts/test-database.ts"],
        },
      },
      {
        extends: true,
        test: { name: "cluster", include: ["server/platform/store/store.test.ts", ...clusterOnly], globalSetup: ["./scripts/test-redis-cluster.ts"] },
      },
      { extends: true, test: { name: "instances", include: instances, globalSetup: ["./scripts/test-database.ts"], testTimeout: 60_000 } },
      { extends: true, test: { name: "loadbalancer", include: [loadBalancer], testTimeout: 60_000 } },
    ],
  },
});
