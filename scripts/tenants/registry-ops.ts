import { checkTenants } from "../lib/tenant-checks.ts";
import type { ConfigIssue } from "../../src/config/schema.ts";
import { TenantIdSchema } from "../../src/config/schema.ts";
import * as v from "valibot";
import { type Kek, parseSealedSecret, resealSecret, type SealedSecret } from "../../src/tenancy/key-encryption.ts";
import {
  AccountIndexSchema,
  accountKvKey,
  type HostIndex,
  HostIndexSchema,
  hostKvKey,
  KeyIndexSchema,
  parseIndexValue,
  proxyKeyKvKey,
  parseSecretKvKey,
  SECRET_PREFIX,
  secretKvKey,
  TENANT_PREFIX,
  tenantIdOfKvKey,
  tenantKvKey,
} from "../../src/tenancy/registry-layout.ts";
import {
  configValue,
  registrySecretKinds,
  SECRET_KIND_INFO,
  SECRET_KINDS,
  type SecretKind,
} from "../../src/tenancy/secret-kinds.ts";
import type { KvChange, RegistryReader } from "./registry-store.ts";
import {
  planSealedKeyReach,
  reachIndexChanges,
  reachKvKey,
  reachOwner,
  readReachOwner,
  sealedKeyFingerprint,
  sharedReachIssues,
} from "./stripe-reach-index.ts";

/**
 * The registry's planning core: given what KV holds now and an operator command, the exact list of KV
 * writes and deletes that carries it out, keeping configs and indexes consistent (stale host and key
 * index entries are removed, missing ones repaired). Pure apart from reads through `RegistryReader`;
 * nothing is written here. A plan with errors must not be applied.
 *
 * Order within a plan: the tenant config first (it is the source of truth: a revocation takes effect
 * with it), then the indexes, then secrets.
 */
export interface Plan {
  changes: KvChange[];
  /** What the operator should know (revoked keys, a tenant waiting for its Stripe key...). */
  notes: string[];
  /** Why the command cannot be carried out; non-empty means `changes` is empty. */
  errors: ConfigIssue[];
}

type RawConfig = Record<string, unknown>;

export interface NewServerKey {
  name: string;
  sha256: string;
  operations?: string[];
}

export const isObject = (x: unknown): x is RawConfig => typeof x === "object" && x !== null && !Array.isArray(x);

/** The stored text of tenant `id`'s config (`tenant:{id}`), or null when there is none. */
async function storedConfigText(reader: RegistryReader, id: string): Promise<string | null> {
  return (await reader.getMany([tenantKvKey(id)])).get(tenantKvKey(id)) ?? null;
}

export function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for("invalid-json");
  }
}

export function hostsOf(config: unknown): string[] {
  const hosts = isObject(config) && Array.isArray(config.hosts) ? config.hosts : [];
  return [...new Set(hosts.filter((h): h is string => typeof h === "string").map((h) => h.toLowerCase()))];
}

export function prefixOf(config: unknown): string {
  return isObject(config) && typeof config.path_prefix === "string" ? config.path_prefix : "";
}

export function keysOf(config: unknown): { name: string; sha256: string }[] {
  const keys = isObject(config) && Array.isArray(config.server_keys) ? config.server_keys : [];
  return keys.flatMap((k: unknown) =>
    isObject(k) && typeof k.sha256 === "string"
      ? [{ name: typeof k.name === "string" ? k.name : "?", sha256: k.sha256.toLowerCase() }]
      : [],
  );
}

export function accountOf(config: unknown): string | undefined {
  const stripe = isObject(config) && isObject(config.stripe) ? config.stripe : undefined;
  return typeof stripe?.account === "string" ? stripe.account : undefined;
}

/** Browsers omit :443, so `a.test` and `a.test:443` are one Host for conflict checks. */
function hostVariants(host: string): string[] {
  return host.endsWith(":443") ? [host, host.slice(0, -4)] : [host, `${host}:443`];
}

