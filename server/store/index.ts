import { createMemoryStore } from "./memory";
import { createRedisStore } from "./redis";
import type { Store } from "./types";

export type { Store, StreamEntry } from "./types";
export { createKeys, type Keys } from "./keys";

/** Redis when a URL is configured (any number of instances), else in-process memory (one instance only). */
export async function createStore(options: { redisUrl?: string }): Promise<Store> {
  return options.redisUrl ? createRedisStore(options.redisUrl) : createMemoryStore();
}
