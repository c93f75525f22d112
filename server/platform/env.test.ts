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

describe("limits and bounds", () => {
  it("default to the contract's values; 0 turns a rate limit off; bounds take fractions of a second", () => {
    expect(parseEnv({})).toMatchObject({
      PARLEY_RATE_LIMIT_PER_MINUTE: 600,
      PARLEY_SEND_LIMIT_PER_MINUTE: 30,
      PARLEY_TRUST_PROXY: false,
      PARLEY_MODEL_IDLE_SECONDS: 60,
      PARLEY_ANSWER_MAX_SECONDS: 600,
      PARLEY_MAX_QUEUED_ANSWERS: 1000,
      PARLEY_STREAMS_PER_KEY: 64,
      PARLEY_MAX_QUEUED_DOCUMENTS: 8,
    });
    expect(
      parseEnv({ PARLEY_RATE_LIMIT_PER_MINUTE: "0", PARLEY_SEND_LIMIT_PER_MINUTE: "0", PARLEY_TRUST_PROXY: "1", PARLEY_MODEL_IDLE_SECONDS: "0.5" }),
    ).toMatchObject({ PARLEY_RATE_LIMIT_PER_MINUTE: 0, PARLEY_SEND_LIMIT_PER_MINUTE: 0, PARLEY_TRUST_PROXY: true, PARLEY_MODEL_IDLE_SECONDS: 0.5 });
  });

  it("refuses negative or fractional limits, a zero bound and an unclear flag", () => {
    for (const bad of [
      { PARLEY_RATE_LIMIT_PER_MINUTE: "-1" },
      { PARLEY_SEND_LIMIT_PER_MINUTE: "2.5" },
      { PARLEY_MODEL_IDLE_SECONDS: "0" },
      { PARLEY_ANSWER_MAX_SECONDS: "soon" },
      { PARLEY_MAX_QUEUED_ANSWERS: "0" },
      { PARLEY_STREAMS_PER_KEY: "0" },
      { PARLEY_MAX_QUEUED_DOCUMENTS: "0" },
      { PARLEY_TRUST_PROXY: "yes" },
    ]) {
      expect(() => parseEnv(bad), JSON.stringify(bad)).toThrow(Object.keys(bad)[0]);
    }
  });
});
