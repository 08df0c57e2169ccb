import type * as v from "valibot";
import { buildRegistry, type HostEntry, type KeyEntry, type TenantRecord, type TenantRegistry } from "../config/load.ts";
import { LookupCache } from "./memory-cache.ts";
import {
  type HostIndex,
  HostIndexSchema,
  hostKvKey,
  type KeyIndex,
  KeyIndexSchema,
  parseIndexValue,
  proxyKeyKvKey,
  tenantKvKey,
} from "./registry-layout.ts";
import { stripPrefix } from "./resolve-tenant.ts";
import { createIsolateWeakCache } from "../isolate-cache.ts";

/**
 * How long an isolate trusts what it read from the registry, found or not. A config change, a deleted
 * tenant or a revoked key takes effect in every isolate within this time after KV shows the change
 * (KV itself needs up to ~60 s to reach every location). Short enough for revocation, long enough that
 * a busy tenant costs about one KV read per isolate per 30 s.
 */
export const REGISTRY_CACHE_TTL_MS = 30_000;

/**
 * Bounds on what one isolate keeps (an isolate has 128 MB). A parsed tenant config is a few KB, so
 * 5,000 of them stay well under 20 MB; index entries are tiny. Unknown keys and hosts are remembered
 * in separate, smaller maps: an attacker cycling random keys can fill those, never evict real entries.
 */
export const REGISTRY_CACHE_LIMITS = {
  tenants: { ttlMs: REGISTRY_CACHE_TTL_MS, maxFound: 5_000, maxMissing: 2_000 },
  keys: { ttlMs: REGISTRY_CACHE_TTL_MS, maxFound: 20_000, maxMissing: 10_000 },
  hosts: { ttlMs: REGISTRY_CACHE_TTL_MS, maxFound: 20_000, maxMissing: 10_000 },
} as const;

/** The part of a KV namespace the registry reads (a `KVNamespace` is one; tests pass counting fakes). */
export interface RegistryKv {
  get(key: string): Promise<string | null>;
}

/** Per-request facts the registry needs: the clock, which ids env.TENANTS owns, and where to warn. */
export interface RegistryLookup {
  now: number;
  /** True for tenant ids that env.TENANTS names: those are never taken from KV. */
  isEnvTenant(id: string): boolean;
  /** Reports a registry entry that cannot be used (never with secret material in it). */
  warn(event: string, detail: string): void;
}

interface CachedTenant {
  record: TenantRecord;
  /** The tenant indexed the way env.TENANTS is (buildRegistry), to confirm index hits. */
  view: TenantRegistry;
  /** False when the stored value is not even a JSON object: index hits then answer tenant_misconfigured. */
  verifiable: boolean;
}

/**
 * The KV tenant registry, read side. Resolving a request costs two KV reads when cold (the index
 * entry, then the tenant config; one more per extra candidate when tenants share a host) and none
 * while both are cached; everything read is validated with the tenant schema, and an index hit
 * counts only if the config confirms it.
 */
export class KvTenantRegistry {
  readonly #kv: RegistryKv;
  readonly #tenants: LookupCache<CachedTenant>;
  readonly #keys: LookupCache<KeyIndex>;
  readonly #hosts: LookupCache<HostIndex>;

  constructor(kv: RegistryKv, limits: typeof REGISTRY_CACHE_LIMITS = REGISTRY_CACHE_LIMITS) {
    this.#kv = kv;
    this.#tenants = new LookupCache(limits.tenants);
    this.#keys = new LookupCache(limits.keys);
    this.#hosts = new LookupCache(limits.hosts);
  }

