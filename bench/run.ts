import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildBundles, ROOT, readManifest } from "./build.ts";
import { CPU_CASES } from "./cpu-cases.ts";
import { type CpuResult, measureCpu } from "./cpu.ts";
import { measure, median } from "./load/driver.ts";
import { machineInfo } from "./machine.ts";
import { type BenchOptions, parseOptions, runsSection } from "./options.ts";
import { assertRowAnswers, assertRunAnswered } from "./probe.ts";
import { mergeAnalysis, renderReport, renderSummary } from "./report.ts";
import type { BenchResults, RowResult, RunRecord } from "./results.ts";
import { edgeBindings, effectiveCompatibilityDate, RATE_LIMIT_STANDIN_MODULE, type Runtime, startRuntime } from "./runtime.ts";
import { SCENARIOS, type Scenario } from "./scenarios.ts";
import { measureStartup } from "./startup.ts";
import { readUpstreamStats } from "./upstream.ts";
import { spawnUpstream, stopUpstream } from "./upstream-process.ts";

/**
 * `npm run bench`: identity-edge against a bare passthrough Worker and a minimal Hono proxy, on workerd
 * reached directly, with one upstream and one load generator, in interleaved rounds; then the edge's
 * CPU per request, each Worker's startup (bench/startup.ts) and the bundle size. Prints the summary
 * table (markdown) on stdout, progress on stderr, and writes BENCHMARKS.md (keeping its hand-written
 * analysis block). Every load run is bounded by its duration; the whole bench stops by itself. A row
 * that answers anything but 2xx stops it (bench/probe.ts).
 */

const progress = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

async function measuredRun(
  runtime: Runtime,
  upstream: string,
  s: Scenario,
  round: number,
  connections: number,
  seconds: number,
): Promise<RunRecord> {
  const origin = runtime.urls[s.target];
  if (s.expectCache === "HIT") await assertRowAnswers(origin, s);
  const before = runtime.output().counts;
  const upBefore = await readUpstreamStats(upstream);
  const cpuBefore = runtime.cpuNs(s.target);
  const load = await measure(origin, s.request(), connections, seconds);
  // Let the last log lines through workerd's stdout pipe before counting them, and workerd's thread
  // go idle (Linux accounts a running thread's CPU time at ticks and context switches).
  await sleep(100);
  const cpuAfter = runtime.cpuNs(s.target);
  const after = runtime.output().counts;
  const upAfter = await readUpstreamStats(upstream);
  return {
    round,
    connections,
    load,
    logLines: after.request - before.request,
    expectedCache: s.expectCache ? after[s.expectCache] - before[s.expectCache] : undefined,
    upstreamLists: upAfter.list - upBefore.list,
    workerdCpuMsPerRequest: (cpuAfter - cpuBefore) / 1e6 / Math.max(1, load.requests),
  };
}

function summarize(s: Scenario, runs: RunRecord[], connections: number): RowResult {
  const many = runs.filter((r) => r.connections === connections);
  const one = runs.filter((r) => r.connections === 1);
  const sum = (f: (r: RunRecord) => number) => runs.reduce((acc, r) => acc + f(r), 0);
  return {
    id: s.id,
    label: s.label,
    target: s.target,
    upstreamMs: s.upstreamMs,
    reference: s.reference,
    expectCache: s.expectCache,
    rps: median(many.map((r) => r.load.rps)),
    p50Ms: median(many.map((r) => r.load.p50Ms)),
    p99Ms: median(many.map((r) => r.load.p99Ms)),
    cpuMs: median(many.map((r) => r.workerdCpuMsPerRequest)),
    rps1: median(one.map((r) => r.load.rps)),
    p50Ms1: median(one.map((r) => r.load.p50Ms)),
    p99Ms1: median(one.map((r) => r.load.p99Ms)),
    requests: sum((r) => r.load.requests),
    errors: sum((r) => r.load.errors),
    non2xx: sum((r) => r.load.non2xx),
    logLines: sum((r) => r.logLines),
    expectedCache: s.expectCache ? sum((r) => r.expectedCache ?? 0) : undefined,
    upstreamLists: sum((r) => r.upstreamLists),
    runs,
  };
}

/** Fresh workerd processes per Worker for the startup's first-request part (each costs ~0.3 s; the figure is steady). */
const FIRST_REQUEST_ROUNDS = 5;

function selectedRows(options: BenchOptions): Scenario[] {
  return options.only ? SCENARIOS.filter((s) => options.only?.includes(s.id)) : [...SCENARIOS];
}