/** Remembers every value read while one command is planned, so no key costs a second round trip. */
export function withReadCache(reader: RegistryReader): RegistryReader {
  const seen = new Map<string, string | null>();
  return {
    async getMany(keys) {
      const missing = [...new Set(keys)].filter((k) => !seen.has(k));
      if (missing.length > 0) for (const [k, value] of await reader.getMany(missing)) seen.set(k, value);
      return new Map(keys.map((k) => [k, seen.get(k) ?? null]));
    },
    list: (prefix) => reader.list(prefix),
  };
}

const fail = (path: string, message: string): Plan => ({ changes: [], notes: [], errors: [{ path, message }] });

function checkId(id: string): Plan | undefined {
  return v.is(TenantIdSchema, id) ? undefined : fail(id, "tenant ids are lowercase letters, digits, - and _ (at most 63)");
}

/**
 * Plans writing `next` as tenant `id`'s config (undefined: deleting the tenant). Validates `next` with
 * the schema and the cross-tenant checks of `checkTenants`, against the other tenants that share a
 * host or key with it (read through the indexes, then confirmed from their own configs).
 */
async function planTenant(reader: RegistryReader, id: string, next: RawConfig | undefined, notes: string[]): Promise<Plan> {
  // Round trips are few (each is a wrangler run for the CLI): what `next` names is read with the
  // stored config, what only the stored config names after it, and nothing twice.
  const nextHostKeys = hostsOf(next).flatMap(hostVariants).map(hostKvKey);
  const nextKeyKeys = keysOf(next).map((k) => proxyKeyKvKey(k.sha256));
  const secretKeys = SECRET_KINDS.map((kind) => secretKvKey(id, kind));
  const nextAccountKeys = [accountOf(next) ?? []].flat().map(accountKvKey);
  const first = await reader.getMany([tenantKvKey(id), ...secretKeys, ...nextHostKeys, ...nextKeyKeys, ...nextAccountKeys]);
  const oldText = first.get(tenantKvKey(id)) ?? null;
  const old = parseJson(oldText);
  if (next === undefined && oldText === null) return fail(id, "no such tenant in the registry");

  const hosts = [...new Set([...hostsOf(old), ...hostsOf(next)])];
  const hashes = [...new Set([...keysOf(old).map((k) => k.sha256), ...keysOf(next).map((k) => k.sha256)])];
  const hostKeys = [...new Set([...nextHostKeys, ...hosts.map(hostKvKey)])];
  // How the tenant reaches Stripe, before and after (its sealed key's fingerprint is in `first`).
  const fingerprint = sealedKeyFingerprint(first.get(secretKvKey(id, "stripe_key")));
  const [oldReach, nextReach] = [await reachKvKey(old, fingerprint), await reachKvKey(next, fingerprint)];
  const reachKeys = [oldReach, nextReach].filter((k): k is string => k !== undefined);
  const accounts = [...new Set([accountOf(old), accountOf(next)].flatMap((a) => a ?? []))];
  const rest = [...hosts.map(hostKvKey), ...hashes.map(proxyKeyKvKey), ...reachKeys, ...accounts.map(accountKvKey)].filter(
    (k) => !first.has(k),
  );
  const index = new Map([...first, ...(rest.length > 0 ? await reader.getMany(rest) : [])]);

  const hostIndex = (host: string): HostIndex => {
    const text = index.get(hostKvKey(host)) ?? null;
    return text === null ? [] : (parseIndexValue(HostIndexSchema, text) ?? []);
  };

  if (next !== undefined) {
    // Other tenants that may collide: whoever the indexes say holds one of our hosts or key hashes.
    const others = new Set<string>();
    for (const key of hostKeys) {
      const text = index.get(key) ?? null;
      for (const e of text === null ? [] : (parseIndexValue(HostIndexSchema, text) ?? []))
        if (e.tenant !== id) others.add(e.tenant);
    }
    for (const hash of keysOf(next).map((k) => k.sha256)) {
      const text = index.get(proxyKeyKvKey(hash)) ?? null;
      const owner = text === null ? undefined : parseIndexValue(KeyIndexSchema, text)?.tenant;
      if (owner !== undefined && owner !== id) others.add(owner);
    }
    const otherConfigs = others.size > 0 ? await reader.getMany([...others].map(tenantKvKey)) : new Map<string, string | null>();
    const all: Record<string, unknown> = {};
    for (const other of [...others].sort()) {
      const config = parseJson(otherConfigs.get(tenantKvKey(other)));
      if (isObject(config)) all[other] = config;
    }
    all[id] = next; // last, so every collision is reported against the tenant being written
    const mine = (p: string) => p === id || p.startsWith(`${id}.`) || p.startsWith(`${id}[`);
    const errors = checkTenants(all).filter((issue) => mine(issue.path));
    // One Stripe account, one tenant: the tenant already indexed as reaching Stripe the same way.
    const reachedBy = nextReach === undefined ? undefined : reachOwner(index.get(nextReach));
    if (reachedBy !== undefined && reachedBy !== id) {
      const theirs = await readReachOwner(reader, reachedBy);
      errors.push(...sharedReachIssues(reachedBy, theirs, id, { config: next, fingerprint }).filter((i) => mine(i.path)));
    }
    if (errors.length > 0) return { changes: [], notes, errors };
  }

  const changes: KvChange[] = [];
  const nextText = next === undefined ? undefined : JSON.stringify(next);
  if (nextText === undefined) changes.push({ op: "delete", key: tenantKvKey(id), summary: `delete tenant ${id}` });
  else if (nextText !== oldText)
    changes.push({
      op: "put",
      key: tenantKvKey(id),
      value: nextText,
      summary: `${oldText === null ? "create" : "update"} tenant ${id}`,
    });

  // Host index: our entry is on exactly the hosts of `next`, with its prefix; other tenants' entries stay.
  const nextHosts = new Set(hostsOf(next));
  const nextPrefix = prefixOf(next);
  for (const host of hosts) {
    const current = hostIndex(host);
    const kept = current.filter((e) => e.tenant !== id);
    const wanted = nextHosts.has(host) ? [...kept, { tenant: id, prefix: nextPrefix }] : kept;
    const sort = (list: HostIndex) =>
      [...list].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.prefix.localeCompare(b.prefix));
    const text = index.get(hostKvKey(host)) ?? null;
    if (text !== null && JSON.stringify(sort(parseIndexValue(HostIndexSchema, text) ?? [])) === JSON.stringify(sort(wanted)))
      continue;
    if (wanted.length === 0) {
      if (text !== null) changes.push({ op: "delete", key: hostKvKey(host), summary: `unindex host ${host}` });
    } else {
      changes.push({
        op: "put",
        key: hostKvKey(host),
        value: JSON.stringify(sort(wanted)),
        summary: `index host ${host} → ${wanted.map((e) => `${e.tenant}${e.prefix}`).join(", ")}`,
      });
    }
  }

  // Key index: one entry per key hash of `next`; our entries for dropped keys go.
  const nextKeys = new Map(keysOf(next).map((k) => [k.sha256, k.name]));
  for (const hash of hashes) {
    const text = index.get(proxyKeyKvKey(hash)) ?? null;
    const current = text === null ? undefined : parseIndexValue(KeyIndexSchema, text);
    const name = nextKeys.get(hash);
    if (name !== undefined) {
      const wanted = JSON.stringify({ tenant: id, name });
      if (text !== wanted)
        changes.push({ op: "put", key: proxyKeyKvKey(hash), value: wanted, summary: `index proxy key ${id}/${name}` });
    } else if (text !== null && (current === undefined || current.tenant === id)) {
      const oldName = keysOf(old).find((k) => k.sha256 === hash)?.name ?? "?";
      changes.push({ op: "delete", key: proxyKeyKvKey(hash), summary: `unindex proxy key ${id}/${oldName}` });
      if (next !== undefined) notes.push(`revokes proxy key ${id}/${oldName}`);
    }
  }

  changes.push(...reachIndexChanges(id, oldReach, nextReach, index));

  // Account index (Connect routing, src/events): our id is listed under exactly the account of `next`.
  for (const account of accounts) {
    const text = index.get(accountKvKey(account)) ?? null;
    const current = text === null ? [] : (parseIndexValue(AccountIndexSchema, text) ?? []);
    const kept = current.filter((t) => t !== id);
    const wanted = (accountOf(next) === account ? [...kept, id] : kept).sort();
    if (text !== null && JSON.stringify([...current].sort()) === JSON.stringify(wanted)) continue;
    if (wanted.length === 0) {
      if (text !== null) changes.push({ op: "delete", key: accountKvKey(account), summary: `unindex account ${account}` });
    } else {
      changes.push({
        op: "put",
        key: accountKvKey(account),
        value: JSON.stringify(wanted),
        summary: `index account ${account} → ${wanted.join(", ")}`,
      });
    }
    if (wanted.length > 1 && accountOf(next) === account)
      notes.push(
        `tenants ${wanted.join(", ")} share stripe.account ${account}: Connect events for it are not relayed (docs/events.md)`,
      );
  }

  // Secrets: all of them go with the tenant; a config that points at one not stored yet gets a note.
  const stored = (kind: SecretKind) => (first.get(secretKvKey(id, kind)) ?? null) !== null;
  if (next === undefined) {
    for (const kind of SECRET_KINDS.filter(stored))
      changes.push({
        op: "delete",
        key: secretKvKey(id, kind),
        summary: `delete the sealed ${SECRET_KIND_INFO[kind].label} of ${id}`,
      });
  } else {
    for (const kind of registrySecretKinds(next).filter((k) => !stored(k))) {
      const { label, command } = SECRET_KIND_INFO[kind];
      notes.push(
        `tenant ${id} reads its ${label} from the registry, and none is stored yet: it answers tenant_misconfigured until \`${command} ${id}\``,
      );
    }
  }
  return { changes, notes, errors: [] };
}

