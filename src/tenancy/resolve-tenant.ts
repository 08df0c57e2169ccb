import type { HostEntry, TenantRegistry } from "../config/load.ts";

/**
 * Strips a tenant's path prefix on a segment boundary: `/identity/v1/...` → `/v1/...`. Returns
 * undefined when the path is not under the prefix (`/identityx/...` is not under `/identity`).
 */
export function stripPrefix(path: string, prefix: string): string | undefined {
  if (prefix === "") return path;
  if (path === prefix) return "/";
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
}

/**
 * Finds the tenant that serves a browser request: the Host must equal one of the tenant's hosts
 * exactly (with its port; never a suffix match), and the path must be under the tenant's prefix.
 * Where tenants share a host, the longest prefix wins.
 */
export function resolveByHost(
  registry: TenantRegistry,
  host: string,
  path: string,
): { entry: HostEntry; path: string } | undefined {
  const entries = registry.byHost.get(host.toLowerCase());
  if (!entries) return undefined;
  for (const entry of entries) {
    const rest = stripPrefix(path, entry.prefix);
    if (rest !== undefined) return { entry, path: rest };
  }
  return undefined;
}
