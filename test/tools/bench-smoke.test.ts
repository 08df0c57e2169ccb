import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { BenchResults } from "../../bench/results.ts";
import { SCENARIOS } from "../../bench/scenarios.ts";

/**
 * Smoke test of `npm run bench`: the quick mode (one round, well under a second per row) builds the
 * bundles, runs every row, the CPU cases and the startup measurement, and must print a table with
 * every row and sane numbers (a row answering anything but 2xx stops the bench: bench-browser-row.test.ts).
 * It checks the bench works, not how fast anything is: the bars are read from a full run.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const JSON_OUT = ".bench/smoke.json";
/** The quick run takes about 30 s; this bounds it even on a loaded machine. */
const LIMIT_MS = 100_000;

function runQuickBench(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--no-out", "--json", JSON_OUT], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe("npm run bench -- --quick", () => {
  it(
    "prints a table with every row, and every row served requests without errors",
    async () => {
      await rm(join(ROOT, JSON_OUT), { force: true });
      const run = await runQuickBench();
      expect(run.code, run.stderr.slice(-2000)).toBe(0);

      for (const s of SCENARIOS) expect(run.stdout).toContain(`| ${s.label} |`);
      expect(run.stdout).toContain("| bar | measured | status |");
      expect(run.stdout).toContain("### Issue 18 targets");
      expect(run.stdout).toMatch(/\| browser retrieve \(JWT \+ ownership\): ≤ \+200 µs \| [+-]\d/);
      expect(run.stdout).toContain("### Worker startup (workerd CPU)");

      const results = JSON.parse(await readFile(join(ROOT, JSON_OUT), "utf8")) as BenchResults;
      expect(results.rows.map((r) => r.id)).toEqual(SCENARIOS.map((s) => s.id));
      for (const row of results.rows) {
        expect(row.requests, row.id).toBeGreaterThan(0);
        expect(row.rps, row.id).toBeGreaterThan(0);
        expect(row.rps1, row.id).toBeGreaterThan(0);
        expect(row.p50Ms, row.id).toBeGreaterThan(0);
        expect(row.p99Ms, row.id).toBeGreaterThanOrEqual(row.p50Ms);
        expect(row.errors, row.id).toBe(0);
        expect(row.non2xx, row.id).toBe(0);
        // Every measured request of a cached list row logged the cache result the row is about
        // (allowing for the few requests still in flight when a run stops, which are logged too).
        if (row.expectCache) expect(row.expectedCache ?? 0, row.id).toBeGreaterThanOrEqual(row.requests);
      }
      // The "naive proxy + one access line" reference logs one line a request; the plain Hono row none.
      const honoLine = results.rows.find((r) => r.id === "raw_hono_log_retrieve");
      expect(honoLine?.logLines ?? 0).toBeGreaterThanOrEqual(honoLine?.requests ?? 1);
      expect(results.rows.find((r) => r.id === "raw_hono_retrieve")?.logLines).toBe(0);
      for (const c of results.cpu) {
        expect(Number.isFinite(c.medianMs) && c.medianMs > 0, c.case).toBe(true);
      }
      // Worker startup: every bundle measured; identity-edge's script (tens of KiB) costs measurably more
      // to evaluate than an empty module, and a cold start more than its evaluation alone.
      const startup = results.startup;
      expect(startup?.workers.map((w) => w.worker)).toEqual(["raw_passthrough", "raw_hono", "raw_edge"]);
      for (const w of startup?.workers ?? []) {
        expect(Number.isFinite(w.scriptEvalMs) && Number.isFinite(w.firstRequestExtraMs), w.worker).toBe(true);
        expect(w.evalSamples, w.worker).toBeGreaterThan(0);
        expect(w.firstRequestSamples, w.worker).toBeGreaterThan(0);
      }
      const edge = startup?.workers.find((w) => w.worker === "raw_edge");
      expect(edge?.scriptEvalMs).toBeGreaterThan(1);
      expect(edge?.firstRequestExtraMs).toBeGreaterThan(0);
      expect(startup?.empty.loadCpuMs).toBeGreaterThan(0);
      expect(results.bundles.edge.size.gzipBytes).toBeGreaterThan(0);
      // The Worker logged, and none of the bench's secrets reached its output.
      expect(results.runtimeOutput.lines).toBeGreaterThan(0);
      expect(results.runtimeOutput.secretHits).toBe(0);
    },
    LIMIT_MS + 20_000,
  );
});