/**
 * `put <id> <config.json>`. The file is the tenant's whole config, except that a file without
 * `server_keys` keeps the keys already stored (issued with `new-key`), so re-applying a config kept in
 * git never revokes keys by accident; a file with `server_keys` sets them exactly.
 */
export async function planPut(store: RegistryReader, id: string, config: unknown): Promise<Plan> {
  const reader = withReadCache(store);
  const bad = checkId(id);
  if (bad) return bad;
  if (!isObject(config)) return fail(id, "the config must be a JSON object (one tenant's config, not the whole TENANTS map)");
  const notes: string[] = [];
  let next = config;
  if (!("server_keys" in config)) {
    const stored = parseJson(await storedConfigText(reader, id));
    if (isObject(stored) && Array.isArray(stored.server_keys) && stored.server_keys.length > 0) {
      next = { ...config, server_keys: stored.server_keys };
      notes.push(`keeps the ${stored.server_keys.length} proxy key(s) already stored (the file has no server_keys)`);
    }
  }
  return planTenant(reader, id, next, notes);
}

/** `delete <id>`: the config, its host and key index entries, and its sealed secrets. */
export async function planDelete(store: RegistryReader, id: string): Promise<Plan> {
  return checkId(id) ?? planTenant(withReadCache(store), id, undefined, []);
}

