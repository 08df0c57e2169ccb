import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import { freePort } from "../dev/stack.ts";
import { parseCommandLine, positiveNumber } from "../scripts/lib/args.ts";
import { BUILD_DIR, buildBundles, readManifest } from "./build.ts";
import { measure } from "./load/driver.ts";
import { type MiniflareTarget, startRuntime } from "./runtime.ts";
import { SCENARIOS, type Scenario } from "./scenarios.ts";
import { spawnUpstream, stopUpstream } from "./upstream-process.ts";

const CLI = {
  command: "npx tsx bench/profile.ts",
  usage: `usage: npx tsx bench/profile.ts [--seconds S] [--connections N] [--no-build] row,row|cpu:case

Samples V8's CPU profiler (over workerd's inspector) in a row's Worker isolate while the row is under
load, and prints where the isolate's time goes, by source module and by function, in µs per request.
Frames of a bundle are named through its source map (the deployed bundle is minified), else through the
\`// path\` markers esbuild leaves. Writes .bench/profile-<row>.cpuprofile for Chrome DevTools.

  row          a row of npm run bench (bench/scenarios.ts): Miniflare rows also profile the outbound
               interceptor their subrequests pass through; workerd serve rows (raw_*) profile the
               Worker alone, as deployed
  cpu:<case>   one case of the CPU Worker's loop (bench/workers/edge-cpu.ts), free of network
  --seconds S      load per row (default 5)
  --connections N  concurrent connections (default 10)
  --no-build       reuse the bundles in .bench/build

The profiler's own sampling adds time to every function, and with the inspector attached every
console.log is also sent to it (the logger's write looks far costlier than it is: npm run bench:log-line
measures the line): compare shares within a profile, and measure costs with npm run bench.`,
  options: { seconds: { type: "string" }, connections: { type: "string" }, "no-build": { type: "boolean" } },
  allowPositionals: true,
} as const;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
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

/** Where a frame of the bundle comes from: its source module and the function's own name. */
type Locate = (frame: CallFrame) => { module: string; name: string };

/**
 * Names the frames of the bundle at `path`: through `path.map` when there is one (the minified
 * deployed bundle: `i` becomes `write` in src/log/logger.ts), else through the `// path` comment
 * esbuild writes before each module of an unminified bundle.
 */
async function bundleLocator(path: string): Promise<Locate> {
  if (existsSync(`${path}.map`)) {
    const map = new TraceMap(await readFile(`${path}.map`, "utf8"));
    return (frame) => {
      const at = originalPositionFor(map, { line: frame.lineNumber + 1, column: Math.max(0, frame.columnNumber) });
      const module =
        at.source === null
          ? "(bundle prelude)"
          : at.source.replace(/^(\.\.\/)+/, "").replace(/^.*?(src\/|node_modules\/|bench\/)/, "$1");
      return { module, name: at.name ?? frame.functionName };
    };
  }
  const lines = (await readFile(path, "utf8")).split("\n");
  const markers: { line: number; module: string }[] = [];
  lines.forEach((text, i) => {
    const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
    if (m?.[1]) markers.push({ line: i, module: m[1].replace(/^(\.\.\/)+/, "") });
  });
  return (frame) => {
    let module = "(bundle prelude)";
    for (const entry of markers) {
      if (entry.line > frame.lineNumber) break;
      module = entry.module;
    }
    return { module, name: frame.functionName };
  };
}

/** Whether a frame runs the bundle's code (Miniflare names it by path, workerd serve by module name). */
function inBundle(frame: CallFrame, bundleUrls: readonly string[]): boolean {
  return frame.url !== "" && bundleUrls.some((u) => frame.url === u || frame.url.endsWith(`/${u}`));
}

interface Row {
  name: string;
  ms: number;
}

