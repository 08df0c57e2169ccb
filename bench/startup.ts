import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join, relative } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BUILD_DIR } from "./build.ts";
import { median } from "./load/driver.ts";
import { processCpuNs } from "./proc-cpu.ts";
import { type RawOptions, type RawService, rawConfig, workerdBinary } from "./raw-workerd.ts";
import { BENCH_PROXY_KEY } from "./tenant.ts";

/**
 * Worker startup: what loading a bundle costs a fresh isolate, for the passthrough, the Hono proxy
 * and identity-edge, in two parts, both read as workerd's CPU time (schedstat, all threads, as for
 * the rows):
 *
 * 1. Script evaluation (`measureScriptEvaluation`): one `workerd serve` process runs a host Worker
 *    with a Worker Loader binding; each sample is one request that loads a Worker never loaded before
 *    (a new name, so a new isolate) whose main module is `import "./bundle.js"` plus a fetch handler
 *    that answers at once, and calls it. The bundle's top level (parse, compile, module-scope code)
 *    runs exactly once in that request and its handler never runs. The same request loading an
 *    empty module instead (`export default {}`) is subtracted, round by round: what is left is the
 *    bundle's evaluation alone, without the isolate's creation or workerd's own start (a new
 *    process per sample would bury a 1 ms script under the ±3 ms noise of starting workerd).
 * 2. The first request's extra (`measureFirstRequest`): V8 compiles functions lazily and identity-edge
 *    builds its per-isolate state (config, keys) on first use, so the first request an isolate serves
 *    costs more than the next. Each sample starts a new `workerd serve` process serving one Worker (the
 *    same generated config as the workerd serve rows, with the other Workers left out), sends a server
 *    retrieve through to the bench upstream, then WARM_REQUESTS more: first − warm, minus the empty
 *    Worker's own first − warm (workerd's first-request overhead), is that once-per-isolate work.
 *
 * Their sum is what a cold start adds to the request that meets it. Workers are measured in an order
 * rotated each round; figures are medians over rounds of the per-round differences.
 */

export const STARTUP_SERVICES = ["raw_empty", "raw_passthrough", "raw_hono", "raw_edge"] as const satisfies readonly RawService[];
type StartupService = (typeof STARTUP_SERVICES)[number];
export type StartupWorker = Exclude<StartupService, "raw_empty">;

/** Requests after the first one, to time a warm request. */
const WARM_REQUESTS = 10;
/** Unmeasured loads of every Worker first, so the host Worker's own code is warm. */
const LOADER_WARMUP_ROUNDS = 2;
const LISTEN_TIMEOUT_MS = 20_000;

/** One sample of one Worker (ms of workerd CPU). */
export interface StartupSample {
  service: StartupService;
  round: number;
  /** A fresh isolate loading the Worker's bundle (and answering one trivial request). */
  loadCpuMs: number;
}

/** One fresh workerd process serving one Worker (ms of workerd CPU). */
export interface FirstRequestSample {
  service: StartupService;
  round: number;
  /** workerd's CPU time when it listened (its start plus the script's evaluation; noisy, kept for reference). */
  listenCpuMs: number;
  firstRequestCpuMs: number;
  warmRequestCpuMs: number;
}

/** A Worker's startup, medians over rounds (ms of workerd CPU). */
export interface StartupResult {
  worker: StartupWorker;
  /** The bundle's evaluation: loadCpuMs minus the empty module's in the same round. */
  scriptEvalMs: number;
  evalSamples: number;
  /** (first − warm) minus the empty Worker's (first − warm) in the same round. */
  firstRequestExtraMs: number;
  warmRequestCpuMs: number;
  firstRequestSamples: number;
  /** scriptEvalMs + firstRequestExtraMs. */
  coldStartMs: number;
}

export interface StartupMeasurement {
  /** The empty Worker: a fresh isolate's cost (load), and workerd's first and warm request. */
  empty: { loadCpuMs: number; firstRequestCpuMs: number; warmRequestCpuMs: number };
  workers: StartupResult[];
  samples: StartupSample[];
  firstRequestSamples: FirstRequestSample[];
}

/** Lets workerd's threads go idle, so Linux has accounted the CPU they used. */
const settle = () => sleep(20);

/** The first `listen` report on workerd's control fd: its port. */
function listenPort(control: Readable, socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`workerd did not listen on ${socket} within 20 s`)), LISTEN_TIMEOUT_MS);
    control.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
        if (message.event === "listen" && message.socket === socket && typeof message.port === "number") {
          clearTimeout(timer);
          resolve(message.port);
        }
      }
    });
    control.once("end", () => reject(new Error(`workerd exited before listening on ${socket}`)));
  });
}

