import { createMemoryStore } from "./memory";
import { createRedisStore } from "./redis";
import type { Store } from "./types";

export type { Store, StreamEntry } from "./types";
export { createKeys, type Keys } from "./keys";

/**
 * Redis when a server URL or a Cluster's node URLs are configured (any number of instances), else
 * in-process memory (one instance only).
 */
export async function createStore(options: { redisUrl?: string; redisClusterNodes?: string[] }): Promise<Store> {
  if (options.redisClusterNodes?.length) return createRedisStore({ clusterNodes: options.redisClusterNodes });
  return options.redisUrl ? createRedisStore(options.redisUrl) : createMemoryStore();
}