async function storedConfig(reader: RegistryReader, id: string): Promise<RawConfig | Plan> {
  const bad = checkId(id);
  if (bad) return bad;
  const text = await storedConfigText(reader, id);
  if (text === null) return fail(id, "no such tenant in the registry");
  const config = parseJson(text);
  if (!isObject(config)) return fail(id, "the stored config is not a JSON object; fix it with `put` first");
  return config;
}

const isPlan = (x: RawConfig | Plan): x is Plan => Array.isArray((x as Plan).changes) && Array.isArray((x as Plan).errors);

/** `new-key <id> <name>`: adds the key's hash (the key itself is issued and shown by the caller). */
export async function planAddKey(store: RegistryReader, id: string, key: NewServerKey): Promise<Plan> {
  const reader = withReadCache(store);
  const config = await storedConfig(reader, id);
  if (isPlan(config)) return config;
  const keys = Array.isArray(config.server_keys) ? config.server_keys : [];
  if (keys.some((k: unknown) => isObject(k) && k.name === key.name)) {
    return fail(`${id}.server_keys`, `already has a key named ${key.name}: pick another name, then \`revoke-key\` the old one`);
  }
  const entry: RawConfig = { name: key.name, sha256: key.sha256 };
  if (key.operations) entry.operations = key.operations;
  return planTenant(reader, id, { ...config, server_keys: [...keys, entry] }, []);
}

