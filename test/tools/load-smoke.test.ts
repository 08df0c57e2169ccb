/**
 * CI's slice of the load test: `bench/load/run.ts --quick` against the real `wrangler dev` and the stub
 * over loopback (~2 000 requests at most, 8 s of load, 80 upstream faults), with every reliability
 * bar checked: no duplicate create, no 500, a Request-Id on every answer, no secret in the output.
 */
import { expect, it } from "vitest";
import { formatReport, runLoad } from "../../bench/load/run.ts";

it("a quick mixed load with injected faults meets every reliability bar", async () => {
  const report = await runLoad({ quick: true });
  const failed = report.bars.filter((b) => !b.ok);
  expect(failed, formatReport(report)).toEqual([]);
  expect(report.duplicates.extraSessions).toBe(0);
  expect(report.status500).toBe(0);
  expect(report.secrets.leaks).toBe(0);
  expect(report.faults.used).toBeGreaterThan(0);
}, 90_000);
