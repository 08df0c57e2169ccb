import { describe, expect, it } from "vitest";
import { type FirstRequestSample, type StartupSample, summarizeStartup } from "../../bench/startup.ts";

/**
 * The startup figures are differences with the empty Worker taken round by round, so what every
 * Worker of a round shares (a busy moment of the machine, workerd's own start) cancels out. The
 * measurement itself runs in the bench smoke test (bench-smoke.test.ts).
 */

const ROUNDS = [0, 1, 2];
/** A machine that gets slower every round: +4 ms on every load of round r. */
const drift = (round: number) => 4 * round;

const loads: StartupSample[] = ROUNDS.flatMap((round) => [
  { service: "raw_empty", round, loadCpuMs: 5 + drift(round) },
  { service: "raw_passthrough", round, loadCpuMs: 5.1 + drift(round) },
  { service: "raw_hono", round, loadCpuMs: 7 + drift(round) },
  { service: "raw_edge", round, loadCpuMs: 11 + drift(round) },
]);

const first = (service: FirstRequestSample["service"], round: number, firstMs: number, warmMs: number): FirstRequestSample => ({
  service,
  round,
  listenCpuMs: 25 + drift(round),
  firstRequestCpuMs: firstMs + drift(round),
  warmRequestCpuMs: warmMs,
});
const firsts: FirstRequestSample[] = ROUNDS.flatMap((round) => [
  first("raw_empty", round, 1, 0.5),
  first("raw_passthrough", round, 1.8, 0.6),
  first("raw_hono", round, 3.5, 0.9),
  first("raw_edge", round, 8, 1.5),
]);

describe("summarizeStartup", () => {
  it("subtracts the empty Worker round by round, so a drift shared by the round cancels", () => {
    const { empty, workers } = summarizeStartup(loads, firsts);
    const by = Object.fromEntries(workers.map((w) => [w.worker, w]));
    expect(by.raw_edge?.scriptEvalMs).toBeCloseTo(6, 9);
    expect(by.raw_hono?.scriptEvalMs).toBeCloseTo(2, 9);
    expect(by.raw_passthrough?.scriptEvalMs).toBeCloseTo(0.1, 9);
    // first − warm, minus the empty Worker's first − warm (0.5 ms): edge (8 − 1.5) − 0.5 = 6.
    expect(by.raw_edge?.firstRequestExtraMs).toBeCloseTo(6, 9);
    expect(by.raw_edge?.coldStartMs).toBeCloseTo(12, 9);
    expect(by.raw_edge?.warmRequestCpuMs).toBeCloseTo(1.5, 9);
    expect(by.raw_edge?.evalSamples).toBe(3);
    expect(empty.loadCpuMs).toBe(9);
  });

  it("leaves out a round whose empty Worker sample is missing rather than compare across rounds", () => {
    const withoutEmpty2 = loads.filter((s) => !(s.service === "raw_empty" && s.round === 2));
    const edge = summarizeStartup(withoutEmpty2, firsts).workers.find((w) => w.worker === "raw_edge");
    expect(edge?.evalSamples).toBe(2);
    expect(edge?.scriptEvalMs).toBeCloseTo(6, 9);
  });
});
