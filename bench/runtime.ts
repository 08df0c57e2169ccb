import type { Readable } from "node:stream";
import { Miniflare, supportedCompatibilityDate, type WorkerOptions } from "miniflare";
import type { Bundles } from "./build.ts";
import { findChildProcess, processCpuNs } from "./proc-cpu.ts";
import { type RawTarget, startRawWorkerd } from "./raw-workerd.ts";
import { drain, emptyOutput, type RuntimeOutput, snapshot } from "./runtime-output.ts";
import {
  BENCH_CACHE_KEY,
  BENCH_JWT_SECRET,
  BENCH_PROXY_KEY,
  BENCH_RETURN_URL,
  BENCH_STRIPE_KEY,
  BENCH_TENANT_ID,
  benchTenants,
  CREATE_BODY,
} from "./tenant.ts";

export type { CountedMarker, RuntimeOutput } from "./runtime-output.ts";

/**
 * The runtimes under test. Main: one workerd process started through Miniflare's API, every bench
 * Worker on its own direct socket (`unsafeDirectSockets`), so requests go straight to the Worker:
 * neither Miniflare's entry worker nor wrangler dev's proxy sits in front. Cross-check: a second
 * workerd process, `workerd serve` with a generated config (raw-workerd.ts), without Miniflare's
 * outbound interceptor, for the passthrough, the Hono proxy and identity-edge's retrieve and create.
 */

export type MiniflareTarget = "passthrough" | "hono" | "edge" | "edge_log_error" | "edge_mf_ratelimit" | "cpu";
export type TargetName = MiniflareTarget | RawTarget;

export interface Runtime {
  urls: Record<TargetName, string>;
  /** CPU time (ns, all threads) the workerd process serving `target` has used so far; NaN where /proc cannot tell. */
  cpuNs: (target: TargetName) => number;
  output: () => RuntimeOutput;
  dispose: () => Promise<void>;
}

/** The identity-edge bindings of the bench (see BENCHMARKS.md). */
export function edgeBindings(upstream: string, logLevel: string): Record<string, string> {
  return {
    TENANTS: benchTenants(),
    STRIPE_API_BASE: upstream,
    STRIPE_KEY_BENCH: BENCH_STRIPE_KEY,
    CACHE_ENCRYPTION_KEY: BENCH_CACHE_KEY,
    BENCH_JWT_SECRET,
    LOG_LEVEL: logLevel,
  };
}

/**
 * The production wrangler.toml binds two rate limiters. Miniflare's own simulation of that binding is
 * a fetch to a Durable Object per call, which costs far more here than the local call production
 * makes (measured: the `edge_retrieve_mf_ratelimit` row); the main rows bind both names to this
 * in-isolate stand-in instead (a wrapped binding that always allows), so the edge's limiter code path
 * runs and only the binding's own cost is left out.
 */
const RATE_LIMIT_STANDIN = "bench-ratelimit-standin";
export const RATE_LIMIT_STANDIN_MODULE =
  "export default function () { return { async limit() { return { success: true }; } }; }\n";
const STANDIN_RATE_LIMITERS = {
  SERVER_RATE_LIMITER: { scriptName: RATE_LIMIT_STANDIN },
  RATE_LIMITER: { scriptName: RATE_LIMIT_STANDIN },
} as const;

/** Miniflare's rate-limiter simulation, with a limit no bench run can reach. */
const MINIFLARE_RATE_LIMITERS = {
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

const MINIFLARE_TARGETS: readonly MiniflareTarget[] = [
  "passthrough",
  "hono",
  "edge",
  "edge_log_error",
  "edge_mf_ratelimit",
  "cpu",
];

export async function startRuntime(
  bundles: Bundles,
  upstream: string,
  /** Inspector ports (bench/profile.ts): Miniflare's, and the `workerd serve` process's. */
  options: { inspectorPort?: number; rawInspectorPort?: number } = {},
): Promise<Runtime> {
  const output = emptyOutput();
  const compatibilityDate = effectiveCompatibilityDate(bundles.compatibilityDate);
  const common = {
    modules: true,
    compatibilityDate,
    compatibilityFlags: bundles.compatibilityFlags,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  } satisfies Partial<WorkerOptions>;
  const edge = (name: MiniflareTarget, logLevel: string, rateLimiters: "standin" | "miniflare"): WorkerOptions => ({
    ...common,
    name,
    scriptPath: bundles.edge.scriptPath,
    bindings: edgeBindings(upstream, logLevel),
    kvNamespaces: ["LIST_CACHE", "TENANT_REGISTRY"],
    ...(rateLimiters === "standin" ? { wrappedBindings: STANDIN_RATE_LIMITERS } : { ratelimits: MINIFLARE_RATE_LIMITERS }),
  });
  const workers: WorkerOptions[] = [
    { ...common, name: "passthrough", scriptPath: bundles.passthrough.scriptPath, bindings: { STRIPE_API_BASE: upstream } },
    {
      ...common,
      name: "hono",
      scriptPath: bundles.hono.scriptPath,
      bindings: { STRIPE_API_BASE: upstream, STRIPE_KEY_BENCH: BENCH_STRIPE_KEY },
    },
    edge("edge", "info", "standin"),
    edge("edge_log_error", "error", "standin"),
    edge("edge_mf_ratelimit", "info", "miniflare"),
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
          upstreamSession: JSON.stringify({
            id: "vs_1Bench0000000000000001",
            object: "identity.verification_session",
            status: "requires_input",
            return_url: BENCH_RETURN_URL,
          }),
        }),
      },
    },
    // A wrapped binding's module: never the first worker, never reached as a Worker.
    { name: RATE_LIMIT_STANDIN, modules: [{ type: "ESModule", path: "standin.mjs", contents: RATE_LIMIT_STANDIN_MODULE }] },
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
  // Found before the second workerd starts, so it is Miniflare's.
  const miniflarePid = findChildProcess("workerd");
  const urls = {} as Record<TargetName, string>;
  for (const name of MINIFLARE_TARGETS) urls[name] = (await mf.unsafeGetDirectURL(name)).origin;
  let raw: Awaited<ReturnType<typeof startRawWorkerd>>;
  try {
    raw = await startRawWorkerd({
      bundles,
      compatibilityDate,
      upstream,
      edgeBindings: edgeBindings(upstream, "info"),
      rateLimitStandin: RATE_LIMIT_STANDIN_MODULE,
      output,
      ...(options.rawInspectorPort !== undefined ? { inspectorPort: options.rawInspectorPort } : {}),
    });
  } catch (err) {
    await mf.dispose();
    throw err;
  }
  Object.assign(urls, raw.urls);
  const pidOf = (target: TargetName) => (target.startsWith("raw_") ? raw.pid : miniflarePid);
  return {
    urls,
    cpuNs: (target) => {
      const pid = pidOf(target);
      return pid === undefined ? Number.NaN : processCpuNs(pid);
    },
    output: () => snapshot(output),
    dispose: async () => {
      await Promise.all([mf.dispose(), raw.stop()]);
    },
  };
}