async function measureRows(runtime: Runtime, upstream: string, options: BenchOptions): Promise<RowResult[]> {
  const rows = selectedRows(options);
  for (const s of rows) {
    await assertRowAnswers(runtime.urls[s.target], s);
    progress(`warm-up ${s.label} (${options.warmup} s)`);
    await measure(runtime.urls[s.target], s.request(), options.connections, options.warmup);
  }
  const records = new Map<string, RunRecord[]>(rows.map((s) => [s.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    // Rotate the order each round so no row always runs right after the same neighbour.
    const order = rows.map((_, i) => rows[(i + round) % rows.length] as Scenario);
    for (const s of order) {
      for (const connections of [options.connections, 1]) {
        const record = await measuredRun(runtime, upstream, s, round, connections, options.duration);
        assertRunAnswered(s, record);
        records.get(s.id)?.push(record);
        progress(
          `round ${round + 1}/${options.rounds} ${s.label} @${connections}: ${record.load.rps.toFixed(0)} req/s, p50 ${record.load.p50Ms.toFixed(2)} ms, p99 ${record.load.p99Ms.toFixed(2)} ms`,
        );
      }
    }
  }
  return rows.map((s) => summarize(s, records.get(s.id) ?? [], options.connections));
}

async function measureAllCpu(runtime: Runtime, options: BenchOptions): Promise<CpuResult[]> {
  const results: CpuResult[] = [];
  if (!runsSection(options, "cpu")) return results;
  for (const kind of CPU_CASES) {
    const sampling = { samples: options.cpuSamples, batchMs: options.cpuBatchMs, warmup: options.cpuWarmup };
    const result = await measureCpu(runtime.urls.cpu, kind, sampling, () => runtime.cpuNs("cpu"));
    progress(`cpu ${kind}: ${(result.medianMs * 1000).toFixed(1)} µs/iteration (N=${result.iterations})`);
    results.push(result);
  }
  return results;
}

/** Prints the summary and writes the report (keeping BENCHMARKS.md's analysis block) and the results file. */
async function publish(results: BenchResults, out: string | undefined, json: string | undefined): Promise<void> {
  process.stdout.write(`${renderSummary(results)}\n`);
  if (out) {
    const path = resolve(ROOT, out);
    const previous = await readFile(path, "utf8").catch(() => undefined);
    await writeFile(path, formatMarkdown(mergeAnalysis(renderReport(results), previous)));
    progress(`wrote ${out}`);
  }
  if (json) {
    await writeFile(resolve(ROOT, json), `${JSON.stringify(results, null, 2)}\n`);
    progress(`wrote ${json}`);
  }
}

/** The report as the project's formatter (Biome, which CI checks) writes it: aligned tables. */
function formatMarkdown(text: string): string {
  const biome = join(ROOT, "node_modules", ".bin", "biome");
  const formatted = spawnSync(biome, ["format", "--stdin-file-path=BENCHMARKS.md"], { input: text, encoding: "utf8" });
  if (formatted.status === 0 && formatted.stdout) return formatted.stdout;
  progress("biome could not format the report; writing it unformatted (run `npm run format`)");
  return text;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.render) {
    const results = JSON.parse(await readFile(resolve(ROOT, options.render), "utf8")) as BenchResults;
    return publish(results, options.out, undefined);
  }
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? Number.NaN;
  progress(options.noBuild ? "reusing the bundles in .bench/build" : "building bundles with wrangler deploy --dry-run");
  const bundles = options.noBuild ? await readManifest() : await buildBundles();
  const upstream = await spawnUpstream();
  let runtime: Runtime | undefined;
  try {
    runtime = await startRuntime(bundles, upstream.url);
    progress(`upstream ${upstream.url}; workerd targets ${JSON.stringify(runtime.urls)}`);
    const rows = await measureRows(runtime, upstream.url, options);
    const cpu = await measureAllCpu(runtime, options);
    const startup = runsSection(options, "startup")
      ? await measureStartup(
          {
            bundles,
            compatibilityDate: effectiveCompatibilityDate(bundles.compatibilityDate),
            upstream: upstream.url,
            edgeBindings: edgeBindings(upstream.url, "info"),
            rateLimitStandin: RATE_LIMIT_STANDIN_MODULE,
          },
          { evalRounds: options.startupRounds, firstRequestRounds: Math.min(options.startupRounds, FIRST_REQUEST_ROUNDS) },
          progress,
        )
      : undefined;
    const output = runtime.output();
    const results: BenchResults = {
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      options,
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      machine: machineInfo(),
      loadAverage: { start: loadStart, end: loadavg()[0] ?? Number.NaN },
      compatibilityDate: {
        configured: bundles.compatibilityDate,
        effective: effectiveCompatibilityDate(bundles.compatibilityDate),
      },
      bundles,
      rows,
      cpu,
      ...(startup ? { startup } : {}),
      runtimeOutput: { lines: output.lines, bytes: output.bytes, secretHits: output.secretHits, sample: output.sample },
    };
    await publish(results, options.out, options.json);
  } finally {
    await runtime?.dispose();
    stopUpstream(upstream.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
