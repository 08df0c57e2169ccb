/**
 * `npm run deploy`: `check:config --strict` on the config being deployed (the same --env), then
 * `wrangler deploy`. Stops on any problem or warning: an `--env` that wrangler.toml does not define,
 * no tenants, a KV namespace id still the `000…` placeholder.
 */
import { spawnSync } from "node:child_process";
import { parseCommandLine } from "./lib/args.ts";
import { checkConfig } from "./lib/config-check.ts";

const spec = {
  command: "npm run deploy --",
  usage: `usage: npm run deploy -- [--env NAME] [--config wrangler.toml] [--dry-run]

Runs check:config --strict on what is about to be deployed, then wrangler deploy with the same flags.
Any problem or warning stops it (exit 1; 2 for unreadable input or an --env wrangler.toml lacks).
For other wrangler deploy flags, run \`npm run check:config -- --strict\` and \`npx wrangler deploy …\`.`,
  options: {
    env: { type: "string" },
    config: { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const;

const { values } = parseCommandLine(spec);
const report = await checkConfig({ config: values.config, env: values.env, strict: true });
for (const line of report.err) console.error(line);
for (const line of report.out) console.log(line);
if (report.code !== 0) {
  console.error("npm run deploy: stopped before wrangler deploy (fix the above; see npm run check:config -- --help)");
  process.exit(report.code);
}
const args = ["deploy"];
if (values.env !== undefined) args.push("--env", values.env);
if (values.config !== undefined) args.push("--config", values.config);
if (values["dry-run"]) args.push("--dry-run");
const result = spawnSync("npx", ["wrangler", ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
