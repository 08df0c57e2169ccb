import type { HostEntry, TenantRegistry } from "../config/load.ts";
import { HOST_PATTERN } from "../config/schema.ts";

/** DNS limits (RFC 1035): a name of at most 253 characters, labels of at most 63. */
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/**
 * Whether a request's Host could be a tenant host at all: the syntax tenant configs allow (lowercase
 * labels, optional port) within DNS's length limits. Anything else is answered "no tenant" before any
 * lookup, so a hostile Host never becomes a KV key (KV refuses keys over 512 bytes) or costs a read.
 */
export function isServableHost(host: string): boolean {
  const colon = host.lastIndexOf(":");
  const name = colon === -1 ? host : host.slice(0, colon);
  if (name.length > MAX_HOSTNAME_LENGTH || !HOST_PATTERN.test(host)) return false;
  return name.split(".").every((label) => label.length <= MAX_LABEL_LENGTH);
}

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
