import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../dev/stack.ts";
import { BUILD_DIR, buildBundles, readManifest } from "./build.ts";
import { measure } from "./load/driver.ts";
import { type MiniflareTarget, startRuntime } from "./runtime.ts";
import { SCENARIOS, type Scenario } from "./scenarios.ts";
import { spawnUpstream, stopUpstream } from "./upstream-process.ts";

/**
 * `npx tsx bench/profile.ts [--seconds S] [--connections N] [--no-build] row,row|cpu:case`: samples V8's CPU
 * profiler (over workerd's inspector) in a row's Worker isolate, and in the Miniflare outbound
 * interceptor its subrequests pass through, while the row is under load. Prints where the isolate's
 * time goes, by function and by source module of the bundle (`// src/...` markers esbuild leaves),
 * in µs per request, and writes `.bench/profile-<row>.cpuprofile` for Chrome DevTools. `cpu:<case>`
 * profiles one case of the CPU Worker's loop instead (bench/workers/edge-cpu.ts), free of network.
 * Bounded: one load run of S seconds per row.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

class Inspector {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, (value: unknown) => void>();
  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== undefined)
        this.#pending.get(message.id)?.(
          message.error ? Promise.reject(new Error(JSON.stringify(message.error))) : message.result,
        );
    });
  }
  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener("open", () => resolve(new Inspector(ws)));
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
    });
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve) => {
      this.#pending.set(id, resolve as (value: unknown) => void);
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close(): void {
    this.#ws.close();
  }
}

/** Module boundaries of a bundle: the `// path` comment esbuild writes before each module. */
async function moduleMap(path: string): Promise<{ line: number; module: string }[]> {
  const lines = (await readFile(path, "utf8")).split("\n");
  const out: { line: number; module: string }[] = [];
  lines.forEach((text, i) => {
    const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
    if (m?.[1]) out.push({ line: i, module: m[1].replace(/^(\.\.\/)+/, "") });
  });
  return out;
}

function moduleOf(map: { line: number; module: string }[], frame: CallFrame, bundleName: string | undefined): string {
  if (frame.url === "" || bundleName === undefined || !frame.url.endsWith(bundleName))
    return frame.url === "" ? "(native / runtime)" : frame.url;
  let found = "(bundle prelude)";
  for (const entry of map) {
    if (entry.line > frame.lineNumber) break;
    found = entry.module;
  }
  return found;
}

interface Row {
  name: string;
  ms: number;
}

function summarize(profile: CpuProfile, map: { line: number; module: string }[], bundleName: string | undefined) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to sample i-1 (what was running).
  for (let i = 1; i < profile.samples.length; i++) {
    const id = profile.samples[i - 1] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const fns = new Map<string, number>();
  const modules = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const name = node.callFrame.functionName || "(anonymous)";
    if (name === "(idle)") {
      idle += ms;
      continue;
    }
    busy += ms;
    const module = name.startsWith("(") ? name : moduleOf(map, node.callFrame, bundleName);
    const inBundle = bundleName !== undefined && node.callFrame.url.endsWith(bundleName);
    const key = `${name}  [${module}${inBundle ? `:${node.callFrame.lineNumber + 1}` : ""}]`;
    fns.set(key, (fns.get(key) ?? 0) + ms);
    modules.set(module, (modules.get(module) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number): Row[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms }));
  return { busy, idle, functions: top(fns, 25), modules: top(modules, 20) };
}

function print(title: string, s: ReturnType<typeof summarize>, requests: number): void {
  const per = (ms: number) => `${((ms * 1000) / Math.max(1, requests)).toFixed(1).padStart(7)} µs/req`;
  process.stdout.write(
    `\n### ${title}: busy ${s.busy.toFixed(0)} ms (${per(s.busy)}), idle ${s.idle.toFixed(0)} ms, ${requests} requests\n\n`,
  );
  process.stdout.write("by module:\n");
  for (const r of s.modules)
    process.stdout.write(`  ${per(r.ms)}  ${((100 * r.ms) / s.busy).toFixed(1).padStart(5)}%  ${r.name}\n`);
  process.stdout.write("by function (self time):\n");
  for (const r of s.functions)
    process.stdout.write(`  ${per(r.ms)}  ${((100 * r.ms) / s.busy).toFixed(1).padStart(5)}%  ${r.name}\n`);
}

