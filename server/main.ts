/**
 * Parley's server process: `npm run serve -- -H <host> -p <port>` (the production build) or
 * `npm run dev` (`--dev`: Next compiles pages on demand). It creates the App first (migrations,
 * bootstrap, the sign-in link on a first start), then serves the APIs itself on the fast path
 * (server/http) and hands every page to Next's request handler, in this one process.
 */
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    hostname: { type: "string", short: "H" },
    port: { type: "string", short: "p" },
    dev: { type: "boolean", default: false },
  },
});
const dev = args.dev ?? false;
const port = Number(args.port ?? process.env.PORT ?? 3000);
// React and Next choose their build by NODE_ENV when first loaded, and the sign-in link names the
// port: both are settled before the modules that read them load.
Object.assign(process.env, { NODE_ENV: process.env.NODE_ENV || (dev ? "development" : "production"), PORT: String(port) });

const [{ default: next }, { getApp }, { createHttpServer }, { apiRoutes }] = await Promise.all([
  import("next"),
  import("./app"),
  import("./http/server"),
  import("./http/routes"),
]);

// Next's own bundles (server components) reach this same App through getApp's process-wide slot.
const app = await getApp().catch((error: Error) => {
  console.error(`[parley] ${error.message}`);
  process.exit(1);
});
const pages = next({ dev, dir: process.cwd(), hostname: args.hostname ?? "localhost", port });
await pages.prepare();

const server = createHttpServer({ routes: apiRoutes(app), pages: pages.getRequestHandler() });
// Dev mode's hot reload talks over a WebSocket upgrade.
server.on("upgrade", pages.getUpgradeHandler());
server.listen(port, args.hostname, () => console.log(`[parley] serving on http://${args.hostname ?? "localhost"}:${port}${dev ? " (dev)" : ""}`));

/**
 * Stops listening, ends open connections (followers of an answer resume on another instance),
 * closes Next and the App, and exits 0. The drain of running answers (PARLEY_DRAIN_SECONDS) goes
 * here, before the connections are ended.
 */
let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections();
  try {
    await pages.close();
    await app.close();
  } catch (error) {
    console.error(`[parley] shutdown: ${(error as Error).message}`);
  }
  process.exit(0);
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown());