/** A running `workerd serve` for `configPath`, listening on `socket`. */
async function serve(configPath: string, socket: string): Promise<{ pid: number; port: number; stop: () => Promise<void> }> {
  const child = spawn(workerdBinary(), ["serve", configPath, "--experimental", "--control-fd=3"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    if (child.pid === undefined) throw new Error("workerd did not start");
    const port = await listenPort(child.stdio[3] as Readable, socket);
    return { pid: child.pid, port, stop };
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${stderr.slice(-1000)}`);
  }
}

/** A GET with node:http on a fresh connection; its status and body. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** workerd's CPU (ms) per GET over `count` GETs in a row, each of which must answer 200. */
async function cpuOfRequests(
  pid: number,
  port: number,
  path: string,
  headers: Record<string, string> = {},
  count = 1,
): Promise<number> {
  await settle();
  const before = processCpuNs(pid);
  for (let i = 0; i < count; i++) {
    const answer = await get(port, path, headers);
    if (answer.status !== 200) throw new Error(`startup: GET ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  }
  await settle();
  return (processCpuNs(pid) - before) / 1e6 / count;
}

const rotated = (round: number) =>
  STARTUP_SERVICES.map((_, i) => STARTUP_SERVICES[(i + round) % STARTUP_SERVICES.length] as StartupService);

/**
 * The host Worker of the evaluation samples: `?worker=` names a bundle (a text binding) or `empty`,
 * `?name=` the loaded Worker (a new name each sample, so a new isolate that evaluates the bundle).
 */
const LOADER_HOST_MODULE = `const WRAPPER = 'import "./bundle.js";\\nexport default { fetch() { return new Response("loaded"); } };\\n';
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const which = url.searchParams.get("worker");
    const code = which === "raw_empty" ? "export default {};\\n" : env[which];
    if (typeof code !== "string") return new Response("no such bundle", { status: 404 });
    const worker = env.LOADER.get(url.searchParams.get("name"), () => ({
      compatibilityDate: env.COMPATIBILITY_DATE,
      compatibilityFlags: JSON.parse(env.COMPATIBILITY_FLAGS),
      mainModule: "main.js",
      modules: { "main.js": WRAPPER, "bundle.js": code },
      globalOutbound: null,
    }));
    return worker.getEntrypoint().fetch("http://startup.invalid/");
  },
};
`;

function loaderConfig(options: Omit<RawOptions, "output">, dir: string): string {
  const text = (value: string) => JSON.stringify(value);
  const embed = (path: string) => `embed ${text(relative(dir, path))}`;
  const { bundles } = options;
  const flags = `[${bundles.compatibilityFlags.map(text).join(", ")}]`;
  const bundleBindings = (
    [
      ["raw_passthrough", bundles.passthrough.scriptPath],
      ["raw_hono", bundles.hono.scriptPath],
      ["raw_edge", bundles.edge.scriptPath],
    ] as const
  )
    .map(([name, path]) => `(name = ${text(name)}, text = ${embed(path)})`)
    .join(", ");
  return `using Workerd = import "/workerd/workerd.capnp";
# Generated by bench/startup.ts: a host Worker that loads the bench bundles into fresh isolates.
const config :Workerd.Config = (
  services = [
    (name = "loader_host", worker = (modules = [(name = "host", esModule = ${text(LOADER_HOST_MODULE)})],
      compatibilityDate = ${text(options.compatibilityDate)}, compatibilityFlags = ${flags},
      bindings = [(name = "LOADER", workerLoader = ()), ${bundleBindings},
        (name = "COMPATIBILITY_DATE", text = ${text(options.compatibilityDate)}),
        (name = "COMPATIBILITY_FLAGS", text = ${text(JSON.stringify(bundles.compatibilityFlags))})])),
  ],
  sockets = [(name = "loader_host", address = "127.0.0.1:0", http = (), service = "loader_host")],
);
`;
}

/** Script evaluation: `rounds` fresh isolates per Worker in one workerd process. */
export async function measureScriptEvaluation(
  options: Omit<RawOptions, "output">,
  dir: string,
  rounds: number,
): Promise<StartupSample[]> {
  const configPath = join(dir, "loader.capnp");
  await writeFile(configPath, loaderConfig(options, dir));
  const workerd = await serve(configPath, "loader_host");
  let loads = 0;
  const load = (service: StartupService) =>
    cpuOfRequests(workerd.pid, workerd.port, `/?worker=${service}&name=${service}-${loads++}`);
  try {
    for (let round = 0; round < LOADER_WARMUP_ROUNDS; round++) for (const service of STARTUP_SERVICES) await load(service);
    const samples: StartupSample[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const service of rotated(round)) samples.push({ service, round, loadCpuMs: await load(service) });
    }
    return samples;
  } finally {
    await workerd.stop();
  }
}