/** `revoke-key <id> <name>`: removes the key from the config and its index entry. */
export async function planRevokeKey(store: RegistryReader, id: string, name: string): Promise<Plan> {
  const reader = withReadCache(store);
  const config = await storedConfig(reader, id);
  if (isPlan(config)) return config;
  const keys = Array.isArray(config.server_keys) ? config.server_keys : [];
  const kept = keys.filter((k: unknown) => !(isObject(k) && k.name === name));
  if (kept.length === keys.length) return fail(`${id}.server_keys`, `has no key named ${name}`);
  return planTenant(reader, id, { ...config, server_keys: kept }, []);
}

/** `set-stripe-key`, `set-webhook-secret`, `set-jwt-secret <id>`: stores the secret, already sealed by the caller. */
export async function planSetSecret(reader: RegistryReader, id: string, kind: SecretKind, sealed: SealedSecret): Promise<Plan> {
  const config = await storedConfig(reader, id);
  if (isPlan(config)) return config;
  const { label, refPath, bindingPath } = SECRET_KIND_INFO[kind];
  const reach = kind === "stripe_key" ? await planSealedKeyReach(reader, id, config, sealed.fingerprint) : undefined;
  if (reach && reach.errors.length > 0) return { changes: [], notes: [], errors: reach.errors };
  const notes: string[] = [];
  if (configValue(config, refPath) !== "kv") {
    const binding = configValue(config, bindingPath);
    const now =
      typeof binding === "string" ? `still reads its ${label} from the binding ${binding}` : `has no ${label} configured`;
    notes.push(`tenant ${id} ${now}: set "${refPath}": "kv" with \`put\` to use the stored one`);
  }
  return {
    changes: [
      {
        op: "put",
        key: secretKvKey(id, kind),
        value: JSON.stringify(sealed),
        summary: `store the ${label} of ${id}, sealed under KEK ${sealed.kek_id}`,
      },
      ...(reach?.changes ?? []),
    ],
    notes,
    errors: [],
  };
}

/**
 * `rotate-kek`: re-seals the data key of every stored secret not yet under `to` (each is checked to
 * open first). Run it after deploying the Worker with TENANT_KEK = new and TENANT_KEK_PREVIOUS = old.
 */
export async function planRotateKek(reader: RegistryReader, from: readonly Kek[], to: Kek): Promise<Plan> {
  const keys = (await reader.list(SECRET_PREFIX)).filter((k) => parseSecretKvKey(k) !== undefined);
  const values = keys.length > 0 ? await reader.getMany(keys) : new Map<string, string | null>();
  const changes: KvChange[] = [];
  const errors: ConfigIssue[] = [];
  let current = 0;
  for (const key of keys) {
    const { tenant, kind } = parseSecretKvKey(key) ?? { tenant: "", kind: "stripe_key" };
    const { label, purpose, command } = SECRET_KIND_INFO[kind];
    const text = values.get(key) ?? null;
    if (text === null) continue;
    const sealed = parseSealedSecret(text);
    if (!sealed) {
      errors.push({ path: key, message: `is not a sealed record; store the ${label} again with ${command}` });
      continue;
    }
    if (sealed.kek_id === to.id) {
      current++;
      continue;
    }
    try {
      const resealed = await resealSecret(sealed, { tenant, purpose }, from, to);
      changes.push({
        op: "put",
        key,
        value: JSON.stringify(resealed),
        summary: `re-seal the ${label} of ${tenant}: KEK ${sealed.kek_id} → ${to.id}`,
      });
    } catch (err) {
      errors.push({
        path: key,
        message: `cannot be opened (${err instanceof Error ? err.message : "error"}); store the ${label} again with ${command}`,
      });
    }
  }
  const notes = [`${current} stored secret(s) already under KEK ${to.id}, ${changes.length} to re-seal`];
  return errors.length > 0 ? { changes: [], notes, errors } : { changes, notes, errors };
}

/** Tenant ids in the registry, sorted. */
export async function listTenantIds(reader: RegistryReader): Promise<string[]> {
  return (await reader.list(TENANT_PREFIX)).flatMap((k) => tenantIdOfKvKey(k) ?? []).sort();
}
