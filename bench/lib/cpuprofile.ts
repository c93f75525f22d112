/**
 * Summarises a V8 `.cpuprofile` (from `--profile`, i.e. `node --cpu-prof`): self time by function
 * and by package/file, and total (inclusive) time of chosen frames. Usage:
 *   node --import tsx bench/lib/cpuprofile.ts <file.cpuprofile> [top] [inclusive-name-regex]
 */
import fs from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function moduleOf(url: string): string {
  if (!url) return "(native/vm)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split("/");
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!; // split gives at least one part
    if (pkg === "next") return `next/${rest.slice(1, 4).join("/")}`;
    return pkg;
  }
  if (url.startsWith("node:")) return url;
  const chunk = url.indexOf(".next/");
  if (chunk >= 0) return url.slice(chunk);
  return url.replace(/^file:\/\//, "");
}

/** A stretch of a run in the monotonic clock's µs (`process.hrtime`), which is the profile's own clock. */
export interface ProfileWindow {
  label: string;
  /** The process the stretch is about: only its own profile is summarised for it. */
  pid: number;
  fromUs: number;
  toUs: number;
  /** Summarised as a timeline (profileTimeline) rather than by function. */
  timeline?: boolean;
}

/**
 * Whether `file` is the profile of the window's process (`--cpu-prof` names it
 * `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`) and its recording covers the window: another
 * server recording at the same time would only show its idle time.
 */
export function profileCovers(file: string, window: ProfileWindow): boolean {
  const pid = /^CPU\.\d+\.\d+\.(\d+)\./.exec(file.split("/").at(-1)!)?.[1];
  if (Number(pid) !== window.pid) return false;
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  return p.startTime <= window.fromUs && window.toUs <= p.endTime;
}

/** Summarises the profile, or only its samples inside `window`. */
export function summariseProfile(file: string, top = 25, inclusive?: RegExp, window?: ProfileWindow): string {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    at += p.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnSelf = new Map<string, number>();
  const modSelf = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const name = `${f.functionName || "(anonymous)"} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + t);
    const mod = f.functionName === "(idle)" ? "(idle)" : f.functionName === "(garbage collector)" ? "(gc)" : f.functionName === "(program)" ? "(program)" : moduleOf(f.url);
    modSelf.set(mod, (modSelf.get(mod) ?? 0) + t);
    if (inclusive) {
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur)!.callFrame;
        const key = `${cf.functionName} ${moduleOf(cf.url)}`;
        if (inclusive.test(key) && !seen.has(key)) {
          seen.add(key);
          incl.set(key, (incl.get(key) ?? 0) + t);
        }
      }
    }
  }
  const busy = total - (modSelf.get("(idle)") ?? 0);
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  const lines = [`profile ${file}${window ? `, ${window.label} only` : ""}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy)`, "", "self time by package/file:"];
  for (const [m, t] of [...modSelf].filter(([m]) => m !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${m}`);
  lines.push("", "self time by function:");
  for (const [m, t] of [...fnSelf].filter(([m]) => !m.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${m}`);
  if (inclusive) {
    lines.push("", `total time of frames matching ${inclusive}:`);
    for (const [m, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${m}`);
  }
  return lines.join("\n");
}

/**
 * The window as the process lived it, in order: each stretch it was busy (with its GC time and the
 * functions that took most of it) or idle, from the window's start. For one slow delivery: whether
 * its milliseconds went to this process's work, its collector, or elsewhere while it waited.
 */
export function profileTimeline(file: string, window: ProfileWindow): string {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  type Stretch = { fromUs: number; us: number; idle: boolean; gcUs: number; self: Map<string, number> };
  const stretches: Stretch[] = [];
  let at = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (at < window.fromUs || at > window.toUs) continue;
    const f = byId.get(p.samples[i]!)!.callFrame;
    const idle = f.functionName === "(idle)";
    let last = stretches.at(-1);
    if (!last || last.idle !== idle) stretches.push((last = { fromUs: at - dt, us: 0, idle, gcUs: 0, self: new Map() }));
    last.us += dt;
    if (f.functionName === "(garbage collector)") last.gcUs += dt;
    else if (!idle) {
      const name = `${f.functionName || "(anonymous)"} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
      last.self.set(name, (last.self.get(name) ?? 0) + dt);
    }
  }
  const ms = (us: number) => (us / 1000).toFixed(1);
  const sum = (pick: (s: Stretch) => number) => stretches.reduce((total, s) => total + pick(s), 0);
  const busy = sum((s) => (s.idle ? 0 : s.us));
  const lines = [
    `profile ${file}, ${window.label}: ${ms(window.toUs - window.fromUs)} ms, of which busy ${ms(busy)} ms (GC ${ms(sum((s) => s.gcUs))} ms), idle ${ms(sum((s) => (s.idle ? s.us : 0)))} ms`,
    "",
  ];
  for (const s of stretches) {
    const top = [...s.self].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, us]) => `${name} ${ms(us)}`);
    const what = s.idle ? "idle" : `busy${s.gcUs > 0 ? ` (GC ${ms(s.gcUs)})` : ""}${top.length ? `: ${top.join(", ")}` : ""}`;
    lines.push(`  +${ms(s.fromUs - window.fromUs).padStart(6)} ms  ${ms(s.us).padStart(6)} ms  ${what}`);
  }
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [file, top, re] = process.argv.slice(2);
  console.log(summariseProfile(file!, Number(top ?? 25), re ? new RegExp(re) : undefined));
}
