/**
 * Every project script's command line, as a person meets it: `--help` prints the usage and exits 0;
 * an unknown flag prints one line ending "(see --help)", exits 2 and runs nothing. `npm run tenants` has
 * its own tests (test/node/tenants-cli.test.ts); the tools' (bench, load) are in test/tools/cli.test.ts.
 */
import { describe, expect, it } from "vitest";
import { runScript } from "../helpers/run-script.ts";

const SCRIPTS: [script: string, usage: RegExp][] = [
  ["dev/start.ts", /usage: npm start .*--port N/s],
  ["scripts/check-config.ts", /usage: npm run check:config .*Exit codes: 0 valid/s],
  ["scripts/deploy.ts", /usage: npm run deploy -- \[--env NAME\]/],
  ["scripts/gen-openapi.ts", /usage: npm run gen:openapi .*--check/s],
  ["scripts/gen-schema.ts", /usage: npm run schema .*--check/s],
];

describe("script command lines", () => {
  it.each(SCRIPTS)("%s --help prints its usage and exits 0", async (script, usage) => {
    const r = await runScript(script, ["--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stderr).toBe("");
  });

  it.each(SCRIPTS)("%s --bogus prints one line, exits 2 and runs nothing", async (script) => {
    const r = await runScript(script, ["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/: unknown option --bogus \(see --help\)$/)]);
  });
});
