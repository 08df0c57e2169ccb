/**
 * `npm run tenants -- <command>`: the operator CLI of the KV tenant registry (docs/tenants.md).
 * Every write is planned first by the pure core (./registry-ops.ts), validated with the
 * tenant schema and the cross-tenant checks, printed, and only then applied (never with --dry-run).
 * Secrets never pass through argv: a tenant secret comes from stdin or a named environment variable,
 * KEKs from the environment; a new proxy key is printed once, to stdout, and only its hash is stored.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { issueProxyKey } from "../../src/auth/server-key.ts";
import { parseTenantConfig } from "../../src/config/schema.ts";
import { OPERATION_NAMES } from "../../src/stripe/operations.ts";
import { generateKekBase64, loadKeks, parseSealedSecret, sealSecret } from "../../src/tenancy/key-encryption.ts";
import { secretKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import {
  listTenantIds,
  type Plan,
  planAddKey,
  planDelete,
  planPut,
  planRevokeKey,
  planRotateKek,
  planSetSecret,
  withReadCache,
} from "./registry-ops.ts";
import type { RegistryStore } from "./registry-store.ts";
import { configValue, SECRET_KIND_INFO, SECRET_KINDS, type SecretKind } from "../../src/tenancy/secret-kinds.ts";
import { type BulkContext, exportTenants, importTenants, setSecretsFromFile } from "./bulk.ts";
import { LocalKvStore } from "./local-store.ts";
import { WranglerKvStore, type WranglerTarget } from "./wrangler-store.ts";

export const USAGE = `Usage: npm run tenants -- <command> [arguments] [options]

Commands
  list                              tenant ids in the registry
  get <id>                          print a tenant's config; report its key and index state
  put <id> <config.json>            validate and write a tenant's config and its indexes
  import <file> [--prune [--yes]]   bring the registry to a file of tenants (a JSON map as TENANTS
                                    takes it, or JSON Lines of {"id","config"}): every tenant is
                                    validated first, then the plan is printed and applied in bulk
  export [--out <file>]             every tenant config, in the format import reads (no secrets)
  delete <id> --yes                 remove a tenant, its indexes and its sealed secrets
  new-key <id> <name> [--operations create,retrieve,...]
                                    issue a proxy key (printed once) and store its hash
  revoke-key <id> <name>            remove a proxy key from the config and the index
  set-stripe-key <id> [--from-env VAR]
                                    seal the tenant's Stripe key (read from stdin, or from the
                                    environment variable VAR) under TENANT_KEK and store it
  set-stripe-key --from-file <map.json>
                                    the same for many tenants: {"<id>": "<VAR>", ...}, each key
                                    read from its variable (environment or --env-file)
  set-webhook-secret <id> [--from-env VAR]
                                    the same for its Stripe webhook signing secret (whsec_...)
  set-jwt-secret <id> [--from-env VAR]
                                    the same for its HS256 end-user JWT secret (32+ bytes)
  set-events-secret <id> [--from-env VAR]
                                    the same for its events signing secret (whsec_<base64>)
  rotate-kek                        re-seal every stored secret under TENANT_KEK (old KEK in
                                    TENANT_KEK_PREVIOUS / TENANT_KEK_PREVIOUS_ID)
  generate-kek                      print a new random KEK (for wrangler secret put TENANT_KEK)

Options
  --dry-run                         print what would change, write nothing
  --prune                           import: delete registry tenants the file does not name
  --yes                             confirm a delete (delete, import --prune)
  --format json|jsonl               import/export file format (default: by extension; json)
  --local | --remote                local wrangler state (default) or the real namespace
  --persist-to <dir>                local state directory (default: wrangler's .wrangler/state)
  --via-wrangler                    with --local: use \`wrangler kv\` commands, as --remote does
                                    (default: open the local state directly, much faster in bulk)
  --env <name>  --config <file>  --preview  --binding <name>   passed on to wrangler
  --env-file <file>                 load TENANT_KEK* (and --from-env variables) from a dotenv file
  -h, --help                        this text`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The secret for set-stripe-key / set-webhook-secret / set-jwt-secret, when not taken from the environment. */
  readSecret(prompt: string): Promise<string>;
  env: Record<string, string | undefined>;
  /** A store to use instead of wrangler (tests, embedding). */
  store?: RegistryStore;
}

