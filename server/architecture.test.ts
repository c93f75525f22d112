import madge from "madge";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The folders are the layers the README draws, and the module graph keeps to them:
 *
 *   server/boot      entry points and the composition root (the App)
 *   server/http      the faces (tRPC, WeKnora REST, upload) and what they share: caller, caps, SSE
 *   server/chat · sessions · auth · knowledge     the features
 *   server/platform  infrastructure the features stand on (store, models, text, log, metrics, …)
 *   common/          values the server, the browser and the SDK all read
 *   db/              the schema and its migrations
 *
 * Each rule below is also an eslint rule where eslint can say it (eslint.config.mjs); this test is
 * the one that sees the whole graph. Same cycle check as `npx madge --circular --extensions ts,tsx
 * server client db common`.
 */
const root = fileURLToPath(new URL("..", import.meta.url));

const FEATURES = ["chat", "sessions", "auth", "knowledge"];
const isTest = (file: string) => /\.test\.tsx?$/.test(file) || file.startsWith("e2e/");
/** The Next server components' ways to the App: they run on the server, in the App's process. */
const SERVER_GATEWAYS = ["app/_components/serverAuth.ts", "app/_components/serverShare.ts"];
/** The top folder of a file under server/ ("http", "chat", …), or its first folder elsewhere ("db", "app"). */
const layerOf = (file: string) => (file.startsWith("server/") ? (file.split("/")[1] ?? "") : (file.split("/")[0] ?? ""));

let allImports: Record<string, string[]>;
let valueImports: Record<string, string[]>;
let cycles: string[][];

async function graphOf(skipTypeImports: boolean) {
  return madge(["server", "client", "db", "common", "app"].filter((folder) => existsSync(`${root}${folder}`)), {
    baseDir: root,
    fileExtensions: ["ts", "tsx"],
    tsConfig: `${root}tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports }, tsx: { skipTypeImports } },
  });
}

beforeAll(async () => {
  const [all, values] = await Promise.all([graphOf(false), graphOf(true)]);
  allImports = all.obj();
  valueImports = values.obj();
  cycles = all.circular();
}, 60_000);

/** Every `from → to` edge of non-test code where `from` matches and `to` breaks the rule. */
function edges(graph: Record<string, string[]>, from: (file: string) => boolean, forbidden: (to: string) => boolean) {
  return Object.entries(graph)
    .filter(([file]) => !isTest(file) && from(file))
    .flatMap(([file, deps]) => deps.filter(forbidden).map((dep) => `${file} → ${dep}`));
}

describe("the module graph", () => {
  it("has no import cycles (type-only imports count: they are where cycles start)", () => {
    expect(Object.keys(allImports).length).toBeGreaterThan(100);
    expect(cycles.map((cycle) => cycle.join(" > "))).toEqual([]);
  });

  it("keeps server/'s root to at most 6 source files: everything else lives in a folder that says what it is", () => {
    const rootFiles = readdirSync(`${root}server`, { withFileTypes: true }).filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name));
    expect(rootFiles.length).toBeLessThanOrEqual(6);
    expect(readdirSync(`${root}server`, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()).toEqual(
      ["auth", "boot", "chat", "http", "knowledge", "platform", "sessions", "testing"],
    );
  });

  it("lets only server/boot (and test support) import the composition root or the host as values", () => {
    expect(allImports["server/boot/app.ts"]).toBeDefined();
    const mayImport = (file: string) => layerOf(file) === "boot" || layerOf(file) === "testing" || SERVER_GATEWAYS.includes(file);
    expect(edges(valueImports, (file) => !mayImport(file), (to) => to.startsWith("server/boot/"))).toEqual([]);
    // Only the faces may even name the App's type: they hand it to the routers.
    expect(edges(allImports, (file) => !mayImport(file) && layerOf(file) !== "http", (to) => to.startsWith("server/boot/"))).toEqual([]);
  });

  it("lets server/http import the features, never the reverse", () => {
    const feature = (file: string) => file.startsWith("server/") && [...FEATURES, "platform"].includes(layerOf(file));
    expect(edges(allImports, feature, (to) => to.startsWith("server/http/") || to.startsWith("server/boot/"))).toEqual([]);
  });

  it("keeps server/platform below the features: it names none of them", () => {
    const platform = (file: string) => file.startsWith("server/platform/");
    expect(edges(allImports, platform, (to) => to.startsWith("server/") && !to.startsWith("server/platform/"))).toEqual([]);
  });

  it("lets one module import tRPC's internals (which change in any release): server/http/trpc/internals.ts, held to tRPC's bytes by its test", () => {
    const importsInternals = (file: string) => /from "@trpc\/[^"]*unstable|import\("@trpc\/[^"]*unstable/.test(readFileSync(`${root}${file}`, "utf8"));
    expect(Object.keys(allImports).filter((file) => !isTest(file) && importsInternals(file))).toEqual(["server/http/trpc/internals.ts"]);
  });

  it("imports test support only from tests", () => {
    expect(edges(allImports, (file) => layerOf(file) !== "testing", (to) => to.startsWith("server/testing/"))).toEqual([]);
  });

  it("keeps common/ and db/ free of server code: db/ reads only common/, common/ only itself", () => {
    expect(edges(allImports, (file) => file.startsWith("common/"), (to) => !to.startsWith("common/"))).toEqual([]);
    expect(edges(allImports, (file) => file.startsWith("db/"), (to) => !to.startsWith("db/") && !to.startsWith("common/"))).toEqual([]);
  });

  it("lets browser and SDK code take only types from server/ and db/ (values they share are in common/)", () => {
    const shipsToClients = (file: string) => (file.startsWith("app/") && !SERVER_GATEWAYS.includes(file)) || file === "client/index.ts";
    expect(edges(valueImports, shipsToClients, (to) => to.startsWith("server/") || to.startsWith("db/"))).toEqual([]);
    expect(edges(allImports, (file) => file.startsWith("server/"), (to) => to.startsWith("client/") || to.startsWith("app/"))).toEqual([]);
  });
});