  /** Cache sizes, for tests and benchmarks. */
  get cacheSizes() {
    return { tenants: this.#tenants.sizes, keys: this.#keys.sizes, hosts: this.#hosts.sizes };
  }

  /** The key entry for a proxy-key hash, when a KV tenant (not named in env.TENANTS) lists it. */
  async findByKeyHash(sha256: string, ctx: RegistryLookup): Promise<KeyEntry | undefined> {
    const hash = sha256.toLowerCase();
    const index = await this.#keys.lookup(hash, ctx.now, () =>
      this.#readIndex(proxyKeyKvKey(hash), KeyIndexSchema, "a proxy-key index entry", ctx),
    );
    if (!index || ctx.isEnvTenant(index.tenant)) return undefined;
    const tenant = await this.#tenant(index.tenant, ctx);
    if (!tenant) return undefined;
    if (!tenant.verifiable) return { tenant: tenant.record, name: index.name };
    return tenant.view.byKeyHash.get(hash);
  }

  /** The KV tenant serving `host` + `path` (longest prefix first), and the path under its prefix. */
  async findByHost(host: string, path: string, ctx: RegistryLookup): Promise<{ entry: HostEntry; path: string } | undefined> {
    const h = host.toLowerCase();
    const entries = await this.#hosts.lookup(h, ctx.now, async () => {
      const list = await this.#readIndex(hostKvKey(h), HostIndexSchema, `the index entry of host ${h}`, ctx);
      return list && list.length > 0 ? [...list].sort((a, b) => b.prefix.length - a.prefix.length) : undefined;
    });
    for (const candidate of entries ?? []) {
      if (ctx.isEnvTenant(candidate.tenant)) continue;
      const rest = stripPrefix(path, candidate.prefix);
      if (rest === undefined) continue;
      const tenant = await this.#tenant(candidate.tenant, ctx);
      if (!tenant) continue;
      if (!tenant.verifiable) return { entry: { tenant: tenant.record, prefix: candidate.prefix }, path: rest };
      const confirmed = tenant.view.byHost.get(h)?.find((e) => e.prefix === candidate.prefix);
      if (confirmed) return { entry: confirmed, path: rest };
    }
    return undefined;
  }

  /** A KV tenant by id (env.TENANTS ids are not looked up here). */
  async get(id: string, ctx: RegistryLookup): Promise<TenantRecord | undefined> {
    if (ctx.isEnvTenant(id)) return undefined;
    return (await this.#tenant(id, ctx))?.record;
  }

  #tenant(id: string, ctx: RegistryLookup): Promise<CachedTenant | undefined> {
    return this.#tenants.lookup(id, ctx.now, async () => {
      const text = await this.#kv.get(tenantKvKey(id));
      return text === null ? undefined : tenantFromKv(id, text);
    });
  }

  async #readIndex<T>(
    kvKey: string,
    schema: v.GenericSchema<unknown, T>,
    what: string,
    ctx: RegistryLookup,
  ): Promise<T | undefined> {
    const text = await this.#kv.get(kvKey);
    if (text === null) return undefined;
    const value = parseIndexValue(schema, text);
    if (value === undefined) ctx.warn("tenant_registry_entry_invalid", `${what} is not valid; it is ignored`);
    return value;
  }
}

/**
 * Parses a `tenant:{id}` value exactly like an entry of env.TENANTS; a bad entry breaks only this
 * tenant (its requests answer tenant_misconfigured, and the proxy logs the schema issues).
 */
function tenantFromKv(id: string, text: string): CachedTenant {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const view = buildRegistry({ [id]: raw });
  const verifiable = typeof raw === "object" && raw !== null && !Array.isArray(raw);
  const record: TenantRecord = verifiable
    ? (view.tenants.get(id) ?? { id, ok: false, issues: [{ path: "", message: "missing" }] })
    : { id, ok: false, issues: [{ path: "", message: "the registry entry is not a JSON object" }] };
  return { record, view, verifiable };
}

// One registry (and so one cache) per KV binding per isolate. workerd hands every request of an
// isolate the same binding object, and tests that wrap the binding get a fresh cache.
const registries = createIsolateWeakCache<RegistryKv, KvTenantRegistry>();

/** The isolate's registry for this binding. */
export function kvTenantRegistry(kv: RegistryKv): KvTenantRegistry {
  return registries.getOrCreate(kv, (binding) => new KvTenantRegistry(binding));
}