class UsageError extends Error {}

/** Usage errors print one line and this pointer, not the whole usage. */
const SEE_HELP = "(npm run tenants -- --help)";

function need(positionals: string[], count: number, what: string): string[] {
  if (positionals.length !== count) throw new UsageError(`expected ${what}`);
  return positionals;
}

/** Runs one CLI command; returns the process exit code (0 ok, 1 refused or failed, 2 usage). */
export async function runTenantsCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`error: ${err instanceof Error ? err.message : String(err)} ${SEE_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (values["env-file"]) {
    try {
      Object.assign(io.env, parseDotenv(await readFile(values["env-file"], "utf8")));
    } catch {
      io.err(`cannot read --env-file ${values["env-file"]}`);
      return 2;
    }
  }
  if (values.local && values.remote) {
    io.err("--local and --remote are exclusive");
    return 2;
  }
  const target: WranglerTarget = { binding: values.binding ?? "TENANT_REGISTRY", remote: values.remote === true };
  if (values["persist-to"]) target.persistTo = values["persist-to"];
  if (values.env) target.env = values.env;
  if (values.config) target.config = values.config;
  if (values.preview) target.preview = true;
  // Local state is opened directly (fast, no wrangler run per step) unless --via-wrangler asks for the
  // same `wrangler kv` commands --remote uses.
  const wrangler = io.store || (!target.remote && !values["via-wrangler"]) ? undefined : new WranglerKvStore(target);
  const local = io.store || wrangler ? undefined : new LocalKvStore(target);
  const own = wrangler ?? local;
  const store: RegistryStore = io.store ?? (own as RegistryStore);
  const where = own ? own.describe() : "the given store";
  const dryRun = values["dry-run"] === true;
  const format = values.format;
  if (format !== undefined && format !== "json" && format !== "jsonl") {
    io.err(`error: --format is json or jsonl ${SEE_HELP}`);
    return 2;
  }
  const bulk: BulkContext = {
    store,
    where,
    dryRun,
    err: io.err,
    out: io.out,
    runs: () => wrangler?.runs ?? (local ? 0 : undefined),
    now: () => performance.now(),
  };
  if (own)
    own.progress = (what, done, total) => io.err(`… ${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${what}`);
  if (local) local.notice = (text) => io.err(`note: ${text}`);

  try {
    switch (command) {
      case "generate-kek":
        need(args, 0, "no arguments");
        io.err("A new key-encryption key (set it with `wrangler secret put TENANT_KEK`, and pick a new TENANT_KEK_ID):");
        io.out(generateKekBase64());
        return 0;
      case "list": {
        need(args, 0, "no arguments");
        const ids = await listTenantIds(store);
        if (ids.length > 0) io.out(ids.join("\n"));
        io.err(`${ids.length} tenant(s) in ${where}`);
        return 0;
      }
      case "get": {
        const [id = ""] = need(args, 1, "get <id>");
        return await get(store, id, io);
      }
      case "put": {
        const [id = "", file = ""] = need(args, 2, "put <id> <config.json>");
        let config: unknown;
        try {
          config = JSON.parse(await readFile(file, "utf8"));
        } catch (err) {
          io.err(`cannot read ${file} as JSON: ${err instanceof SyntaxError ? err.message : "unreadable"}`);
          return 1;
        }
        return await execute(await planPut(store, id, config), store, where, dryRun, io);
      }
      case "import": {
        const [file = ""] = need(args, 1, "import <file>");
        return await importTenants(
          { file, ...(format ? { format } : {}), prune: values.prune === true, yes: values.yes === true },
          bulk,
        );
      }
      case "export":
        need(args, 0, "no arguments (export [--out <file>])");
        return await exportTenants(values.out, format, bulk);
      case "delete": {
        const [id = ""] = need(args, 1, "delete <id>");
        if (!dryRun && !values.yes) {
          io.err(`delete removes tenant ${id} and revokes all its keys: add --yes to confirm (or --dry-run to look first)`);
          return 1;
        }
        return await execute(await planDelete(store, id), store, where, dryRun, io);
      }
      case "new-key": {
        const [id = "", name = ""] = need(args, 2, "new-key <id> <name>");
        const operations = values.operations
          ?.split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        const unknown = operations?.filter((op) => !(OPERATION_NAMES as readonly string[]).includes(op)) ?? [];
        if (unknown.length > 0)
          throw new UsageError(`unknown operation(s): ${unknown.join(", ")} (known: ${OPERATION_NAMES.join(", ")})`);
        const issued = await issueProxyKey();
        const plan = await planAddKey(store, id, { name, sha256: issued.sha256, ...(operations ? { operations } : {}) });
        const code = await execute(plan, store, where, dryRun, io);
        if (code === 0 && !dryRun) {
          io.err(`Proxy key ${id}/${name}: shown once, store it now (only its SHA-256 is kept):`);
          io.out(issued.key);
        }
        return code;
      }
      case "revoke-key": {
        const [id = "", name = ""] = need(args, 2, "revoke-key <id> <name>");
        return await execute(await planRevokeKey(store, id, name), store, where, dryRun, io);
      }
      case "set-stripe-key":
      case "set-webhook-secret":
      case "set-jwt-secret":
      case "set-events-secret": {
        const kind = SECRET_KINDS.find((k) => SECRET_KIND_INFO[k].command === command) ?? "stripe_key";
        const fromFile = values["from-file"];
        if (fromFile !== undefined) {
          need(args, 0, `${command} --from-file <map.json> (no tenant id: the file names them)`);
          const keks = await loadKeks(io.env);
          if (!keks.current) throw new UsageError("TENANT_KEK and TENANT_KEK_ID must be set (environment or --env-file)");
          return await setSecretsFromFile(fromFile, kind, keks.current, io.env, bulk);
        }
        const [id = ""] = need(args, 1, `${command} <id>`);
        return await setSecret(store, where, id, kind, values["from-env"], dryRun, io);
      }
      case "rotate-kek": {
        need(args, 0, "no arguments");
        const keks = await loadKeks(io.env);
        if (!keks.current)
          throw new UsageError("TENANT_KEK and TENANT_KEK_ID (the new KEK) must be set (environment or --env-file)");
        return await execute(await planRotateKek(store, keks.all, keks.current), store, where, dryRun, io);
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message} ${SEE_HELP}`);
      return 2;
    }
    // KEK and wrangler errors name variables and commands, never values.
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await local?.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      "dry-run": { type: "boolean" },
      local: { type: "boolean" },
      remote: { type: "boolean" },
      "persist-to": { type: "string" },
      env: { type: "string" },
      config: { type: "string" },
      preview: { type: "boolean" },
      binding: { type: "string" },
      "env-file": { type: "string" },
      "from-env": { type: "string" },
      "from-file": { type: "string" },
      "via-wrangler": { type: "boolean" },
      prune: { type: "boolean" },
      format: { type: "string" },
      out: { type: "string" },
      operations: { type: "string" },
      yes: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** Prints a plan, and applies it unless it has errors or this is a dry run. */
