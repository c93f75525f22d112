/** The raw limit: the same events through plain XADD → XREAD BLOCK on the same Redis (ioredis). */
import { Redis } from "ioredis";
import { now } from "./stats";

export interface RawReader {
  stop(): void;
}

/** Follows `key` with XREAD BLOCK from `after` (default: new entries only) on its own connection. */
export function rawFollow(redis: Redis, key: string, onEntry: (id: string, data: unknown, at: number) => void, after = "$"): RawReader {
  let stopped = false;
  let cursor = after;
  void (async () => {
    while (!stopped) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- ioredis types XREAD's reply loosely
      const reply = (await redis.xread("COUNT", 500, "BLOCK", 0, "STREAMS", key, cursor).catch((e: Error) => {
        if (!stopped) console.error("[bench] raw xread:", e.message);
        return null;
      })) as Array<[string, Array<[string, string[]]>]> | null;
      const at = now();
      for (const [, items] of reply ?? []) {
        for (const [id, fields] of items) {
          cursor = id;
          onEntry(id, JSON.parse(fields[fields.indexOf("data") + 1]!), at);
        }
      }
    }
  })();
  return {
    stop() {
      stopped = true;
      // Aborts the pending XREAD BLOCK.
      redis.disconnect();
    },
  };
}

export async function openRedis(url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, { connectionName: name, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  return redis;
}