function summarize(profile: CpuProfile, locate: Locate | undefined, bundleUrls: readonly string[]) {
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
    const frame = node.callFrame;
    const raw = frame.functionName || "(anonymous)";
    if (raw === "(idle)") {
      idle += ms;
      continue;
    }
    busy += ms;
    const own = locate && inBundle(frame, bundleUrls) ? locate(frame) : undefined;
    const module = own?.module ?? (raw.startsWith("(") ? raw : frame.url === "" ? "(native / runtime)" : frame.url);
    const key = own ? `${own.name || "(anonymous)"}  [${own.module}]` : `${raw}  [${module}]`;
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

/** The inspector target of a workerd serve service (its /json/list names it `workerd: worker <service>`). */
async function rawTarget(inspectorPort: number, service: string): Promise<string> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    title?: string;
    webSocketDebuggerUrl?: string;
  }[];
  const found = list.find((t) => t.title === `workerd: worker ${service}`)?.webSocketDebuggerUrl;
  if (!found) throw new Error(`workerd serve's inspector has no target for ${service}`);
  return found.replace("//localhost:", "//127.0.0.1:");
}

interface Ports {
  miniflare: number;
  raw: number;
}

async function profileRow(ports: Ports, origin: string, s: Scenario, seconds: number, connections: number, bundlePath: string) {
  const locate = await bundleLocator(bundlePath);
  const bundleName = bundlePath.split("/").pop() ?? "";
  // Miniflare: the Worker and the outbound interceptor its subrequests pass through; workerd serve: the Worker.
  const raw = s.target.startsWith("raw_");
  const targets = raw
    ? [{ title: `workerd serve: ${s.target}`, url: await rawTarget(ports.raw, s.target), bundleUrls: ["worker"] }]
    : [
        {
          title: `core:user:${s.target}`,
          url: `ws://127.0.0.1:${ports.miniflare}/core:user:${s.target}`,
          bundleUrls: [bundleName],
        },
        {
          title: `outbound:${WORKER_INDEX[s.target as MiniflareTarget]}`,
          url: `ws://127.0.0.1:${ports.miniflare}/outbound:${WORKER_INDEX[s.target as MiniflareTarget]}`,
          bundleUrls: [],
        },
      ];
  const inspectors = await Promise.all(targets.map((t) => Inspector.connect(t.url)));
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
    const target = targets[k];
    if (target)
      print(
        target.title,
        summarize(p.profile, target.bundleUrls.length > 0 ? locate : undefined, target.bundleUrls),
        load.requests,
      );
  });
  await writeFile(join(BUILD_DIR, "..", `profile-${s.id}.cpuprofile`), JSON.stringify(profiles[0]?.profile));
}

/** Profiles one CPU-loop case of the bench-only CPU Worker (`cpu:create_full`): no network, no other isolate. */
async function profileCpuCase(inspectorPort: number, origin: string, kind: string, bundlePath: string): Promise<void> {
  const locate = await bundleLocator(bundlePath);
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
  print(`cpu loop ${kind} (per iteration)`, summarize(profile, locate, [bundleName]), n);
  await writeFile(join(BUILD_DIR, "..", `profile-cpu-${kind}.cpuprofile`), JSON.stringify(profile));
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine(CLI);
  const seconds = positiveNumber(CLI, "--seconds", values.seconds, 5);
  const connections = positiveNumber(CLI, "--connections", values.connections, 10, true);
  const ids = (positionals[0] ?? "edge_retrieve").split(",");
  const bundles = values["no-build"] ? await readManifest() : await buildBundles();
  const upstream = await spawnUpstream();
  const ports = { miniflare: await freePort(), raw: await freePort() };
  const runtime = await startRuntime(bundles, upstream.url, { inspectorPort: ports.miniflare, rawInspectorPort: ports.raw });
  try {
    for (const id of ids) {
      if (id.startsWith("cpu:")) {
        await profileCpuCase(ports.miniflare, runtime.urls.cpu, id.slice(4), bundles.cpu.scriptPath);
        continue;
      }
      const s = SCENARIOS.find((x) => x.id === id);
      if (!s) throw new Error(`no row ${id}; rows: ${SCENARIOS.map((x) => x.id).join(", ")}`);
      const origin = runtime.urls[s.target];
      await measure(origin, s.request(), connections, 1); // warm-up
      const bundle = s.target.includes("passthrough")
        ? bundles.passthrough
        : s.target.includes("hono")
          ? bundles.hono
          : bundles.edge;
      await profileRow(ports, origin, s, seconds, connections, bundle.scriptPath);
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