async function execute(plan: Plan, store: RegistryStore, where: string, dryRun: boolean, io: CliIo): Promise<number> {
  for (const e of plan.errors) io.err(`error: ${e.path}: ${e.message}`);
  if (plan.errors.length > 0) {
    io.err("Nothing was written.");
    return 1;
  }
  for (const n of plan.notes) io.err(`note: ${n}`);
  const verb = dryRun ? "Would apply" : "Applying";
  io.err(plan.changes.length === 0 ? `No change needed in ${where}.` : `${verb} ${plan.changes.length} change(s) to ${where}:`);
  for (const c of plan.changes) io.err(`  ${c.op === "put" ? "put   " : "delete"} ${c.key}  (${c.summary})`);
  if (dryRun || plan.changes.length === 0) return 0;
  await store.apply(plan.changes);
  io.err("Done. Workers pick the change up within 30 s of KV showing it (KV takes up to ~60 s to reach every location).");
  return 0;
}

async function get(store: RegistryStore, id: string, io: CliIo): Promise<number> {
  const reader = withReadCache(store);
  const values = await reader.getMany([tenantKvKey(id), ...SECRET_KINDS.map((kind) => secretKvKey(id, kind))]);
  const text = values.get(tenantKvKey(id)) ?? null;
  if (text === null) {
    io.err(`no tenant ${id} in the registry`);
    return 1;
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    io.err(`tenant ${id}: the stored config is not JSON (the Worker answers tenant_misconfigured); fix it with put`);
    io.out(text);
    return 1;
  }
  io.out(JSON.stringify(config, null, 2));
  const parsed = parseTenantConfig(config);
  if (!parsed.ok) for (const issue of parsed.issues) io.err(`invalid: ${issue.path}: ${issue.message}`);
  for (const kind of SECRET_KINDS) io.err(secretState(config, kind, values.get(secretKvKey(id, kind)) ?? null));
  // Re-planning the stored config shows whether its indexes are complete and current.
  const repair = await planPut(reader, id, config);
  if (repair.errors.length === 0 && repair.changes.length > 0) {
    io.err(`indexes: ${repair.changes.length} entr(y/ies) out of date; \`put\` the config again to repair:`);
    for (const c of repair.changes) io.err(`  ${c.summary}`);
  } else if (repair.errors.length === 0) io.err("indexes: consistent");
  return parsed.ok ? 0 : 1;
}

