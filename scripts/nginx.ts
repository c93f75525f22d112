/**
 * nginx in front of local Parley instances, for the test suites and the bench: Debian's `nginx` run
 * in the foreground with deploy/nginx.conf (the configuration the README quotes), its `listen` port
 * and upstream servers replaced, in a directory of its own. `stop()` ends it and removes the directory.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, isListening, stopChild, waitFor } from "./localServers";

export const NGINX_CONFIG = path.resolve(new URL("../deploy/nginx.conf", import.meta.url).pathname);
/** Debian's binary, also when /usr/sbin is not on PATH. */
const NGINX_BIN = fs.existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";

/** deploy/nginx.conf listening on `port` and balancing over `upstreams` (`host:port`). */
export function nginxConfig(port: number, upstreams: string[]): string {
  const template = fs.readFileSync(NGINX_CONFIG, "utf8");
  const serverLines = /^(\s*)server \S+:\d+;\n(?:\s*server \S+:\d+;\n)*/m;
  const indent = serverLines.exec(template)?.[1];
  if (indent === undefined || !/^\s*listen \d+;$/m.test(template)) throw new Error(`${NGINX_CONFIG}: no upstream server lines or listen port to replace`);
  return template
    .replace(serverLines, upstreams.map((u) => `${indent}server ${u};\n`).join(""))
    .replace(/^(\s*)listen \d+;$/m, `$1listen 127.0.0.1:${port};`);
}

export interface Nginx {
  url: string;
  port: number;
  /** The access log so far: one line per request, naming the instance(s) that served it. */
  accessLog(): string[];
  /** nginx's own warnings and errors so far (instances refusing, resetting, none left). */
  errorLog(): string[];
  stop(): Promise<void>;
}

export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-nginx-"));
  for (const sub of ["logs", "tmp"]) fs.mkdirSync(path.join(dir, sub));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, "nginx.conf"), nginxConfig(port, upstreams));
  let output = "";
  const child = spawn(NGINX_BIN, ["-p", dir, "-c", "nginx.conf", "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const stop = async () => {
    // SIGTERM is nginx's fast shutdown: it also ends the worker.
    await stopChild(child, 5000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
        return isListening(port);
      },
      `nginx on ${port}`,
      15_000,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessLog: () => fs.readFileSync(path.join(dir, "logs/access.log"), "utf8").split("\n").filter(Boolean),
    errorLog: () => fs.readFileSync(path.join(dir, "logs/error.log"), "utf8").split("\n").filter(Boolean),
    stop,
  };
}
