/**
 * `@parley/sdk` as another app gets it: the tarball of `npm run sdk:pack`, installed alone (with
 * `typescript`) into new projects outside the repository, one ESM and one CommonJS; each compiles a
 * program, fails to compile a wrong field, and runs its program against a live Parley.
 * Needs `next build` first (npm test builds before vitest).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFreshDatabase, startParleyServer, type ParleyServer } from "../scripts/localServers";
import { adminUrl } from "../scripts/test-database";
import { createParley } from "./index";

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, "..");
const BOOTSTRAP_KEY = `pk_test_${randomUUID()}${randomUUID()}`.replaceAll("-", "");

/** What the consumer writes: every call typed by the package alone. */
const program = `import { createParley, type Message, type Session, type StreamEvent } from "@parley/sdk";

// This project has no @types/node; the program only needs these.
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

async function main() {
  const parley = createParley({ url: process.env.PARLEY_URL!, apiKey: process.env.PARLEY_KEY! });
  const title = process.env.SESSION_TITLE!;
  const session: Session = await parley.client.session.create.mutate({ title });
  let answer = "";
  let last: StreamEvent["type"] | undefined;
  for await (const event of parley.ask(session.id, "How do I scale Parley out?")) {
    if (event.type === "answer") answer += event.delta;
    last = event.type;
  }
  console.log("answer: " + answer.replaceAll("\\n", " "));
  let seen = 0;
  let titled = 0;
  for await (const s of parley.sessions({ limit: 1 })) {
    seen++;
    if (s.title === title) titled++;
  }
  console.log("sessions seen: " + seen + ", titled so: " + titled);
  const page = await parley.client.message.list.query({ sessionId: session.id, limit: 10 });
  const messages: Message[] = page.items;
  console.log("messages: " + messages.map((m) => m.role + " " + m.status).join(", "));
  console.log(last);
  // Another answer to the question, then another version of the question: each streams as ask's.
  const [question, first] = messages;
  for await (const event of parley.regenerate(session.id, first!.id)) last = event.type;
  console.log("regenerated: " + last);
  for await (const event of parley.edit(session.id, question!.id, "How do I scale Parley up?")) last = event.type;
  console.log("edited: " + last);
  const versions = (await parley.client.message.siblings.query({ messageId: first!.id })).items;
  const shown = (await parley.client.message.list.query({ sessionId: session.id })).items;
  console.log("versions of the first answer: " + versions.length + "; shown: " + shown.map((m) => m.role + " " + m.siblings.index + "/" + m.siblings.count).join(", "));
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Misspelt fields (an input's, a nested setting's, an output's): each must be a compile error. */
const wrongProgram = `import { createParley } from "@parley/sdk";

export async function wrong() {
  const parley = createParley({ url: "http://127.0.0.1:1", apiKey: "pk_none" });
  await parley.client.session.create.mutate({ titel: "typo" });
  await parley.client.session.create.mutate({ strategy: { maxRoundz: 3 } });
  const page = await parley.client.message.list.query({ sessionId: "00000000-0000-4000-8000-000000000000" });
  await parley.client.chat.regenerate.mutate({ sessionId: "00000000-0000-4000-8000-000000000000", mesageId: "x" });
  return page.items[0]?.contnt;
}
`;

interface Consumer {
  dir: string;
  install: string;
}

/** A new project in the system's temp directory with only the tarball and TypeScript installed. */
async function createConsumer(kind: "esm" | "cjs", tarball: string): Promise<Consumer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-sdk-${kind}-`));
  const manifest = { name: `parley-sdk-consumer-${kind}`, private: true, ...(kind === "esm" ? { type: "module" } : {}) };
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  // As `tsc --init` writes it (skipLibCheck: @trpc/server's own declarations want @types/node and @types/ws).
  const compilerOptions = { strict: true, skipLibCheck: true, target: "es2022", lib: ["es2022", "dom"], module: "nodenext", moduleResolution: "nodenext", outDir: "out" };
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["main.ts"] }, null, 2));
  fs.writeFileSync(path.join(dir, "main.ts"), program);
  fs.writeFileSync(path.join(dir, "wrong.ts"), wrongProgram);
  const typescript = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")).devDependencies.typescript;
  const { stdout, stderr } = await run("npm", ["install", "--no-audit", "--no-fund", tarball, `typescript@${typescript}`], { cwd: dir, timeout: 180_000 });
  return { dir, install: stdout + stderr };
}