/** Seals a tenant secret read from stdin (or `--from-env VAR`) under TENANT_KEK and stores it. */
async function setSecret(
  store: RegistryStore,
  where: string,
  id: string,
  kind: SecretKind,
  fromEnv: string | undefined,
  dryRun: boolean,
  io: CliIo,
): Promise<number> {
  const { label, purpose, problem } = SECRET_KIND_INFO[kind];
  const keks = await loadKeks(io.env);
  if (!keks.current) throw new UsageError("TENANT_KEK and TENANT_KEK_ID must be set (environment or --env-file)");
  const secret = (fromEnv ? (io.env[fromEnv] ?? "") : await io.readSecret(`${label} for ${id} (input hidden): `)).trim();
  const bad = problem(secret);
  if (bad !== undefined) {
    io.err(`that ${label} ${bad}${fromEnv ? `: check ${fromEnv}` : ""}`);
    return 1;
  }
  const sealed = await sealSecret(secret, { tenant: id, purpose }, keks.current);
  return await execute(await planSetSecret(store, id, kind, sealed), store, where, dryRun, io);
}

/** One line on where a tenant's secret of `kind` comes from, and whether it is there. */
function secretState(config: unknown, kind: SecretKind, storedText: string | null): string {
  const { label, command, refPath, bindingPath } = SECRET_KIND_INFO[kind];
  const sealed = storedText === null ? undefined : parseSealedSecret(storedText);
  if (storedText !== null && !sealed) return `${label}: the stored record is not sealed; store it again with ${command}`;
  if (configValue(config, refPath) === "kv")
    return sealed
      ? `${label}: sealed in the registry under KEK ${sealed.kek_id}`
      : `${label}: ${refPath} is kv but NOTHING is stored (${command})`;
  const binding = configValue(config, bindingPath);
  const where = typeof binding === "string" ? `Worker secret ${binding}` : "none configured";
  return `${label}: ${where}${sealed ? ` (a sealed one is stored too, unused until ${refPath} is "kv")` : ""}`;
}

/** Minimal dotenv: KEY=value, KEY="value", KEY='value'; # comments. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m?.[1] || line.trimStart().startsWith("#")) continue;
    let value = m[2] ?? "";
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
      value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}
