import { parseCommandLine, positiveNumber, usageError } from "../scripts/lib/args.ts";
import { SCENARIOS } from "./scenarios.ts";

/** What `--only` takes besides row ids: the CPU cases and the Worker startup measurement. */
export const SECTIONS = ["cpu", "startup"] as const;
export type Section = (typeof SECTIONS)[number];

/** Whether a section runs: always without `--only`, else only when named. */
export function runsSection(options: Pick<BenchOptions, "only">, section: Section): boolean {
  return !options.only || options.only.includes(section);
}

/** Command-line flags of `npm run bench` (bench/run.ts). */
export interface BenchOptions {
  /** Seconds per measured run. */
  duration: number;
  /** Interleaved rounds; each runs every row once at `connections` and once at one connection. */
  rounds: number;
  connections: number;
  /** Seconds of unmeasured warm-up per row before the first round. */
  warmup: number;
  /** Samples per CPU case. */
  cpuSamples: number;
  /** Target wall time of one CPU batch (ms). */
  cpuBatchMs: number;
  /** Unmeasured iterations per CPU case first, so V8 optimizes the code. */
  cpuWarmup: number;
  /** Rounds of the Worker startup measurement: fresh isolates per Worker (and up to 5 fresh processes). */
  startupRounds: number;
  quick: boolean;
  /** Markdown report to write: only when asked (--write for BENCHMARKS.md, --out FILE, --render). */
  out: string | undefined;
  /** Machine-readable results to write. */
  json: string | undefined;
  /** Reuse the bundles in .bench/build instead of rebuilding. */
  noBuild: boolean;
  /**
   * Only these rows (comma-separated ids), for profiling; `cpu` and `startup` name the CPU cases and
   * the startup measurement, which then run only when named.
   */
  only: string[] | undefined;
  /** Re-render the report from a results file written with --json, without measuring. */
  render: string | undefined;
}

const CLI = {
  command: "npm run bench --",
  usage: `usage: npm run bench -- [--quick] [--write | --out FILE] [--duration S] [--rounds N] [--connections N]
                           [--warmup S] [--cpu-samples N] [--startup-rounds N] [--json FILE] [--no-build]
                           [--only id,id] [--render RESULTS.json]

Measures the proxy against baselines in workerd and prints a summary. Writes a report only when asked.

  (default)        5 rounds x 3 s per row, 10 connections (several minutes; use an idle machine)
  --quick          1 round x 0.4 s per row and connection count, short CPU and startup sampling
  --write          write the report to BENCHMARKS.md (the tracked file)
  --out FILE       write the report to FILE
  --json FILE      write the machine-readable results
  --render FILE    rewrite BENCHMARKS.md (or --out) from a --json results file, without measuring
                   (keeps BENCHMARKS.md's analysis block)
  --no-build       reuse the bundles in .bench/build
  --only id,id     only these rows (for profiling); add \`cpu\` for the CPU cases, \`startup\` for
                   the Worker startup measurement (both run only when named)
  --startup-rounds N   fresh isolates per Worker for the startup measurement (default 25; fresh
                       processes for its first-request part: at most 5)`,
  options: {
    quick: { type: "boolean" },
    write: { type: "boolean" },
    out: { type: "string" },
    "no-out": { type: "boolean" },
    json: { type: "string" },
    render: { type: "string" },
    "no-build": { type: "boolean" },
    only: { type: "string" },
    duration: { type: "string" },
    rounds: { type: "string" },
    connections: { type: "string" },
    warmup: { type: "string" },
    "cpu-samples": { type: "string" },
    "startup-rounds": { type: "string" },
  },
} as const;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseCommandLine(CLI, argv);
  const quick = values.quick ?? false;
  if (values.write && values.out !== undefined) usageError(CLI, "give --write or --out, not both");
  const out = values["no-out"]
    ? undefined
    : (values.out ?? (values.write || values.render !== undefined ? "BENCHMARKS.md" : undefined));
  return {
    duration: positiveNumber(CLI, "--duration", values.duration, quick ? 0.4 : 3),
    rounds: positiveNumber(CLI, "--rounds", values.rounds, quick ? 1 : 5, true),
    connections: positiveNumber(CLI, "--connections", values.connections, 10, true),
    warmup: positiveNumber(CLI, "--warmup", values.warmup, quick ? 0.2 : 1),
    cpuSamples: positiveNumber(CLI, "--cpu-samples", values["cpu-samples"], quick ? 3 : 15, true),
    cpuBatchMs: quick ? 10 : 40,
    cpuWarmup: quick ? 300 : 2000,
    startupRounds: positiveNumber(CLI, "--startup-rounds", values["startup-rounds"], quick ? 2 : 25, true),
    quick,
    out,
    json: values.json,
    noBuild: values["no-build"] ?? false,
    only: values.only === undefined ? undefined : onlyIds(values.only),
    render: values.render,
  };
}

function onlyIds(value: string): string[] {
  const ids = value.split(",").map((id) => id.trim());
  const known = new Set<string>([...SCENARIOS.map((s) => s.id), ...SECTIONS]);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) usageError(CLI, `--only: no row or section ${unknown.map((id) => JSON.stringify(id)).join(", ")}`);
  return ids;
}
