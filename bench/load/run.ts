/**
 * Bounded load test of the whole local stack: the real `wrangler dev` serving the proxy and the Stripe
 * stub over real HTTP, on loopback only. Thousands of mixed requests (./mix.ts) at high concurrency,
 * while a few hundred upstream faults (500, 503, 409, resets, truncated and HTML bodies, latency) are
 * queued in the stub (./faults.ts). Then it checks the reliability bars (./report.ts, RELIABILITY.md):
 *
 *   - no duplicate create: no Idempotency-Key the proxy sent created more than one session;
 *   - a tenant served from the KV tenant registry (keys resolved cold, under the first burst) works
 *     like the env.TENANTS one;
 *   - no 500 made by the Worker (and no 5xx of its own other than the deliberate 502/504; Stripe's final 5xx
 *     after retries passes through by design);
 *   - every answer has a Request-Id and no connection was dropped;
 *   - no secret (proxy keys, the Stripe key, webhook and cache secrets, a refused caller-sent Stripe
 *     key, every client_secret and session url seen) in wrangler's captured output.
 *
 *   npm run load                 # ~25 s of load, hard cap 20 000 requests, 50 connections
 *   npm run load -- --quick      # ~6 s, 2 000 requests, 20 connections (test/tools/load-smoke.test.ts)
 *   npm run load -- --json out.json
 *
 * Exits non-zero when a bar fails.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseCommandLine } from "../../scripts/lib/args.ts";
import { drive } from "./driver.ts";
import { startFaultPlan } from "./faults.ts";
import { type Context, Mix, SESSIONS } from "./mix.ts";
import { checkSecrets, readOutput, readStub } from "./observe.ts";
import { formatReport, judge, type LoadReport, type Profile } from "./report.ts";
import { type LoadStack, newKeys, REGISTRY_TENANT_ID, runSecrets, startLoadStack } from "./stack.ts";

export { formatReport, type LoadReport } from "./report.ts";

export interface LoadOptions {
  quick?: boolean;
  /** Overrides of the profile. */
  connections?: number;
  maxRequests?: number;
  maxSeconds?: number;
  faults?: number;
  /** Progress lines on stderr. */
  verbose?: boolean;
  /** Writes wrangler's captured output here (to read what went wrong). */
  outputFile?: string;
}

const PROFILES: Record<"full" | "quick", Profile> = {
  full: { connections: 50, maxRequests: 20_000, maxSeconds: 25, faults: 400, serverKeys: 40 },
  quick: { connections: 20, maxRequests: 2_000, maxSeconds: 8, faults: 80, serverKeys: 8 },
};

function profileFor(options: LoadOptions): Profile {
  return {
    ...PROFILES[options.quick ? "quick" : "full"],
    ...(options.connections ? { connections: options.connections } : {}),
    ...(options.maxRequests ? { maxRequests: options.maxRequests } : {}),
    ...(options.maxSeconds ? { maxSeconds: options.maxSeconds } : {}),
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
  };
}

/** Warms up (the first request compiles the Worker) and seeds sessions for retrieve/update/cancel. */
async function seedSessions(origin: string, serverKeys: readonly string[], mix: Mix): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${origin}${SESSIONS}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${serverKeys[i % serverKeys.length]}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "type=document&metadata[seed]=1",
    });
    const text = await res.text();
    mix.record(res.status, text, { kind: "create_form" }, { "request-id": res.headers.get("request-id") ?? "" });
  }
}

export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const profile = profileFor(options);
  const log = (line: string) => {
    if (options.verbose) process.stderr.write(`[load] ${line}\n`);
  };
  const load = await startLoadStack(newKeys(profile.serverKeys), log);
  try {
    return await measureAndJudge(load, profile, options, log);
  } finally {
    await load.stop();
  }
}