/** The first request's extra: `rounds` fresh workerd processes per Worker. */
export async function measureFirstRequest(
  options: Omit<RawOptions, "output">,
  dir: string,
  rounds: number,
): Promise<FirstRequestSample[]> {
  const configs = new Map<StartupService, string>();
  for (const service of STARTUP_SERVICES) {
    const path = join(dir, `${service}.capnp`);
    await writeFile(path, rawConfig(options, dir, { [service]: 0 }));
    configs.set(service, path);
  }
  const retrieve = "/v1/identity/verification_sessions/vs_1Bench0000000000000001";
  const auth = { authorization: `Bearer ${BENCH_PROXY_KEY}` };
  const samples: FirstRequestSample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const service of rotated(round)) {
      const workerd = await serve(configs.get(service) ?? "", service);
      try {
        await settle();
        const listenCpuMs = processCpuNs(workerd.pid) / 1e6;
        const firstRequestCpuMs = await cpuOfRequests(workerd.pid, workerd.port, retrieve, auth);
        const warmRequestCpuMs = await cpuOfRequests(workerd.pid, workerd.port, retrieve, auth, WARM_REQUESTS);
        samples.push({ service, round, listenCpuMs, firstRequestCpuMs, warmRequestCpuMs });
      } finally {
        await workerd.stop();
      }
    }
  }
  return samples;
}

/** Medians per Worker of the per-round differences with the empty Worker (exported for the tests). */
export function summarizeStartup(
  samples: readonly StartupSample[],
  firstRequests: readonly FirstRequestSample[],
): Pick<StartupMeasurement, "empty" | "workers"> {
  const emptyLoad = new Map(samples.filter((s) => s.service === "raw_empty").map((s) => [s.round, s.loadCpuMs]));
  const emptyFirst = new Map(firstRequests.filter((s) => s.service === "raw_empty").map((s) => [s.round, s]));
  const extra = (s: FirstRequestSample) => s.firstRequestCpuMs - s.warmRequestCpuMs;
  const workers: StartupResult[] = [];
  for (const worker of STARTUP_SERVICES) {
    if (worker === "raw_empty") continue;
    const evals = samples
      .filter((s) => s.service === worker && emptyLoad.has(s.round))
      .map((s) => s.loadCpuMs - (emptyLoad.get(s.round) ?? Number.NaN));
    const firsts = firstRequests.filter((s) => s.service === worker && emptyFirst.has(s.round));
    const extras = firsts.map((s) => {
      const empty = emptyFirst.get(s.round);
      return empty ? extra(s) - extra(empty) : Number.NaN;
    });
    const scriptEvalMs = median(evals);
    const firstRequestExtraMs = median(extras);
    workers.push({
      worker,
      scriptEvalMs,
      evalSamples: evals.length,
      firstRequestExtraMs,
      warmRequestCpuMs: median(firsts.map((s) => s.warmRequestCpuMs)),
      firstRequestSamples: firsts.length,
      coldStartMs: scriptEvalMs + firstRequestExtraMs,
    });
  }
  const empties = firstRequests.filter((s) => s.service === "raw_empty");
  return {
    empty: {
      loadCpuMs: median([...emptyLoad.values()]),
      firstRequestCpuMs: median(empties.map((s) => s.firstRequestCpuMs)),
      warmRequestCpuMs: median(empties.map((s) => s.warmRequestCpuMs)),
    },
    workers,
  };
}

export interface StartupRounds {
  /** Fresh isolates per Worker for the script evaluation. */
  evalRounds: number;
  /** Fresh workerd processes per Worker for the first request. */
  firstRequestRounds: number;
}

/** Both parts; `progress` hears each. */
export async function measureStartup(
  options: Omit<RawOptions, "output">,
  rounds: StartupRounds,
  progress: (message: string) => void,
): Promise<StartupMeasurement> {
  const dir = join(BUILD_DIR, "startup");
  await mkdir(dir, { recursive: true });
  const samples = await measureScriptEvaluation(options, dir, rounds.evalRounds);
  const firstRequestSamples = await measureFirstRequest(options, dir, rounds.firstRequestRounds);
  const summary = summarizeStartup(samples, firstRequestSamples);
  for (const w of summary.workers) {
    progress(
      `startup ${w.worker}: script evaluation ${w.scriptEvalMs.toFixed(2)} ms, first request +${w.firstRequestExtraMs.toFixed(2)} ms (N=${w.evalSamples}/${w.firstRequestSamples})`,
    );
  }
  return { ...summary, samples, firstRequestSamples };
}
