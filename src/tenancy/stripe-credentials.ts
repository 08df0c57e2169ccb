import { registryFor } from "../config/load.ts";
import type { TenantConfig } from "../config/schema.ts";
import { type Env, readBinding } from "../env.ts";
import { createIsolateWeakCache } from "../isolate-cache.ts";

/**
 * One Stripe account, one tenant (docs/security.md, finding 1): two tenants that reach the same Stripe
 * account with the same key would each read and change the other's sessions. `check:config` refuses
 * them by binding name and the registry CLI by key fingerprint; this is the run-time net.
 */

// Per env object (workerd reuses it across an isolate's requests; a new one only costs a recount):
// "account\nkey" → the env.TENANTS tenants using that key on that account.
const envReaches = createIsolateWeakCache<Env, Map<string, string[]>>();

function reachesOfEnvTenants(env: Env): Map<string, string[]> {
  let reaches = envReaches.get(env);
  if (reaches) return reaches;
  reaches = new Map();
  for (const record of registryFor(env.TENANTS).tenants.values()) {
    if (!record.ok || record.config.stripe.secret_key === undefined) continue;
    const key = readBinding(env, record.config.stripe.secret_key);
    if (key === undefined) continue;
    const slot = `${record.config.stripe.account ?? ""}\n${key}`;
    reaches.set(slot, [...(reaches.get(slot) ?? []), record.id]);
  }
  envReaches.set(env, reaches);
  return reaches;
}

/**
 * Another tenant of env.TENANTS that reaches the same Stripe account (`config.stripe.account`, or
 * none) with the same key value as tenant `tenantId`, whatever the binding names; undefined when none
 * does. Compares key values in memory (never logged), computed once per env object, so a request pays
 * one map lookup. Tenants of the KV registry are compared against env.TENANTS here; against each other
 * they are refused when written (the CLI's fingerprint index), since checking here would cost a KV read.
 */
export function tenantSharingStripeKey(tenantId: string, config: TenantConfig, key: string, env: Env): string | undefined {
  const owners = reachesOfEnvTenants(env).get(`${config.stripe.account ?? ""}\n${key}`) ?? [];
  return owners.find((id) => id !== tenantId);
}
