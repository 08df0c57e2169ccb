/**
 * `npm run check:config`: validates a tenant config (TENANTS) and lists every problem with its path.
 * The reading and wording are scripts/lib/config-check.ts; the rules are scripts/lib/tenant-checks.ts
 * (the tenant schema the Worker parses with, src/config/schema.ts, plus the cross-tenant checks).
 */
import { checkConfig } from "./lib/config-check.ts";
import { parseCommandLine, usageError } from "./lib/args.ts";

const spec = {
  command: "npm run check:config --",
  usage: `usage: npm run check:config -- [FILE] [--config wrangler.toml] [--env NAME] [--strict]

Checks a tenant config and lists every problem at once, each with its path (acme.verification.…).

  (no FILE)            wrangler.toml's [vars] TENANTS (or --config FILE, --env NAME: [env.NAME.vars])
  FILE.json            a TENANTS map (tenant id → config), or one tenant's config as
                       \`npm run tenants -- put <id> FILE.json\` takes it (the shape is detected and named)
  .dev.vars            the TENANTS line of a dotenv file (as wrangler dev reads it)
  --strict             warnings fail too (npm run deploy runs with --strict)

Warnings: no tenants, a KV namespace id still the 000… placeholder.
Exit codes: 0 valid, 1 problems (or warnings with --strict), 2 unreadable input, unknown --env or bad usage.`,
  options: {
    config: { type: "string" },
    env: { type: "string" },
    strict: { type: "boolean" },
  },
  allowPositionals: true,
} as const;

const { values, positionals } = parseCommandLine(spec);
const [file, ...extra] = positionals;
if (extra.length > 0) usageError(spec, `one file at a time (got ${positionals.length})`);
if (file !== undefined && (values.config !== undefined || values.env !== undefined))
  usageError(spec, "give either a file or --config/--env, not both");

const report = await checkConfig({ file, config: values.config, env: values.env, strict: values.strict ?? false });
for (const line of report.err) console.error(line);
for (const line of report.out) console.log(line);
process.exitCode = report.code;
