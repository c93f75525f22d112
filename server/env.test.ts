import { describe, expect, it } from "vitest";
import { parseEnv } from "./env";

describe("REDIS_CLUSTER_NODES", () => {
  it("takes a comma-separated list of redis:// node URLs", () => {
    expect(parseEnv({ REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000, rediss://u:p@10.0.0.2:7001," }).REDIS_CLUSTER_NODES).toEqual([
      "redis://10.0.0.1:7000",
      "rediss://u:p@10.0.0.2:7001",
    ]);
    expect(parseEnv({ REDIS_CLUSTER_NODES: "" }).REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it("refuses a list beside REDIS_URL, and nodes that are not host:port Redis URLs", () => {
    const refused = (env: Record<string, string>) => {
      try {
        parseEnv(env);
      } catch (error) {
        return (error as Error).message.split("\n").slice(1).join("\n");
      }
      throw new Error("accepted");
    };
    expect(refused({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_CLUSTER_NODES: "redis://127.0.0.1:7000" })).toBe(
      "  REDIS_CLUSTER_NODES: set either REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both",
    );
    expect(refused({ REDIS_CLUSTER_NODES: "http://127.0.0.1:7000" })).toBe("  REDIS_CLUSTER_NODES.0: each node must be a redis:// or rediss:// URL");
    expect(refused({ REDIS_CLUSTER_NODES: "redis://127.0.0.1:7000,redis://127.0.0.1" })).toBe("  REDIS_CLUSTER_NODES.1: each node needs its port (redis://host:port)");
    expect(refused({ REDIS_CLUSTER_NODES: "redis://127.0.0.1:7000/3" })).toBe("  REDIS_CLUSTER_NODES.0: a Redis Cluster has only database 0");
  });
});
