/**
 * Fixtures for the KV tenant registry tests: tenant configs, a KV that counts reads, and seeding
 * through the same plans the operator CLI applies (so tests never hand-write index entries).
 */
import type { RegistryKv } from "../../src/tenancy/registry-kv.ts";
import { planPut } from "../../scripts/tenants/registry-ops.ts";
import type { RegistryStore } from "../../scripts/tenants/registry-store.ts";

export interface FixtureKey {
  name: string;
  sha256: string;
  operations?: string[];
}

/** A minimal valid tenant config. */
let fixtureAccounts = 0;

export function tenantConfig(
  options: {
    hosts?: string[];
    prefix?: string;
    keys?: FixtureKey[];
    stripe?: Record<string, unknown>;
    browser?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    hosts: options.hosts ?? [],
    // A Connect-style default: globex's key with an account of its own per fixture, since two tenants
    // on one key and one account are refused (one Stripe account, one tenant).
    stripe: options.stripe ?? { secret_key: "STRIPE_KEY_GLOBEX", account: `acct_1Fixture${++fixtureAccounts}` },
    verification: { session_types: ["document"] },
    server_keys: options.keys ?? [],
  };
  if (options.prefix !== undefined) config.path_prefix = options.prefix;
  if (options.browser !== undefined) config.browser = options.browser;
  return config;
}

/** A lowercase hex string that looks like a SHA-256 (for tests that never send the key itself). */
export function fakeHash(n: number): string {
  return n.toString(16).padStart(64, "0");
}

/** Writes a tenant through the planning core; fails the test on a refused plan. */
export async function seedTenant(store: RegistryStore, id: string, config: unknown): Promise<void> {
  const plan = await planPut(store, id, config);
  if (plan.errors.length > 0) throw new Error(`seeding ${id} refused: ${JSON.stringify(plan.errors)}`);
  await store.apply(plan.changes);
}

/** A map-backed `RegistryKv` that records every key it is asked for. */
export class CountingKv implements RegistryKv {
  readonly data = new Map<string, string>();
  readonly reads: string[] = [];
  failNext = 0;

  async get(key: string): Promise<string | null> {
    this.reads.push(key);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("KV unavailable");
    }
    return this.data.get(key) ?? null;
  }
}

/** Wraps a real KV binding, counting `get` calls (a new object, so the Worker gives it a fresh cache). */
export function countingBinding(kv: KVNamespace): { binding: KVNamespace; reads: string[] } {
  const reads: string[] = [];
  const binding = {
    get: (key: string, options?: unknown) => {
      reads.push(key);
      return (kv.get as (k: string, o?: unknown) => Promise<unknown>)(key, options);
    },
    put: kv.put.bind(kv),
    delete: kv.delete.bind(kv),
    list: kv.list.bind(kv),
    getWithMetadata: kv.getWithMetadata.bind(kv),
  } as unknown as KVNamespace;
  return { binding, reads };
}
