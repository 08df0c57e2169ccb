import type { CpuCase } from "./cpu-cases.ts";
import { median } from "./load/driver.ts";

/**
 * Edge CPU per request, measured in workerd with the bench-only CPU Worker (bench/workers/edge-cpu.ts).
 *
 * Method: workerd may freeze its clocks while JavaScript runs (Spectre mitigation; production always
 * does), so the Worker's own `Date.now()`/`performance.now()` cannot be trusted to time a loop. The
 * bench measures from outside instead: one request runs the case N times, another runs it zero times
 * (same request, same response), alternately, and for each N-request
 *
 *     per-iteration cost = (C(N) − median C(0)) / N
 *
 * where C is the CPU time the workerd process consumed during the request (Linux schedstat, all
 * threads; immune to other processes taking the cores), and, as a cross-check, the same with the
 * request's wall time seen from Node. The reported median is the median of those per-batch means (a
 * batch is N iterations back to back, after a warm-up that lets V8 optimize). The Worker also reports
 * what its own clock saw, to show whether that clock moved.
 */

export interface CpuResult {
  case: CpuCase;
  iterations: number;
  samples: number;
  /** Per-iteration workerd CPU time (wall time where /proc is unavailable). */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Per-iteration wall time of the request seen from Node. */
  wallMedianMs: number;
  method: "workerd CPU time" | "wall time";
  /** Median per-iteration time by the Worker's own clock (0 when the clock was frozen). */
  workerClockMs: number;
}

interface Answer {
  n: number;
  clockMs: number;
}

/** Lets workerd's thread go idle, so Linux has accounted all the CPU time it used (at ticks and switches). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

async function timed(
  origin: string,
  kind: CpuCase,
  n: number,
  cpuNs: () => number,
): Promise<{ ms: number; cpuMs: number; answer: Answer }> {
  const cpuStart = cpuNs();
  const start = process.hrtime.bigint();
  const response = await fetch(`${origin}/?case=${kind}&n=${n}`);
  const text = await response.text();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  await settle();
  const cpuMs = (cpuNs() - cpuStart) / 1e6;
  if (response.status !== 200) throw new Error(`cpu case ${kind} answered ${response.status}: ${text}`);
  return { ms, cpuMs, answer: JSON.parse(text) as Answer };
}

/** Measures one case: warm-up, calibrate N so a batch lasts about `batchMs`, then `samples` pairs. */
export interface CpuSampling {
  samples: number;
  /** Target duration of one batch (ms). */
  batchMs: number;
  /** Unmeasured iterations first. */
  warmup: number;
}

export async function measureCpu(origin: string, kind: CpuCase, sampling: CpuSampling, cpuNs: () => number): Promise<CpuResult> {
  const { samples, batchMs, warmup } = sampling;
  const useCpu = Number.isFinite(cpuNs());
  // Warm-up: let V8 tier up the code paths of this case.
  await timed(origin, kind, warmup, cpuNs);
  const probeN = Math.max(100, Math.min(1000, warmup));
  const probe = await timed(origin, kind, probeN, cpuNs);
  const empty = await timed(origin, kind, 0, cpuNs);
  const cost = (t: { ms: number; cpuMs: number }) => (useCpu ? t.cpuMs : t.ms);
  const perIteration = Math.max(0.0005, (cost(probe) - cost(empty)) / probeN);
  const n = Math.min(200_000, Math.max(100, Math.round(batchMs / perIteration)));
  const base: { ms: number; cpuMs: number }[] = [];
  const batches: { ms: number; cpuMs: number }[] = [];
  const clock: number[] = [];
  for (let i = 0; i < samples; i++) {
    base.push(await timed(origin, kind, 0, cpuNs));
    const batch = await timed(origin, kind, n, cpuNs);
    batches.push(batch);
    clock.push(batch.answer.clockMs / n);
  }
  const zeroCpu = median(base.map((b) => b.cpuMs));
  const zeroWall = median(base.map((b) => b.ms));
  const estimates = batches.map((b) => (useCpu ? Math.max(0, b.cpuMs - zeroCpu) : Math.max(0, b.ms - zeroWall)) / n);
  return {
    case: kind,
    iterations: n,
    samples,
    medianMs: median(estimates),
    minMs: Math.min(...estimates),
    maxMs: Math.max(...estimates),
    wallMedianMs: median(batches.map((b) => Math.max(0, b.ms - zeroWall) / n)),
    method: useCpu ? "workerd CPU time" : "wall time",
    workerClockMs: median(clock),
  };
}
