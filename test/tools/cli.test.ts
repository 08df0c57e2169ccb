/**
 * The tools' command lines (bench/), as test/node/cli.test.ts checks the product's scripts: `--help`
 * prints the usage and exits 0; an unknown flag prints one line ending "(see --help)", exits 2 and runs
 * nothing (each of these would otherwise start servers for a minute or more).
 */
import { describe, expect, it } from "vitest";
import { parseOptions, runsSection } from "../../bench/options.ts";
import { itHasTheCommandLineContract, runScript } from "../helpers/run-script.ts";

const TOOLS: [script: string, usage: RegExp][] = [
  ["bench/load/run.ts", /usage: npm run load -- \[--quick\]/],
  ["bench/run.ts", /usage: npm run bench .*--write +write the report to BENCHMARKS.md/s],
  ["bench/tenant-resolution.ts", /usage: npm run bench:tenants/],
  ["bench/tenant-import.ts", /usage: npm run bench:tenants-import -- \[--tenants N\]/],
  ["bench/events.ts", /usage: npm run bench:events -- \[--events N\]/],
  ["bench/log-line.ts", /usage: npm run bench:log-line -- \[--rounds N\]/],
  ["bench/compare.ts", /usage: npm run bench:compare -- --base REF/],
  ["bench/profile.ts", /usage: npx tsx bench\/profile.ts \[--seconds S\]/],
];

describe("tool command lines", () => {
  itHasTheCommandLineContract(TOOLS);

  it("bench:compare refuses a base that is not a commit, and a row that is not identity-edge's, before building", async () => {
    const noBase = await runScript("bench/compare.ts", []);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr.trim()).toBe("npm run bench:compare --: --base REF is required (see --help)");
    const badRef = await runScript("bench/compare.ts", ["--base", "no-such-ref-anywhere"]);
    expect(badRef.code).toBe(2);
    expect(badRef.stderr).toContain("no-such-ref-anywhere is not a commit of this repository");
    const badRow = await runScript("bench/compare.ts", ["--base", "HEAD", "--rows", "raw_pt_retrieve"]);
    expect(badRow.code).toBe(2);
    expect(badRow.stderr).toContain("raw_pt_retrieve is not a workerd serve row of identity-edge");
  });

  it("a bad value is one line too, not the whole usage", async () => {
    const r = await runScript("bench/tenant-resolution.ts", ["--tenants", "many"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('npm run bench:tenants --: --tenants needs a positive integer, not "many" (see --help)');
  });
});

describe("npm run bench writes BENCHMARKS.md only when asked", () => {
  it("writes no report by default, BENCHMARKS.md with --write, FILE with --out", () => {
    expect(parseOptions([]).out).toBeUndefined();
    expect(parseOptions(["--quick"]).out).toBeUndefined();
    expect(parseOptions(["--write"]).out).toBe("BENCHMARKS.md");
    expect(parseOptions(["--out", "x.md"]).out).toBe("x.md");
    expect(parseOptions(["--render", "r.json"]).out).toBe("BENCHMARKS.md");
    expect(parseOptions(["--quick", "--rounds", "2"])).toMatchObject({ quick: true, rounds: 2, duration: 0.4 });
  });
});

describe("npm run bench -- --only", () => {
  it("selects rows, and runs the CPU cases and the startup measurement only when named", () => {
    const rowsOnly = parseOptions(["--only", "raw_pt_retrieve,raw_edge_browser_retrieve"]);
    expect(rowsOnly.only).toEqual(["raw_pt_retrieve", "raw_edge_browser_retrieve"]);
    expect(runsSection(rowsOnly, "cpu")).toBe(false);
    expect(runsSection(rowsOnly, "startup")).toBe(false);
    const withStartup = parseOptions(["--only", "startup"]);
    expect(runsSection(withStartup, "startup")).toBe(true);
    expect(runsSection(withStartup, "cpu")).toBe(false);
    const all = parseOptions([]);
    expect(runsSection(all, "cpu") && runsSection(all, "startup")).toBe(true);
  });

  it("refuses an id that is no row or section before starting anything", async () => {
    const r = await runScript("bench/run.ts", ["--only", "raw_edge_retrieve,raw_edge_browser"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('npm run bench --: --only: no row or section "raw_edge_browser" (see --help)');
  });
});