const WORKER_INDEX: Record<MiniflareTarget, number> = {
  passthrough: 0,
  hono: 1,
  edge: 2,
  edge_log_error: 3,
  edge_mf_ratelimit: 4,
  cpu: 5,
};

async function profileRow(
  inspectorPort: number,
  origin: string,
  s: Scenario,
  seconds: number,
  connections: number,
  bundlePath: string,
): Promise<void> {
  const map = await moduleMap(bundlePath);
  const bundleName = bundlePath.split("/").pop() ?? "";
  if (s.target.startsWith("raw_")) throw new Error(`${s.id} runs on workerd serve, which this tool does not profile`);
  const targets = [`core:user:${s.target}`, `outbound:${WORKER_INDEX[s.target as MiniflareTarget]}`];
  const inspectors = await Promise.all(targets.map((t) => Inspector.connect(`ws://127.0.0.1:${inspectorPort}/${t}`)));
  for (const i of inspectors) {
    await i.send("Profiler.enable");
    await i.send("Profiler.setSamplingInterval", { interval: 100 });
    await i.send("Profiler.start");
  }
  const load = await measure(origin, s.request(), connections, seconds);
  const profiles = await Promise.all(inspectors.map((i) => i.send<{ profile: CpuProfile }>("Profiler.stop")));
  for (const i of inspectors) i.close();
  process.stdout.write(
    `\n## ${s.label}: ${load.rps.toFixed(0)} req/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms\n`,
  );
  profiles.forEach((p, k) => {
    // Only the Worker's own isolate runs the bundle; the interceptor has its own `index.js`.
    print(targets[k] ?? "", summarize(p.profile, map, k === 0 ? bundleName : undefined), load.requests);
  });
  await writeFile(join(BUILD_DIR, "..", `profile-${s.id}.cpuprofile`), JSON.stringify(profiles[0]?.profile));
}

/** Profiles one CPU-loop case of the bench-only CPU Worker (`cpu:create_full`): no network, no other isolate. */
async function profileCpuCase(inspectorPort: number, origin: string, kind: string, bundlePath: string): Promise<void> {
  const map = await moduleMap(bundlePath);
  const bundleName = bundlePath.split("/").pop() ?? "";
  await (await fetch(`${origin}/?case=${kind}&n=2000`)).text(); // warm-up
  const inspector = await Inspector.connect(`ws://127.0.0.1:${inspectorPort}/core:user:cpu`);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 50 });
  await inspector.send("Profiler.start");
  const n = 5000;
  const response = await fetch(`${origin}/?case=${kind}&n=${n}`);
  if (response.status !== 200) throw new Error(`cpu case ${kind}: ${response.status} ${await response.text()}`);
  await response.text();
  const { profile } = await inspector.send<{ profile: CpuProfile }>("Profiler.stop");
  inspector.close();
  print(`cpu loop ${kind} (per iteration)`, summarize(profile, map, bundleName), n);
  await writeFile(join(BUILD_DIR, "..", `profile-cpu-${kind}.cpuprofile`), JSON.stringify(profile));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i === -1 ? undefined : args[i + 1];
  };
  const seconds = Number(value("--seconds") ?? "5");
  const connections = Number(value("--connections") ?? "10");
  const ids = (
    args.find((a, i) => !a.startsWith("--") && !["--seconds", "--connections"].includes(args[i - 1] ?? "")) ?? "edge_retrieve"
  ).split(",");
  const bundles = args.includes("--no-build") ? await readManifest() : await buildBundles();
  const upstream = await spawnUpstream();
  const inspectorPort = await freePort();
  const runtime = await startRuntime(bundles, upstream.url, { inspectorPort });
  try {
    for (const id of ids) {
      if (id.startsWith("cpu:")) {
        await profileCpuCase(inspectorPort, runtime.urls.cpu, id.slice(4), bundles.cpu.scriptPath);
        continue;
      }
      const s = SCENARIOS.find((x) => x.id === id);
      if (!s) throw new Error(`no row ${id}; rows: ${SCENARIOS.map((x) => x.id).join(", ")}`);
      const origin = runtime.urls[s.target];
      await measure(origin, s.request(), connections, 1); // warm-up
      const bundle = s.target === "passthrough" ? bundles.passthrough : s.target === "hono" ? bundles.hono : bundles.edge;
      await profileRow(inspectorPort, origin, s, seconds, connections, bundle.scriptPath);
    }
  } finally {
    await runtime.dispose();
    stopUpstream(upstream.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
