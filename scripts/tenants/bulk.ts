/**
 * The bulk commands of `npm run tenants`: `import <file>` (plan, then apply, like `terraform apply`),
 * `export`, and the `--from-file` form of the set-secret commands. Planning is in
 * ./registry-bulk.ts; this file reads files, prints plans and progress, and applies.
 */
import { readFile, writeFile } from "node:fs/promises";
import { findSharedStripeCredentials } from "../lib/tenant-checks.ts";
import { type Kek, sealSecret } from "../../src/tenancy/key-encryption.ts";
import { changedSince, firstNames, type ImportPlan, planImport } from "./registry-bulk.ts";
import { SECRET_PREFIX, TENANT_PREFIX, tenantIdOfKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import { isObject, parseJson, planSetSecret, withReadCache } from "./registry-ops.ts";
import type { KvChange, RegistryStore } from "./registry-store.ts";
import { SECRET_KIND_INFO, type SecretKind } from "../../src/tenancy/secret-kinds.ts";
import { formatIssue, formatOfName, formatTenantsFile, parseTenantsFile, type TenantsFormat } from "./tenants-file.ts";

export interface BulkContext {
  store: RegistryStore;
  /** Where the store is, for messages. */
  where: string;
  dryRun: boolean;
  err(text: string): void;
  out(text: string): void;
  /** wrangler runs so far (undefined for a store that is not wrangler). */
  runs(): number | undefined;
  /** The clock, in ms (tests pass a fixed one). */
  now(): number;
}

const count = (n: number) => n.toLocaleString("en-US");

function elapsed(ctx: BulkContext, since: number): string {
  const runs = ctx.runs();
  return `${((ctx.now() - since) / 1000).toFixed(1)} s${runs === undefined ? "" : `, ${runs} wrangler run(s)`}`;
}

export interface ImportArgs {
  file: string;
  format?: TenantsFormat;
  prune: boolean;
  /** Required to apply a plan that deletes tenants (`--prune`). */
  yes: boolean;
}

/** `import <file>`: every problem first (nothing written if any), then the plan, then the writes. */
export async function importTenants(args: ImportArgs, ctx: BulkContext): Promise<number> {
  const started = ctx.now();
  let text: string;
  try {
    text = await readFile(args.file, "utf8");
  } catch {
    ctx.err(`error: cannot read ${args.file}`);
    return 1;
  }
  const parsed = parseTenantsFile(text, args.format ?? formatOfName(args.file));
  ctx.err(`${args.file}: ${count(parsed.entries.length)} tenant(s) (${parsed.format === "jsonl" ? "JSON Lines" : "JSON map"})`);
  const plan = await planImport(ctx.store, parsed.entries, {
    prune: args.prune,
    progress: (line) => ctx.err(`… ${line} (${elapsed(ctx, started)})`),
  });
  const errors = [...parsed.errors, ...plan.errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (errors.length > 0) {
    for (const issue of errors) ctx.err(`error: ${formatIssue(issue)}`);
    const tenants = new Set(errors.flatMap((e) => (e.tenant === undefined ? [] : [e.tenant])));
    ctx.err(
      `${count(errors.length)} problem(s)${tenants.size > 0 ? ` in ${count(tenants.size)} tenant(s)` : ""}. Nothing was written.`,
    );
    return 1;
  }
  printPlan(plan, ctx, args.prune);
  if (plan.changes.length === 0) {
    ctx.err(`No change needed in ${ctx.where} (${elapsed(ctx, started)}).`);
    return 0;
  }
  if (ctx.dryRun) {
    ctx.err(`Dry run: nothing written (${elapsed(ctx, started)}).`);
    return 0;
  }
  if (plan.tenants.deleted.length > 0 && !args.yes) {
    ctx.err(
      `error: the plan deletes ${count(plan.tenants.deleted.length)} tenant(s) and revokes their keys: add --yes to apply it (nothing was written)`,
    );
    return 1;
  }
  return applyChecked(plan.changes, plan.expected, ctx, started);
}

function printPlan(plan: ImportPlan, ctx: BulkContext, prune: boolean): void {
  for (const note of plan.notes) ctx.err(`note: ${note}`);
  const { created, changed, unchanged, deleted } = plan.tenants;
  ctx.err(`Plan for ${ctx.where}:`);
  const row = (label: string, names: string[]) =>
    ctx.err(`  ${label.padEnd(10)}${count(names.length).padStart(8)}${names.length > 0 ? `  ${firstNames(names)}` : ""}`);
  row("create", created);
  row("change", changed);
  row("unchanged", unchanged);
  if (prune) row("delete", deleted);
  else ctx.err(`  (tenants in the registry and not in the file stay: --prune deletes them)`);
  const e = plan.entries;
  ctx.err(
    `  index entries: ${count(e.indexPuts)} to write, ${count(e.indexDeletes)} to delete${e.secretDeletes > 0 ? `; sealed secrets to delete: ${count(e.secretDeletes)}` : ""}`,
  );
}

/**
 * Applies `changes` unless a key they overwrite or delete changed since it was read (another
 * operator): then nothing is written, and running the command again re-plans from the new state.
 */
async function applyChecked(
  changes: KvChange[],
  expected: ReadonlyMap<string, string | null>,
  ctx: BulkContext,
  started: number,
): Promise<number> {
  const moved = await changedSince(ctx.store, expected);
  if (moved.length > 0) {
    ctx.err(
      `error: ${count(moved.length)} key(s) changed in ${ctx.where} since they were read (another operator?): ${firstNames(moved)}. Nothing was written; run the command again to re-plan.`,
    );
    return 1;
  }
  ctx.err(`Writing ${count(changes.length)} change(s) to ${ctx.where}…`);
  await ctx.store.apply(changes);
  ctx.err(
    `Done: ${count(changes.length)} change(s) in ${elapsed(ctx, started)}. Workers pick them up within 30 s of KV showing them (KV takes up to ~60 s to reach every location).`,
  );
  return 0;
}

/** `export [--out file]`: every tenant config, in the import format; secrets are never in a config. */
export async function exportTenants(
  out: string | undefined,
  format: TenantsFormat | undefined,
  ctx: BulkContext,
): Promise<number> {
  const started = ctx.now();
  const keys = await ctx.store.list(TENANT_PREFIX);
  ctx.err(`… ${count(keys.length)} tenant(s) listed (${elapsed(ctx, started)})`);
  const values = keys.length > 0 ? await ctx.store.getMany(keys) : new Map<string, string | null>();
  const tenants = new Map<string, unknown>();
  const unreadable: string[] = [];
  for (const key of keys) {
    const id = tenantIdOfKvKey(key) ?? "";
    const config = parseJson(values.get(key));
    if (isObject(config)) tenants.set(id, config);
    else if (values.get(key) !== null) unreadable.push(id);
  }
  if (unreadable.length > 0) {
    ctx.err(
      `error: the stored config of ${unreadable.length} tenant(s) is not a JSON object: ${firstNames(unreadable)} (fix them with put); nothing exported`,
    );
    return 1;
  }
  const text = formatTenantsFile(tenants, format ?? (out ? formatOfName(out) : undefined) ?? "json");
  const secrets = (await ctx.store.list(SECRET_PREFIX)).length;
  if (out) await writeFile(out, text);
  else ctx.out(text.replace(/\n$/, ""));
  ctx.err(
    `Exported ${count(tenants.size)} tenant(s)${out ? ` to ${out}` : ""} in ${elapsed(ctx, started)}. Sealed secrets (${count(secrets)}) are not exported: configs name them ("…_ref": "kv") and they stay in the registry.`,
  );
  return 0;
}

/**
 * `set-stripe-key --from-file map.json` (and the other two): `{"tenant": "ENV_VAR", …}`; each value
 * is read from that variable (the environment or --env-file), checked, sealed; every problem is
 * listed and then nothing is written.
 */
export async function setSecretsFromFile(
  file: string,
  kind: SecretKind,
  kek: Kek,
  env: Record<string, string | undefined>,
  ctx: BulkContext,
): Promise<number> {
  const started = ctx.now();
  const { label, purpose, problem } = SECRET_KIND_INFO[kind];
  let map: unknown;
  try {
    map = JSON.parse(await readFile(file, "utf8"));
  } catch {
    ctx.err(`error: cannot read ${file} as JSON`);
    return 1;
  }
  if (!isObject(map)) {
    ctx.err(`error: ${file} must be a JSON object of tenant id → environment variable name`);
    return 1;
  }
  const reader = withReadCache(ctx.store);
  // One read for every tenant's config, then the plans below are served from the cache.
  await reader.getMany(Object.keys(map).map(tenantKvKey));
  const errors: string[] = [];
  const notes: string[] = [];
  const changes: KvChange[] = [];
  const fingerprints = new Map<string, string>();
  for (const [id, variable] of Object.entries(map)) {
    if (typeof variable !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      errors.push(`tenant ${id}: the value must be the name of an environment variable`);
      continue;
    }
    const secret = (env[variable] ?? "").trim();
    const bad = secret === "" ? "is empty or not set" : problem(secret);
    if (bad !== undefined) {
      errors.push(`tenant ${id}: ${variable}: that ${label} ${bad}`);
      continue;
    }
    const sealed = await sealSecret(secret, { tenant: id, purpose }, kek);
    if (sealed.fingerprint !== undefined) fingerprints.set(id, sealed.fingerprint);
    const plan = await planSetSecret(reader, id, kind, sealed);
    for (const e of plan.errors) errors.push(`tenant ${id}: ${e.message}`);
    notes.push(...plan.notes);
    changes.push(...plan.changes);
  }
  // Each plan above checked its tenant against the registry; this checks the file's tenants against
  // each other (one Stripe account, one tenant), which the registry does not know about yet.
  if (fingerprints.size > 1) {
    const configs = await reader.getMany([...fingerprints.keys()].map(tenantKvKey));
    const batch = Object.fromEntries([...fingerprints.keys()].map((id) => [id, parseJson(configs.get(tenantKvKey(id)))]));
    for (const issue of findSharedStripeCredentials(batch, fingerprints)) errors.push(`${issue.path}: ${issue.message}`);
  }
  if (errors.length > 0) {
    for (const e of errors) ctx.err(`error: ${e}`);
    ctx.err(`${count(errors.length)} problem(s). Nothing was written.`);
    return 1;
  }
  for (const n of notes) ctx.err(`note: ${n}`);
  const ids = Object.keys(map);
  ctx.err(
    `${ctx.dryRun ? "Would store" : "Storing"} the ${label} of ${count(ids.length)} tenant(s), sealed under KEK ${kek.id}: ${firstNames(ids)}`,
  );
  if (ctx.dryRun || changes.length === 0) return 0;
  // Secrets are new random ciphertexts each time: there is nothing to compare, only to write.
  await ctx.store.apply(changes);
  ctx.err(`Done in ${elapsed(ctx, started)}.`);
  return 0;
}
