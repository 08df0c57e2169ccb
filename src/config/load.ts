import { type ConfigIssue, parseTenantConfig, type TenantConfig, TenantIdSchema } from "./schema.ts";
import * as v from "valibot";
import { createIsolateCache, createIsolateWeakCache } from "../isolate-cache.ts";

export type TenantRecord = { id: string; ok: true; config: TenantConfig } | { id: string; ok: false; issues: ConfigIssue[] };

export interface KeyEntry {
  tenant: TenantRecord;
  name: string;
  operations?: readonly string[];
}

export interface HostEntry {
  tenant: TenantRecord;
  prefix: string;
}

/**
 * The tenants one Worker serves, indexed the two ways a request finds its tenant: by the SHA-256 of a
 * proxy key, and by Host (+ path prefix). A tenant whose own config is invalid stays indexed when its
 * hosts or keys can be read, so that its requests answer `tenant_misconfigured` rather than 401/404,
 * and the other tenants keep working.
 */
export interface TenantRegistry {
  readonly tenants: ReadonlyMap<string, TenantRecord>;
  readonly byKeyHash: ReadonlyMap<string, KeyEntry>;
  /** Host → entries, longest prefix first. */
  readonly byHost: ReadonlyMap<string, readonly HostEntry[]>;
  /** Problems with TENANTS as a whole (not JSON, not an object); the registry is then empty. */
  readonly problems: readonly ConfigIssue[];
}

/** Reads TENANTS as given by wrangler: an object from `[vars]`, or a JSON string. */
export function readTenantsValue(
  value: unknown,
): { ok: true; value: Record<string, unknown> } | { ok: false; issue: ConfigIssue } {
  let raw = value;
  if (raw === undefined || raw === null || raw === "") return { ok: true, value: {} };
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      return { ok: false, issue: { path: "TENANTS", message: "is not valid JSON" } };
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, issue: { path: "TENANTS", message: "must be an object of tenant id → tenant config" } };
  }
  return { ok: true, value: raw as Record<string, unknown> };
}

/** Builds the registry from the TENANTS value; pure, so it can be tested and memoized. */
export function buildRegistry(value: unknown): TenantRegistry {
  const tenants = new Map<string, TenantRecord>();
  const byKeyHash = new Map<string, KeyEntry>();
  const byHost = new Map<string, HostEntry[]>();
  const read = readTenantsValue(value);
  if (!read.ok) return { tenants, byKeyHash, byHost, problems: [read.issue] };

  for (const [id, raw] of Object.entries(read.value)) {
    const parsed = parseTenantConfig(raw);
    const idOk = v.is(TenantIdSchema, id);
    const record: TenantRecord =
      parsed.ok && idOk
        ? { id, ok: true, config: parsed.config }
        : {
            id,
            ok: false,
            issues: [
              ...(idOk ? [] : [{ path: "", message: "tenant id must be lowercase letters, digits, - and _" }]),
              ...(parsed.ok ? [] : parsed.issues),
            ],
          };
    tenants.set(id, record);
    // Index even a broken tenant by whatever of its hosts and keys is readable.
    const shape = raw as { hosts?: unknown; path_prefix?: unknown; server_keys?: unknown } | null;
    const hosts = record.ok
      ? record.config.hosts
      : Array.isArray(shape?.hosts)
        ? shape.hosts.filter((h) => typeof h === "string")
        : [];
    const prefix = record.ok
      ? (record.config.path_prefix ?? "")
      : typeof shape?.path_prefix === "string"
        ? shape.path_prefix
        : "";
    for (const host of hosts) {
      const list = byHost.get(host.toLowerCase()) ?? [];
      list.push({ tenant: record, prefix });
      list.sort((a, b) => b.prefix.length - a.prefix.length);
      byHost.set(host.toLowerCase(), list);
    }
    const keys = record.ok
      ? record.config.server_keys
      : Array.isArray(shape?.server_keys)
        ? (shape.server_keys as unknown[])
        : [];
    for (const key of keys) {
      const k = key as { sha256?: unknown; name?: unknown; operations?: unknown };
      if (typeof k.sha256 !== "string") continue;
      const entry: KeyEntry = { tenant: record, name: typeof k.name === "string" ? k.name : "?" };
      if (Array.isArray(k.operations)) entry.operations = k.operations as string[];
      byKeyHash.set(k.sha256.toLowerCase(), entry);
    }
  }
  return { tenants, byKeyHash, byHost, problems: [] };
}

// Parsing and validating the config on every request would cost more than the rest of the edge work,
// so the registry is memoized per TENANTS value (the object wrangler hands us, or the JSON string).
// A JSON string: only the last one is kept (an isolate sees one).
const byText = createIsolateCache<string, TenantRegistry>({ maxEntries: 1 });
const byObject = createIsolateWeakCache<object, TenantRegistry>();

/** The registry for this environment's TENANTS, built once per distinct value per isolate. */
export function registryFor(value: unknown): TenantRegistry {
  if (typeof value === "string") {
    let registry = byText.get(value);
    if (!registry) {
      registry = buildRegistry(value);
      byText.set(value, registry);
    }
    return registry;
  }
  if (typeof value === "object" && value !== null) {
    return byObject.getOrCreate(value, buildRegistry);
  }
  return buildRegistry(value);
}
