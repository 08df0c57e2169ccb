import { type HostEntry, type KeyEntry, registryFor, type TenantRecord } from "../config/load.ts";
import type { Env } from "../env.ts";
import { INTERNAL_ERROR_MESSAGE, ProxyError } from "../errors.ts";
import { errorFields, type Logger } from "../log/logger.ts";
import { kvTenantRegistry, type RegistryLookup } from "./registry-kv.ts";
import { isServableHost, resolveByHost } from "./resolve-tenant.ts";

/**
 * Where the request path looks tenants up: `env.TENANTS` (memoized per isolate) first, then, when
 * the `TENANT_REGISTRY` KV namespace is bound, the KV tenant registry (docs/tenants.md). env.TENANTS
 * wins for the tenants it names, for the key hashes it lists and for the hosts it serves: KV is never
 * asked about those.
 */
export interface TenantDirectory {
  findByKeyHash(sha256: string): Promise<KeyEntry | undefined>;
  findByHost(host: string, path: string): Promise<{ entry: HostEntry; path: string } | undefined>;
  get(id: string): Promise<TenantRecord | undefined>;
}

/**
 * The directory for this environment. A TENANTS value that cannot be read at all fails every tenant
 * request. `now` (the request's `deps.now`) drives the registry cache's TTL. A KV read that fails is
 * logged and answers `internal_error`: the proxy fails closed rather than serve a tenant it cannot
 * confirm.
 */
export function tenantDirectory(env: Env, log: Logger, requestId: string, now: () => number = Date.now): TenantDirectory {
  const registry = registryFor(env.TENANTS);
  if (registry.problems.length > 0) {
    for (const p of registry.problems)
      log.error("tenants_config_invalid", { request_id: requestId, detail: `${p.path}: ${p.message}` });
    throw new ProxyError(
      "tenant_misconfigured",
      "The identity proxy's tenant configuration is invalid. The operator has been notified in the logs.",
    );
  }
  const fromEnv: TenantDirectory = {
    findByKeyHash: async (sha256) => registry.byKeyHash.get(sha256),
    findByHost: async (host, path) => resolveByHost(registry, host, path),
    get: async (id) => registry.tenants.get(id),
  };
  if (!env.TENANT_REGISTRY) return fromEnv;

  const kv = kvTenantRegistry(env.TENANT_REGISTRY);
  const lookup = (): RegistryLookup => ({
    now: now(),
    isEnvTenant: (id) => registry.tenants.has(id),
    warn: (event, detail) => log.warn(event, { request_id: requestId, detail }),
  });
  const fromKv = async <T>(read: (ctx: RegistryLookup) => Promise<T>): Promise<T> => {
    try {
      return await read(lookup());
    } catch (err) {
      log.error("tenant_registry_read_failed", { request_id: requestId, ...errorFields(err) });
      throw new ProxyError("internal_error", INTERNAL_ERROR_MESSAGE);
    }
  };
  return {
    findByKeyHash: async (sha256) => registry.byKeyHash.get(sha256) ?? fromKv((ctx) => kv.findByKeyHash(sha256, ctx)),
    // A host env.TENANTS serves is answered by env.TENANTS alone, whatever the path; a Host no tenant
    // could have is answered "none" without asking KV (junk Hosts would otherwise each cost a read).
    findByHost: async (host, path) => {
      if (registry.byHost.has(host.toLowerCase())) return resolveByHost(registry, host, path);
      return isServableHost(host.toLowerCase()) ? fromKv((ctx) => kv.findByHost(host, path, ctx)) : undefined;
    },
    get: async (id) => registry.tenants.get(id) ?? fromKv((ctx) => kv.get(id, ctx)),
  };
}
