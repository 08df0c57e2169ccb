import { checkTenants } from "../lib/tenant-checks.ts";
import {
  ACCOUNT_PREFIX,
  accountKvKey,
  HOST_PREFIX,
  hostKvKey,
  KEY_PREFIX,
  parseSecretKvKey,
  proxyKeyKvKey,
  SECRET_PREFIX,
  STRIPE_REACH_PREFIX,
  secretKvKey,
  TENANT_PREFIX,
  tenantIdOfKvKey,
  tenantKvKey,
} from "../../src/tenancy/registry-layout.ts";
import { accountOf, hostsOf, isObject, keysOf, parseJson, prefixOf } from "./registry-ops.ts";
import type { KvChange, RegistryReader } from "./registry-store.ts";
import { registrySecretKinds } from "../../src/tenancy/secret-kinds.ts";
import { reachKvKey, sealedKeyFingerprint } from "./stripe-reach-index.ts";
import { sha256Hex } from "../../src/encoding.ts";

/**
 * Bulk planning for `tenants import`: the whole registry brought to a file of tenant configs, the
 * way `terraform plan` brings infrastructure to its files. Pure apart from reads through the reader;
 * nothing is written here.
 *
 * The desired KV state is derived from the final set of configs (the file's tenants, plus the
 * registry's other tenants unless pruned): one `tenant:` entry each, and the `host:`, `key:`, `stripe:`
 * and `account:` indexes built from all of them. The plan is the difference from what KV holds, so an unchanged
 * file writes nothing, and stale or missing index entries (of any tenant) are repaired on the way.
 *
 * Comparison is by SHA-256 of each value. Stores that can list those hashes (the CLI records one in
 * each value's KV metadata when it writes) spare reading values: a re-import of 10,000 unchanged
 * tenants reads one key listing. A value without a recorded hash is read and hashed.
 */

/** One tenant of an import file; `line` is its line in a JSON Lines file (for messages). */
export interface TenantEntry {
  id: string;
  config: unknown;
  line?: number;
}

/** A problem that refuses the import, tied to its tenant (and file line) where there is one. */
export interface BulkIssue {
  tenant?: string;
  line?: number;
  /** Path inside the tenant's config (`verification.return_urls[0]`), "" for the tenant as a whole. */
  path: string;
  message: string;
}

/** A reader that can also list every key with the SHA-256 of its value its writer recorded (metadata). */
export interface HashListingReader extends RegistryReader {
  /** Every key of the namespace → the recorded SHA-256 of its value, or undefined when none was recorded. */
  listHashes(): Promise<Map<string, string | undefined>>;
}

const canListHashes = (reader: RegistryReader): reader is HashListingReader =>
  typeof (reader as Partial<HashListingReader>).listHashes === "function";

export interface ImportPlan {
  /** Refusals; non-empty means `changes` is empty. */
  errors: BulkIssue[];
  notes: string[];
  /** Puts (configs, then indexes), then deletes. */
  changes: KvChange[];
  /**
   * What the plan read for every key it writes or deletes: the SHA-256 of its value, or null when it
   * was absent. `verifyUnchanged` compares it with KV again just before the writes.
   */
  expected: Map<string, string | null>;
  tenants: { created: string[]; changed: string[]; unchanged: string[]; deleted: string[] };
  /** Index entries (`host:`, `key:`) written and deleted, and sealed secrets deleted (with pruned tenants). */
  entries: { indexPuts: number; indexDeletes: number; secretDeletes: number };
  /** Keys listed and values read while planning (for the operator's progress line). */
  read: { keys: number; values: number };
}

export interface ImportOptions {
  /** Delete registry tenants that the file does not name (with their indexes and sealed secrets). */
  prune?: boolean;
  /** Progress lines for long runs. */
  progress?: (line: string) => void;
}

const REGISTRY_PREFIXES = [TENANT_PREFIX, HOST_PREFIX, KEY_PREFIX, STRIPE_REACH_PREFIX, ACCOUNT_PREFIX, SECRET_PREFIX];
const INDEX_PREFIXES = [HOST_PREFIX, KEY_PREFIX, STRIPE_REACH_PREFIX, ACCOUNT_PREFIX];

/**
 * Every registry key → the SHA-256 of its value. Hashes recorded by the writer are taken as they are;
 * other values (and every value of `alsoRead`) are read in one `getMany`, and returned too.
 */
