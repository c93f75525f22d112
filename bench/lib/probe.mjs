// Loaded into a Parley server process by the bench (`node --import bench/lib/probe.mjs …`) for the
// embedded variant only, where the answer-event store lives inside the server process. It gives
// the bench the same producer the Redis variant has (append events into an answer's stream with
// Parley's own store), plus lock writes and SQL on the embedded database. Each appended event's
// timestamp is taken here, in the server process, right before `store.append`, on the same clock
// as the bench (performance.timeOrigin + performance.now()). It is never loaded in production.
import http from "node:http";

const port = Number(process.env.BENCH_PROBE_PORT);
const now = () => performance.timeOrigin + performance.now();

async function theApp() {
  for (;;) {
    const pending = globalThis.__parleyApp;
    if (pending) return pending;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stamp(events, t) {
  return events.map((e) => (e.type === "answer" && typeof e.delta === "string" ? { ...e, delta: e.delta.replace("$T", t.toFixed(3)) } : e));
}

const handlers = {
  async append(app, { key, events, ttl }) {
    const t = now();
    const ids = await app.store.append(key, stamp(events, t), ttl ?? 3600);
    return { ids, t };
  },
  async set(app, { entries }) {
    for (const { key, value, ttl } of entries) await app.store.set(key, value, ttl);
    return { ok: true };
  },
  async sql(app, { query }) {
    const result = await app.db.execute(query);
    return { rows: Array.isArray(result) ? result : (result.rows ?? []) };
  },
};

if (port) {
  http
    .createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        try {
          const handler = handlers[req.url.slice(1)];
          if (!handler) throw new Error(`unknown probe command ${req.url}`);
          const out = await handler(await theApp(), JSON.parse(body || "{}"));
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
        } catch (error) {
          res.writeHead(500, { "content-type": "text/plain" }).end(String(error?.stack ?? error));
        }
      });
    })
    .listen(port, "127.0.0.1");
}
