import madge from "madge";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The module graph stays a tree of layers: no import cycle anywhere in the code that runs on the
 * server or ships to clients (type-only imports count: they are where cycles start), and only
 * entry points reach for the composition root. Same as `npx madge --circular --extensions ts,tsx
 * server client db`.
 */
const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Modules that may import `server/boot/app.ts`: the server entry, the host that builds its App, its
 * route table, test setup, and the tRPC request context they fill.
 */
const entryPoints = new Set(["server/boot/main.ts", "server/boot/host.ts", "server/http/routes.ts", "server/testing/testApp.ts", "server/http/trpc/trpc.ts"]);
const isTest = (file: string) => file.endsWith(".test.ts");

let graph: Record<string, string[]>;
let cycles: string[][];

beforeAll(async () => {
  const result = await madge(["server", "client", "db"], {
    baseDir: root,
    fileExtensions: ["ts", "tsx"],
    tsConfig: `${root}tsconfig.json`,
  });
  graph = result.obj();
  cycles = result.circular();
}, 60_000);

describe("the module graph", () => {
  it("has no import cycles in server/, client/ or db/", () => {
    expect(Object.keys(graph).length).toBeGreaterThan(50);
    expect(cycles.map((cycle) => cycle.join(" > "))).toEqual([]);
  });

  it("lets only entry points import the composition root (server/boot/app.ts)", () => {
    expect(graph["server/boot/app.ts"]).toBeDefined();
    const importers = Object.entries(graph)
      .filter(([file, deps]) => file.startsWith("server/") && deps.includes("server/boot/app.ts"))
      .map(([file]) => file)
      .filter((file) => !entryPoints.has(file) && !isTest(file));
    expect(importers).toEqual([]);
  });
});
