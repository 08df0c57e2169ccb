import type { Bundles } from "./build.ts";
import type { CpuResult } from "./cpu.ts";
import type { LoadResult } from "./load/driver.ts";
import type { MachineInfo } from "./machine.ts";
import type { BenchOptions } from "./options.ts";
import type { ScenarioId } from "./scenarios.ts";
import type { StartupMeasurement } from "./startup.ts";

/** One measured run of one row. */
export interface RunRecord {
  round: number;
  connections: number;
  load: LoadResult;
  /** identity-edge access-log lines written during the run. */
  logLines: number;
  /** Access-log lines with the row's expected cache result, when it has one. */
  expectedCache: number | undefined;
  /** List calls that reached the upstream during the run. */
  upstreamLists: number;
  /** CPU time workerd consumed during the run, per completed request (ms; NaN without /proc). */
  workerdCpuMsPerRequest: number;
}

/** A row: medians over rounds, and totals for the checks. */
export interface RowResult {
  id: ScenarioId;
  label: string;
  target: string;
  upstreamMs: number;
  reference: ScenarioId;
  expectCache: string | undefined;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** workerd CPU per request at `connections` (ms), median over rounds. */
  cpuMs: number;
  rps1: number;
  p50Ms1: number;
  p99Ms1: number;
  requests: number;
  errors: number;
  non2xx: number;
  logLines: number;
  expectedCache: number | undefined;
  upstreamLists: number;
  runs: RunRecord[];
}

export interface BenchResults {
  startedAt: string;
  seconds: number;
  options: BenchOptions;
  command: string;
  machine: MachineInfo;
  /** 1-minute load average at the start and the end: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  compatibilityDate: { configured: string; effective: string };
  bundles: Bundles;
  rows: RowResult[];
  cpu: CpuResult[];
  /** Worker startup (bench/startup.ts); absent from runs that left it out (`--only`) and older results. */
  startup?: StartupMeasurement;
  runtimeOutput: { lines: number; bytes: number; secretHits: number; sample: string[] };
}
