/**
 * Every project script's command line, as a person meets it: `--help` prints the usage and exits 0;
 * an unknown flag prints one line ending "(see --help)", exits 2 and runs nothing. `npm run tenants` has
 * its own tests (test/node/tenants-cli.test.ts); the tools' (bench, load) are in test/tools/cli.test.ts.
 */
import { describe } from "vitest";
import { itHasTheCommandLineContract } from "../helpers/run-script.ts";

const SCRIPTS: [script: string, usage: RegExp][] = [
  ["dev/start.ts", /usage: npm start .*--port N/s],
  ["scripts/check-config.ts", /usage: npm run check:config .*Exit codes: 0 valid/s],
  ["scripts/deploy.ts", /usage: npm run deploy -- \[--env NAME\]/],
  ["scripts/gen-openapi.ts", /usage: npm run gen:openapi .*--check/s],
  ["scripts/gen-schema.ts", /usage: npm run schema .*--check/s],
];

describe("script command lines", () => {
  itHasTheCommandLineContract(SCRIPTS);
});
