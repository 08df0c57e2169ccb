/**
 * Validates a tenant config (TENANTS) and prints every problem with its path; exits 1 when there is one.
 *
 *   npm run check:config                                   wrangler.toml's [vars] TENANTS
 *   npm run check:config -- path/to/tenants.json           a JSON file holding the TENANTS object
 *   npm run check:config -- --config wrangler.toml --env production
 *
 * The rules live in src/config/checks.ts (the same schema the Worker uses at run time); this is only
 * the command line around them. Exit codes: 0 valid, 1 problems found, 2 unreadable input or bad usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { checkTenants } from "../src/config/checks.ts";
import { readTenantsValue } from "../src/config/load.ts";

type Source = { ok: true; label: string; value: unknown } | { ok: false; message: string };

function readJsonFile(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { ok: false, message: `cannot read ${path}` };
  }
  try {
    return { ok: true, label: path, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: `${path}: TENANTS is not valid JSON` };
  }
}

async function readWranglerVars(
  path: string,
  env: string | undefined,
): Promise<Source | { ok: true; label: string; value: undefined }> {
  // wrangler's own reader, so the TOML (or JSONC) is read exactly as `wrangler deploy` reads it.
  const { experimental_readRawConfig } = await import("wrangler");
  let raw: { vars?: Record<string, unknown>; env?: Record<string, { vars?: Record<string, unknown> }> };
  try {
    raw = experimental_readRawConfig({ config: path }).rawConfig as typeof raw;
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return { ok: false, message: `cannot read ${path}: ${first}` };
  }
  // Vars are not inherited by wrangler environments: [env.x.vars] replaces [vars].
  const vars = env === undefined ? raw.vars : raw.env?.[env]?.vars;
  const label = env === undefined ? `${path} [vars] TENANTS` : `${path} [env.${env}.vars] TENANTS`;
  return { ok: true, label, value: vars?.TENANTS };
}

async function main(): Promise<number> {
  let args: ReturnType<
    typeof parseArgs<{ options: { config: { type: "string" }; env: { type: "string" } }; allowPositionals: true }>
  >;
  try {
    args = parseArgs({ options: { config: { type: "string" }, env: { type: "string" } }, allowPositionals: true });
  } catch (err) {
    console.error(
      `${err instanceof Error ? err.message : String(err)}\nusage: check-config [tenants.json] [--config wrangler.toml] [--env name]`,
    );
    return 2;
  }
  const [file, ...extra] = args.positionals;
  if (extra.length > 0 || (file !== undefined && (args.values.config !== undefined || args.values.env !== undefined))) {
    console.error("usage: check-config [tenants.json] | [--config wrangler.toml] [--env name]");
    return 2;
  }

  const source =
    file !== undefined ? readJsonFile(file) : await readWranglerVars(args.values.config ?? "wrangler.toml", args.values.env);
  if (!source.ok) {
    console.error(source.message);
    return 2;
  }
  if (source.value === undefined) {
    console.log(`${source.label}: not set (it may be provided as a secret); nothing to check`);
    return 0;
  }

  const issues = checkTenants(source.value);
  if (issues.length > 0) {
    for (const issue of issues) console.error(`${issue.path}: ${issue.message}`);
    console.error(`\n${source.label}: ${issues.length} problem${issues.length === 1 ? "" : "s"}`);
    return 1;
  }
  const read = readTenantsValue(source.value);
  const ids = read.ok ? Object.keys(read.value) : [];
  console.log(
    `${source.label}: valid, ${ids.length} tenant${ids.length === 1 ? "" : "s"}${ids.length > 0 ? ` (${ids.join(", ")})` : ""}`,
  );
  return 0;
}

process.exitCode = await main();