export async function readHashes(
  reader: RegistryReader,
  alsoRead: (key: string) => boolean = () => false,
  only?: ReadonlySet<string>,
): Promise<{ hashes: Map<string, string>; values: Map<string, string>; listed: number }> {
  let listed: Map<string, string | undefined>;
  if (canListHashes(reader)) listed = await reader.listHashes();
  else {
    listed = new Map();
    for (const prefix of REGISTRY_PREFIXES) for (const key of await reader.list(prefix)) listed.set(key, undefined);
  }
  const hashes = new Map<string, string>();
  const toRead: string[] = [];
  for (const [key, hash] of listed) {
    if (!REGISTRY_PREFIXES.some((p) => key.startsWith(p)) || (only && !only.has(key))) continue;
    if (hash !== undefined) hashes.set(key, hash);
    // Secrets are compared only by their recorded hash: their values are never needed here.
    if ((hash === undefined && !key.startsWith(SECRET_PREFIX)) || alsoRead(key)) toRead.push(key);
  }
  const values = new Map<string, string>();
  if (toRead.length > 0) for (const [key, value] of await reader.getMany(toRead)) if (value !== null) values.set(key, value);
  const unhashed = [...values].filter(([key]) => !hashes.has(key));
  const computed = await Promise.all(unhashed.map(([, value]) => sha256Hex(value)));
  for (const [i, [key]] of unhashed.entries()) hashes.set(key, computed[i] ?? "");
  // A secret without a recorded hash still exists: its hash is unknown, never equal to a new one.
  for (const [key, hash] of listed)
    if (hash === undefined && !hashes.has(key) && key.startsWith(SECRET_PREFIX)) hashes.set(key, "?");
  return { hashes, values, listed: listed.size };
}

/** `["bad id"].x` or `acme.x[0]` → the tenant id and the rest of the path. */
function splitIssuePath(path: string): { tenant: string; rest: string } {
  const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(path);
  const head = quoted?.[0] ?? /^[A-Za-z0-9_-]+/.exec(path)?.[0] ?? "";
  const tenant = quoted?.[1] ? (JSON.parse(quoted[1]) as string) : head;
  return { tenant, rest: path.slice(head.length).replace(/^\./, "") };
}

function hostIndexText(entries: { tenant: string; prefix: string }[]): string {
  const sorted = [...entries].sort((a, b) => a.tenant.localeCompare(b.tenant) || a.prefix.localeCompare(b.prefix));
  return JSON.stringify(sorted);
}

/**
 * Plans importing `entries` (already free of duplicate ids: the file parser reports those). Every
 * tenant is validated with the schema and, together with the registry's tenants that stay, with the
 * cross-tenant checks of `checkTenants`; every problem is returned, and then nothing is planned.
 *
 * A tenant of the file without `server_keys` keeps the keys already stored (as `put` does), so a file
 * kept without key hashes never revokes keys issued with `new-key`.
 */
