import { registryFor } from "../config/load.ts";
import type { TenantConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { accountKvKey, AccountIndexSchema, parseIndexValue } from "../tenancy/registry-layout.ts";
import type { TenantDirectory } from "../tenancy/directory.ts";

export interface AccountTenant {
  id: string;
  config: TenantConfig;
}

/**
 * The tenants whose `stripe.account` is `account`: those of env.TENANTS (a scan; env holds a handful),
 * then those the registry's `account:{acct}` index names (one KV read per Connect event; events are
 * rare next to API calls), each confirmed from its own config and never one env.TENANTS names.
 * Tenants with an invalid config are left out. A KV read failure throws (the caller answers 5xx,
 * and Stripe retries).
 */
export async function tenantsForAccount(env: Env, directory: TenantDirectory, account: string): Promise<AccountTenant[]> {
  const registry = registryFor(env.TENANTS);
  const found: AccountTenant[] = [];
  for (const record of registry.tenants.values())
    if (record.ok && record.config.stripe.account === account) found.push({ id: record.id, config: record.config });
  const kv = env.TENANT_REGISTRY;
  if (!kv) return found;
  const text = await kv.get(accountKvKey(account));
  const ids = text === null ? [] : (parseIndexValue(AccountIndexSchema, text) ?? []);
  for (const id of ids) {
    if (registry.tenants.has(id) || found.some((t) => t.id === id)) continue;
    const record = await directory.get(id);
    if (record?.ok && record.config.stripe.account === account) found.push({ id, config: record.config });
  }
  return found;
}