/** `tsc` in the consumer: its exit status and everything it printed. */
async function tsc(dir: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["node_modules/typescript/bin/tsc", ...args], { cwd: dir, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

let tarball: string;
let server: ParleyServer;
let database: Awaited<ReturnType<typeof createFreshDatabase>>;
const consumers: Partial<Record<"esm" | "cjs", Consumer>> = {};

beforeAll(async () => {
  if (!fs.existsSync(path.join(repo, ".next/BUILD_ID"))) throw new Error("No production build: run `npx next build` first (npm test does)");
  const pack = run(process.execPath, ["scripts/sdk-pack.mjs"], { cwd: repo, timeout: 300_000 }).then(({ stdout }) => {
    tarball = stdout.trim().split("\n").at(-1)!;
  });
  // A database of its own: the instances suite migrates the shared one at the same time.
  const start = createFreshDatabase(adminUrl, "parley_sdk").then(async (created) => {
    database = created;
    server = await startParleyServer({
      env: { ...process.env, DATABASE_URL: database.url, PARLEY_BOOTSTRAP_KEY: BOOTSTRAP_KEY, PARLEY_OFFLINE_TOKEN_DELAY_MS: "0" },
    });
  });
  await pack;
  [consumers.esm, consumers.cjs] = await Promise.all([createConsumer("esm", tarball), createConsumer("cjs", tarball)]);
  await start;
}, 600_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
  for (const consumer of Object.values(consumers)) fs.rmSync(consumer.dir, { recursive: true, force: true });
});

describe("@parley/sdk from its tarball", () => {
  it("is versioned as Parley and installs with nothing but its own dependencies", () => {
    const root = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8"));
    const installed = path.join(consumers.esm!.dir, "node_modules/@parley/sdk");
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    expect(path.basename(tarball)).toBe(`parley-sdk-${root.version}.tgz`);
    expect(manifest.version).toBe(root.version);
    expect(manifest.dependencies["@trpc/client"]).toBe(root.dependencies["@trpc/client"]);
    // Everything the declarations import is a dependency of the package: no drizzle-orm, postgres,
    // pglite or ioredis, and nothing left unresolved (which `skipLibCheck` would turn into `any`).
    for (const file of ["dist/index.d.ts", "dist/index.d.cts"]) {
      const specifiers = [...fs.readFileSync(path.join(installed, file), "utf8").matchAll(/\bfrom ['"]([^'"]+)['"]|\bimport\(['"]([^'"]+)['"]\)/g)].map((m) => m[1] ?? m[2]);
      expect(specifiers.length).toBeGreaterThan(0);
      for (const specifier of specifiers) {
        const name = specifier!.startsWith("@") ? specifier!.split("/").slice(0, 2).join("/") : specifier!.split("/")[0];
        expect(Object.keys(manifest.dependencies), `${file} imports ${specifier}`).toContain(name);
      }
    }
  });

  for (const kind of ["esm", "cjs"] as const) {
    describe(`a ${kind === "esm" ? "ES module" : "CommonJS"} consumer`, () => {
      it("compiles the program, and a wrong field is a compile error naming it", async () => {
        const { dir } = consumers[kind]!;
        const good = await tsc(dir, ["-p", "."]);
        expect(good, good.output).toEqual({ code: 0, output: "" });
        const emitted = fs.readFileSync(path.join(dir, "out/main.js"), "utf8");
        expect(emitted).toContain(kind === "esm" ? 'from "@parley/sdk"' : 'require("@parley/sdk")');

        const wrong = await tsc(dir, ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--lib", "es2022,dom", "--module", "nodenext", "--moduleResolution", "nodenext", "wrong.ts"]);
        expect(wrong.code).not.toBe(0);
        expect(wrong.output).toMatch(/wrong\.ts\(5,\d+\): error TS\d+: .*'titel' does not exist in type '\{ title\?: string/);
        expect(wrong.output).toMatch(/wrong\.ts\(6,\d+\): error TS\d+: .*'maxRoundz' does not exist in type 'Partial<\{ maxRounds: number;/);
        expect(wrong.output).toMatch(/wrong\.ts\(8,\d+\): error TS\d+: .*'mesageId' does not exist in type/);
        expect(wrong.output).toMatch(/wrong\.ts\(9,\d+\): error TS\d+: Property 'contnt' does not exist on type/);
        expect(wrong.output.match(/error TS/g)).toHaveLength(4);
      });

      it("runs against a live Parley: a session, an answer streamed to `complete`, sessions() and message.list", async () => {
        const { dir } = consumers[kind]!;
        const title = `From another app (${kind}) ${randomUUID()}`;
        // Another session, so that sessions() pages of one walk more than one page.
        await createParley({ url: server.url, apiKey: BOOTSTRAP_KEY }).client.session.create.mutate({ title: "Another session" });
        const { stdout } = await run(process.execPath, ["out/main.js"], {
          cwd: dir,
          env: { ...process.env, PARLEY_URL: server.url, PARLEY_KEY: BOOTSTRAP_KEY, SESSION_TITLE: title },
          timeout: 60_000,
        });
        const lines = stdout.trim().split("\n");
        expect(lines[0]).toMatch(/^answer: \S/);
        const [, seen] = lines[1]!.match(/^sessions seen: (\d+), titled so: 1$/) ?? [];
        expect(Number(seen), lines[1]).toBeGreaterThanOrEqual(2);
        expect(lines.slice(2, 6)).toEqual(["messages: user completed, assistant completed", "complete", "regenerated: complete", "edited: complete"]);
        expect(lines[6]).toBe("versions of the first answer: 2; shown: user 2/2, assistant 1/1");
      });
    });
  }
});
