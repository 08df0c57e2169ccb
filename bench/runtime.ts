import type { Readable } from "node:stream";
import { Miniflare, supportedCompatibilityDate, type WorkerOptions } from "miniflare";
import type { Bundles } from "./build.ts";
import { findChildProcess, processCpuNs } from "./proc-cpu.ts";
import { BENCH_CACHE_KEY, BENCH_PROXY_KEY, BENCH_RETURN_URL, BENCH_SECRETS, BENCH_STRIPE_KEY, BENCH_TENANT_ID, benchTenants, CREATE_BODY } from "./tenant.ts";

/**
 * One workerd process (through Miniflare's API) running every bench Worker, each reached on its own
 * direct socket (`unsafeDirectSockets`), so requests go straight to the Worker: neither Miniflare's
 * entry worker nor wrangler dev's proxy sits in front of any target.
 *
 * workerd's stdout/stderr (every `console.log` of every Worker, i.e. identity-edge's JSON log lines)
 * is drained here and discarded after counting lines and checking that no bench secret appears in it:
 * the Worker still pays for producing its logs, but no terminal rendering is measured.
 */

export type TargetName = "passthrough" | "hono" | "edge" | "edge_log_error" | "cpu";

export interface RuntimeOutput {
  lines: number;
  bytes: number;
  /** Access-log lines (`"event":"request"`) and their `cache` results, counted in the output. */
  counts: Record<CountedMarker, number>;
  /** Bench secrets (by position in BENCH_SECRETS) found in the runtime's output. */
  secretHits: number;
  /** The first few lines, for a report. */
  sample: string[];
}

export interface Runtime {
  urls: Record<TargetName, string>;
  /** CPU time workerd has used so far (ns, all threads), NaN where /proc cannot tell. */
  cpuNs: () => number;
  output: () => RuntimeOutput;
  dispose: () => Promise<void>;
}

const MARKERS = {
  request: '"event":"request"',
  HIT: '"cache":"HIT"',
  MISS: '"cache":"MISS"',
  STALE: '"cache":"STALE"',
  BYPASS: '"cache":"BYPASS"',
} as const;
export type CountedMarker = keyof typeof MARKERS;

function countIn(text: string, needle: string, from: number): number {
  let n = 0;
  for (let i = text.indexOf(needle, from); i !== -1; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

/**
 * Counts lines and markers and watches for secrets in a stream. Each chunk is searched together with
 * the previous chunk's tail, so a match split across chunks is still seen, and matches lying wholly in
 * the tail (already counted) are not counted twice.
 */
function drain(stream: Readable, output: RuntimeOutput): void {
  const longest = Math.max(...BENCH_SECRETS.map((s) => s.length), ...Object.values(MARKERS).map((m) => m.length));
  let tail = "";
  stream.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output.bytes += chunk.byteLength;
    output.lines += countIn(text, "\n", 0);
    const window = tail + text;
    for (const [name, marker] of Object.entries(MARKERS) as [CountedMarker, string][]) {
      // Only matches that end inside the new text: start at tail.length - marker.length + 1.
      output.counts[name] += countIn(window, marker, Math.max(0, tail.length - marker.length + 1));
    }
    for (const secret of BENCH_SECRETS) output.secretHits += countIn(window, secret, Math.max(0, tail.length - secret.length + 1));
    tail = window.slice(-longest);
    if (output.sample.length < 5) output.sample.push(...text.split("\n").filter((l) => l.trim() !== "").slice(0, 5 - output.sample.length));
  });
}

/** The identity-edge bindings of the bench (see BENCHMARKS.md). */
export function edgeBindings(upstream: string, logLevel: string): Record<string, string> {
  return {
    TENANTS: benchTenants(),
    STRIPE_API_BASE: upstream,
    STRIPE_KEY_BENCH: BENCH_STRIPE_KEY,
    CACHE_ENCRYPTION_KEY: BENCH_CACHE_KEY,
    LOG_LEVEL: logLevel,
  };
}

/**
 * The production wrangler.toml binds two rate limiters; the bench binds them too (the per-request
 * binding call is part of the cost) with a limit no bench run can reach.
 */
const UNREACHABLE_RATE_LIMITS = {
  SERVER_RATE_LIMITER: { namespace_id: "1002", simple: { limit: 1_000_000_000, period: 60 } },
  RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 } },
} as const;

/**
 * wrangler.toml's compatibility date may be newer than the installed workerd supports (wrangler dev
 * then falls back the same way): the bench runs on the newest date this runtime knows.
 */
export function effectiveCompatibilityDate(configured: string): string {
  return configured > supportedCompatibilityDate ? supportedCompatibilityDate : configured;
}

export async function startRuntime(bundles: Bundles, upstream: string, options: { inspectorPort?: number } = {}): Promise<Runtime> {
  const output: RuntimeOutput = { lines: 0, bytes: 0, counts: { request: 0, HIT: 0, MISS: 0, STALE: 0, BYPASS: 0 }, secretHits: 0, sample: [] };
  const common = {
    modules: true,
    compatibilityDate: effectiveCompatibilityDate(bundles.compatibilityDate),
    compatibilityFlags: bundles.compatibilityFlags,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  } satisfies Partial<WorkerOptions>;
  const edge = (name: string, logLevel: string): WorkerOptions => ({
    ...common,
    name,
    scriptPath: bundles.edge.scriptPath,
    bindings: edgeBindings(upstream, logLevel),
    kvNamespaces: [`LIST_CACHE`, `TENANT_REGISTRY`],
    ratelimits: UNREACHABLE_RATE_LIMITS,
  });
  const workers: WorkerOptions[] = [
    { ...common, name: "passthrough", scriptPath: bundles.passthrough.scriptPath, bindings: { STRIPE_API_BASE: upstream } },
    { ...common, name: "hono", scriptPath: bundles.hono.scriptPath, bindings: { STRIPE_API_BASE: upstream, STRIPE_KEY_BENCH: BENCH_STRIPE_KEY } },
    edge("edge", "info"),
    edge("edge_log_error", "error"),
    {
      ...common,
      name: "cpu",
      scriptPath: bundles.cpu.scriptPath,
      bindings: {
        ...edgeBindings("http://upstream.invalid", "info"),
        BENCH_CONFIG: JSON.stringify({
          tenant: BENCH_TENANT_ID,
          proxyKey: BENCH_PROXY_KEY,
          createBody: CREATE_BODY,
          sessionId: "vs_1Bench0000000000000001",
          upstreamSession: JSON.stringify({ id: "vs_1Bench0000000000000001", object: "identity.verification_session", status: "requires_input", return_url: BENCH_RETURN_URL }),
        }),
      },
    },
  ];
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    ...(options.inspectorPort !== undefined ? { inspectorPort: options.inspectorPort } : {}),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      drain(stdout, output);
      drain(stderr, output);
    },
    workers,
  });
  await mf.ready;
  const pid = findChildProcess("workerd");
  const names: TargetName[] = ["passthrough", "hono", "edge", "edge_log_error", "cpu"];
  const urls = {} as Record<TargetName, string>;
  for (const name of names) urls[name] = (await mf.unsafeGetDirectURL(name)).origin;
  return { urls, cpuNs: () => (pid === undefined ? Number.NaN : processCpuNs(pid)), output: () => ({ ...output, counts: { ...output.counts }, sample: [...output.sample] }), dispose: () => mf.dispose() };
}