export async function planImport(
  reader: RegistryReader,
  entries: readonly TenantEntry[],
  options: ImportOptions = {},
): Promise<ImportPlan> {
  const progress = options.progress ?? (() => {});
  const inFile = new Map(entries.map((e) => [e.id, e]));
  const lineOf = (id: string) => inFile.get(id)?.line;

  // 1. What KV holds: hashes of everything; values only where the plan needs them.
  const needsValue = (key: string): boolean => {
    // A sealed Stripe key's fingerprint: "one Stripe account, one tenant" compares tenants by it.
    const secret = parseSecretKvKey(key);
    if (secret?.kind === "stripe_key") {
      const entry = inFile.get(secret.tenant);
      return entry === undefined ? !options.prune : registrySecretKinds(entry.config).includes("stripe_key");
    }
    const id = tenantIdOfKvKey(key);
    if (id === undefined) return false;
    const entry = inFile.get(id);
    if (entry === undefined) return !options.prune; // a staying tenant takes part in the cross-tenant checks
    return !(isObject(entry.config) && "server_keys" in entry.config); // its stored keys are kept
  };
  const { hashes: current, values, listed } = await readHashes(reader, needsValue);
  progress(`read the registry: ${listed.toLocaleString("en-US")} key(s), ${values.size.toLocaleString("en-US")} value(s)`);

  const registryIds = [...current.keys()].flatMap((k) => tenantIdOfKvKey(k) ?? []);
  const staying = options.prune ? [] : registryIds.filter((id) => !inFile.has(id)).sort();
  const deleted = options.prune ? registryIds.filter((id) => !inFile.has(id)).sort() : [];
  const notes: string[] = [];

  // 2. The final configs: the registry's staying tenants first, so that a collision is reported
  //    against the file's tenant (the one being written).
  // Null prototype: a tenant id "__proto__" in a file is an own key (and refused as an id), not a prototype.
  const finalConfigs: Record<string, unknown> = Object.create(null);
  const storedText = new Map<string, string>();
  const unreadable: string[] = [];
  for (const id of staying) {
    const text = values.get(tenantKvKey(id));
    if (text === undefined) continue;
    storedText.set(id, text);
    const config = parseJson(text);
    if (isObject(config)) finalConfigs[id] = config;
    else unreadable.push(id);
  }
  if (unreadable.length > 0)
    notes.push(
      `${unreadable.length} tenant(s) in the registry and not in the file have a stored config that is not JSON (left as is): ${firstNames(unreadable)}`,
    );
  const keptKeys: string[] = [];
  for (const entry of entries) {
    let config = entry.config;
    if (isObject(config) && !("server_keys" in config)) {
      const stored = parseJson(values.get(tenantKvKey(entry.id)));
      if (isObject(stored) && Array.isArray(stored.server_keys) && stored.server_keys.length > 0) {
        config = { ...config, server_keys: stored.server_keys };
        keptKeys.push(entry.id);
      }
    }
    finalConfigs[entry.id] = config;
  }
  if (keptKeys.length > 0)
    notes.push(
      `${keptKeys.length} tenant(s) without server_keys in the file keep the proxy keys already stored: ${firstNames(keptKeys)}`,
    );

  // 3. Validation: every problem, each with its tenant.
  const errors: BulkIssue[] = [];
  const staleProblems = new Set<string>();
  const stripeKeyFingerprints = new Map<string, string>();
  for (const id of Object.keys(finalConfigs)) {
    const fingerprint = sealedKeyFingerprint(values.get(secretKvKey(id, "stripe_key")));
    if (fingerprint !== undefined) stripeKeyFingerprints.set(id, fingerprint);
  }
  for (const issue of checkTenants(finalConfigs, { stripeKeyFingerprints })) {
    const { tenant, rest } = splitIssuePath(issue.path);
    if (inFile.has(tenant)) {
      const line = lineOf(tenant);
      errors.push({ tenant, ...(line !== undefined ? { line } : {}), path: rest, message: issue.message });
    } else if (issue.path === "TENANTS") {
      errors.push({ path: "", message: issue.message });
    } else staleProblems.add(tenant); // a stored tenant's own problem: not this import's to refuse
  }
  if (staleProblems.size > 0)
    notes.push(
      `${staleProblems.size} tenant(s) in the registry and not in the file fail validation (see \`get <id>\`): ${firstNames([...staleProblems])}`,
    );
  progress(
    `validated ${entries.length.toLocaleString("en-US")} tenant(s) with ${Object.keys(finalConfigs).length - entries.length} staying in the registry`,
  );
  const tenants = { created: [] as string[], changed: [] as string[], unchanged: [] as string[], deleted };
  if (errors.length > 0)
    return {
      errors,
      notes,
      changes: [],
      expected: new Map(),
      tenants,
      entries: { indexPuts: 0, indexDeletes: 0, secretDeletes: 0 },
      read: { keys: listed, values: values.size },
    };

  // 4. The desired state of tenant: entries and every index.
  const desired = new Map<string, string>();
  const hostEntries = new Map<string, { tenant: string; prefix: string }[]>();
  for (const [id, config] of Object.entries(finalConfigs)) {
    desired.set(tenantKvKey(id), storedText.get(id) ?? JSON.stringify(config));
    for (const host of hostsOf(config)) {
      const list = hostEntries.get(host) ?? [];
      list.push({ tenant: id, prefix: prefixOf(config) });
      hostEntries.set(host, list);
    }
    for (const key of keysOf(config)) desired.set(proxyKeyKvKey(key.sha256), JSON.stringify({ tenant: id, name: key.name }));
  }
  const reachKeys = await Promise.all(
    Object.entries(finalConfigs).map(([id, c]) => reachKvKey(c, stripeKeyFingerprints.get(id))),
  );
  for (const [i, id] of Object.keys(finalConfigs).entries()) {
    const reach = reachKeys[i];
    if (reach !== undefined) desired.set(reach, JSON.stringify({ tenant: id }));
  }
  for (const id of unreadable) desired.set(tenantKvKey(id), storedText.get(id) ?? "");
  for (const [host, list] of hostEntries) desired.set(hostKvKey(host), hostIndexText(list));
  // Connect routing (src/events): account → its tenants, sorted, as `put` writes it.
  const accountEntries = new Map<string, string[]>();
  for (const [id, config] of Object.entries(finalConfigs)) {
    const account = accountOf(config);
    if (account !== undefined) accountEntries.set(account, [...(accountEntries.get(account) ?? []), id]);
  }
  for (const [account, ids] of accountEntries) desired.set(accountKvKey(account), JSON.stringify(ids.sort()));

  // 5. The difference.
  const puts: KvChange[] = [];
  const indexPuts: KvChange[] = [];
  const deletes: KvChange[] = [];
  const expected = new Map<string, string | null>();
  // Hashed in parallel: 30,000 sequential digests cost seconds.
  const desiredHashes = await Promise.all([...desired.values()].map(sha256Hex));
  let n = 0;
  for (const [key, value] of desired) {
    const before = current.get(key);
    const hash = desiredHashes[n++];
    const id = tenantIdOfKvKey(key);
    if (before !== undefined && before === hash) {
      if (id !== undefined && inFile.has(id)) tenants.unchanged.push(id);
      continue;
    }
    expected.set(key, before ?? null);
    if (id !== undefined) {
      (before === undefined ? tenants.created : tenants.changed).push(id);
      puts.push({ op: "put", key, value, summary: `${before === undefined ? "create" : "update"} tenant ${id}` });
    } else indexPuts.push({ op: "put", key, value, summary: `index ${key}` });
  }
  for (const [key, before] of current) {
    if (desired.has(key)) continue;
    const secret = parseSecretKvKey(key);
    if (key.startsWith(SECRET_PREFIX) && !(secret && deleted.includes(secret.tenant))) continue;
    expected.set(key, before);
    const id = tenantIdOfKvKey(key);
    deletes.push({ op: "delete", key, summary: id !== undefined ? `delete tenant ${id}` : `unindex ${key}` });
  }

  const waiting = Object.entries(finalConfigs).filter(
    ([id, config]) => inFile.has(id) && registrySecretKinds(config).some((kind) => !current.has(`${SECRET_PREFIX}${id}:${kind}`)),
  );
  if (waiting.length > 0)
    notes.push(
      `${waiting.length} tenant(s) read a secret from the registry that is not stored yet and answer tenant_misconfigured until it is (set-stripe-key / set-webhook-secret / set-jwt-secret, --from-file for many): ${firstNames(waiting.map(([id]) => id))}`,
    );

  return {
    errors: [],
    notes,
    changes: [...puts, ...indexPuts, ...deletes],
    expected,
    tenants,
    entries: {
      indexPuts: indexPuts.length,
      indexDeletes: deletes.filter((c) => INDEX_PREFIXES.some((p) => c.key.startsWith(p))).length,
      secretDeletes: deletes.filter((c) => c.key.startsWith(SECRET_PREFIX)).length,
    },
    read: { keys: listed, values: values.size },
  };
}

/**
 * The keys of `expected` whose value is no longer what the plan read (another operator wrote since):
 * the plan must not be applied over them. KV has no compare-and-swap, so a write that lands after
 * this check and before the plan's own is not seen (docs/tenants.md).
 */
export async function changedSince(reader: RegistryReader, expected: ReadonlyMap<string, string | null>): Promise<string[]> {
  const { hashes } = await readHashes(reader, () => false, new Set(expected.keys()));
  return [...expected].filter(([key, before]) => (hashes.get(key) ?? null) !== before).map(([key]) => key);
}

/** `a, b, c and 7 more`: the first names of a long list, for one-line summaries. */
export function firstNames(names: readonly string[], limit = 10): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit ? `${shown} and ${(names.length - limit).toLocaleString("en-US")} more` : shown;
}
