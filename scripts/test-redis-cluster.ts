import type { TestProject } from "vitest/node";
import { startRedisCluster } from "./redisCluster";

/** A real 3-master Redis Cluster for this run, stopped and removed afterwards. */
export default async function setup(project: TestProject) {
  const cluster = await startRedisCluster();
  project.provide("redisClusterNodes", cluster.urls);
  return () => cluster.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Set only in the `cluster` project. */
    redisClusterNodes: string[];
  }
}
