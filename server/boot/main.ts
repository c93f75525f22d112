/**
 * Parley's server process: `npm run serve -- -H <host> -p <port>` (the production build) or
 * `npm run dev` (`--dev`: Next compiles pages on demand). It listens at once and serves the APIs
 * itself on the fast path (server/http), handing every page to Next's request handler, in this one
 * process. The App comes up once Postgres and Redis answer (server/boot/host.ts: until then health is
 * 503 and calls SERVICE_UNAVAILABLE). SIGTERM or SIGINT drains it, then it exits 0.
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

const [{ default: next }, { parseEnv }, { rootLogger }, { startHost }, { createHttpServer }, { apiRoutes }, { withSharePageGuard }] = await Promise.all([
  import("next"),
  import("../platform/env"),
  import("../platform/log"),
  import("./host"),
  import("../http/server"),
  import("../http/routes"),
  import("../http/share"),
]);

let env: ReturnType<typeof parseEnv>;
try {
  env = parseEnv();
} catch (error) {
  // A bad configuration is for a person to fix: plain text, and no point in retrying.
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
const log = rootLogger();
const host = startHost(env, { log });
const pages = next({ dev, dir: process.cwd(), hostname: args.hostname ?? "localhost", port });
await pages.prepare();

const server = createHttpServer({ routes: apiRoutes(host), pages: withSharePageGuard(host, pages.getRequestHandler()), host, dev });
// Dev mode's hot reload talks over a WebSocket upgrade.
const upgrade = pages.getUpgradeHandler();
server.on("upgrade", (req, socket, head) => void upgrade(req, socket, head));
server.listen(port, args.hostname, () => log.info({ url: `http://${args.hostname ?? "localhost"}:${port}`, dev }, "listening"));

/** How long answer subscribers here get to receive their answers' last events before connections close. */
const STREAM_FLUSH_MS = 500;

/**
 * Drains (new calls 503, running answers finish or are interrupted, see host.drain), ends the
 * open connections (followers of other instances' answers resume elsewhere), closes Next and the
 * stores, and exits 0.
 */
let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  const started = Date.now();
  log.info({ signal }, "shutting down");
  try {
    await host.drain();
    await new Promise((r) => setTimeout(r, STREAM_FLUSH_MS));
    server.close();
    server.closeAllConnections();
    await pages.close();
    await host.close();
  } catch (error) {
    log.error({ err: error }, "shutdown failed");
  }
  log.info({ ms: Date.now() - started }, "stopped");
  process.exit(0);
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => void shutdown(signal));