async function measureAndJudge(
  load: LoadStack,
  profile: Profile,
  options: LoadOptions,
  log: (line: string) => void,
): Promise<LoadReport> {
  const { stack, keys } = load;
  const origin = stack.proxyUrl;
  const mix = new Mix([...keys.server, ...keys.registry], keys.bad, new URL(origin).host);
  await seedSessions(origin, keys.server, mix);
  log(`seeded ${stack.stub.app.countCreates()} sessions`);

  const faults = await startFaultPlan(stack.stub.url, profile.faults, profile.maxSeconds, log);
  log(`load: ${profile.connections} connections, at most ${profile.maxRequests} requests or ${profile.maxSeconds} s`);
  const run = await drive({
    origin,
    connections: profile.connections,
    maxRequests: profile.maxRequests,
    maxSeconds: profile.maxSeconds,
    timeoutSeconds: 20,
    request: {
      setupRequest: (request, context) => mix.next(request, context as Context),
      onResponse: (status, body, context, headers) =>
        mix.record(status, body, context as Context, (headers ?? {}) as Record<string, string>),
    },
  }).finally(() => faults.stop());
  const { result } = run;
  log(`done: ${result.requests.total} requests in ${run.seconds.toFixed(1)} s`);

  // Let the retries and background work of the last requests settle, then read the stub.
  await sleep(1_500);
  const upstream = readStub(stack.stub.app);
  await load.stop();
  const output = stack.output();
  if (options.outputFile) writeFileSync(options.outputFile, output);
  const { secrets, plainOnly } = runSecrets(load, mix.secrets);
  const seen = readOutput(output, REGISTRY_TENANT_ID);
  const queued = faults.queued();
  const completed = result.requests.total;
  const measured: Omit<LoadReport, "bars" | "ok"> = {
    profile: { ...profile, quick: Boolean(options.quick) },
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "?",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    requests: {
      sent: mix.sent,
      completed,
      durationSeconds: Number(run.seconds.toFixed(2)),
      rps: Math.round(completed / run.seconds),
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
    },
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    byStatus: mix.byStatus,
    byCode: mix.byCode,
    byKind: mix.byKind,
    missingRequestId: mix.missingRequestId,
    unparsable: mix.unparsable,
    unparsableSamples: mix.unparsableSamples,
    faults: { queued, used: queued - upstream.faults.remaining, byKind: upstream.faults.byKind },
    upstream: upstream.upstream,
    duplicates: { ...upstream.duplicates, callerKeyRepeats: mix.callerKeyRepeats },
    status500: mix.ownByStatus["500"] ?? 0,
    // Only the Worker's own 5xx (its `req_edge_` Request-Id): Stripe's final 5xx after retries passes through by design.
    unexpected5xx: Object.entries(mix.ownByStatus)
      .filter(([s]) => Number(s) >= 500 && s !== "502" && s !== "504")
      .reduce((a, [, n]) => a + n, 0),
    wrangler: seen.wrangler,
    listCache: seen.listCache,
    registryTenant: { id: REGISTRY_TENANT_ID, keys: keys.registry.length, byStatus: seen.tenantByStatus },
    secrets: checkSecrets(output, secrets, plainOnly),
  };
  const bars = judge(measured);
  return { ...measured, bars, ok: bars.every((b) => b.ok) };
}

const CLI = {
  command: "npm run load --",
  usage: `usage: npm run load -- [--quick] [--json FILE] [--save-output FILE]

Bounded load test of the local stack (wrangler dev + the Stripe stub, loopback only), then checks the
reliability bars (no duplicate create, no 500, a Request-Id on every answer, no secret in the logs).

  (default)            ~25 s of load, at most 20 000 requests, 50 connections (about 40 s in all)
  --quick              ~6 s, 2 000 requests, 20 connections
  --json FILE          write the report as JSON
  --save-output FILE   write wrangler's captured output

Exit codes: 0 every bar met, 1 a bar failed, 2 bad usage or the stack did not start.`,
  options: {
    quick: { type: "boolean" },
    json: { type: "string" },
    "save-output": { type: "string" },
  },
} as const;

async function main(): Promise<void> {
  const { values } = parseCommandLine(CLI);
  const outputFile = values["save-output"];
  const report = await runLoad({ quick: values.quick ?? false, verbose: true, ...(outputFile ? { outputFile } : {}) });
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  });
}
