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
  quick: boolean;
  /** Markdown report to write (BENCHMARKS.md for a full run; none for --quick unless given). */
  out: string | undefined;
  /** Machine-readable results to write. */
  json: string | undefined;
  /** Reuse the bundles in .bench/build instead of rebuilding. */
  noBuild: boolean;
  /** Only these rows (comma-separated ids), for profiling. */
  only: string[] | undefined;
  /** Re-render the report from a results file written with --json, without measuring. */
  render: string | undefined;
}

export const USAGE = `usage: npm run bench -- [--quick] [--duration S] [--rounds N] [--connections N] [--warmup S]
                           [--cpu-samples N] [--out FILE | --no-out] [--json FILE] [--no-build] [--only id,id]
                           [--render RESULTS.json]
  default: 5 rounds x 3 s per row, 10 connections, writes BENCHMARKS.md
  --quick: 1 round x 0.4 s per row and connection count, short CPU sampling, no report unless --out
  --render: rewrite the report from a --json results file (keeps BENCHMARKS.md's analysis block)`;

function positive(name: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`${name} needs a positive ${integer ? "integer" : "number"}\n${USAGE}`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const quick = argv.includes("--quick");
  const options: BenchOptions = {
    duration: quick ? 0.4 : 3,
    rounds: quick ? 1 : 5,
    connections: 10,
    warmup: quick ? 0.2 : 1,
    cpuSamples: quick ? 3 : 15,
    cpuBatchMs: quick ? 10 : 40,
    cpuWarmup: quick ? 300 : 2000,
    quick,
    out: quick ? undefined : "BENCHMARKS.md",
    json: undefined,
    noBuild: false,
    only: undefined,
    render: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case "--quick":
        break;
      case "--duration":
        options.duration = positive(flag, value, false);
        i++;
        break;
      case "--rounds":
        options.rounds = positive(flag, value, true);
        i++;
        break;
      case "--connections":
        options.connections = positive(flag, value, true);
        i++;
        break;
      case "--warmup":
        options.warmup = positive(flag, value, false);
        i++;
        break;
      case "--cpu-samples":
        options.cpuSamples = positive(flag, value, true);
        i++;
        break;
      case "--out":
        if (!value) throw new Error(`--out needs a file\n${USAGE}`);
        options.out = value;
        i++;
        break;
      case "--no-out":
        options.out = undefined;
        break;
      case "--json":
        if (!value) throw new Error(`--json needs a file\n${USAGE}`);
        options.json = value;
        i++;
        break;
      case "--no-build":
        options.noBuild = true;
        break;
      case "--only":
        if (!value) throw new Error(`--only needs row ids\n${USAGE}`);
        options.only = value.split(",").map((s) => s.trim());
        i++;
        break;
      case "--render":
        if (!value) throw new Error(`--render needs a results file\n${USAGE}`);
        options.render = value;
        options.out ??= "BENCHMARKS.md";
        i++;
        break;
      case "--help":
      case "-h":
        throw new Error(USAGE);
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return options;
}
