import * as v from "valibot";
import { SECRET_KINDS, type SecretKind } from "./secret-kinds.ts";
import { TenantIdSchema } from "../config/schema.ts";

/**
 * The storage contract of the tenant registry (KV namespace `TENANT_REGISTRY`), shared by the Worker
 * (reads) and the operator CLI (the only writer). docs/tenants.md describes it for humans.
 *
 * | key                          | value                                                        |
 * |------------------------------|--------------------------------------------------------------|
 * | `tenant:{id}`                | the tenant config, JSON, same schema as one entry of TENANTS |
 * | `host:{host}`                | `[{ "tenant": id, "prefix": "/identity" }]` (prefix "" = none)|
 * | `key:{sha256 of proxy key}`  | `{ "tenant": id, "name": "backend" }`                        |
 * | `secret:{id}:{kind}`         | a tenant secret, sealed (key-encryption.ts); kind is         |
 * |                              | stripe_key, webhook_secret or jwt_hs256_secret               |
 * | `stripe:{sha256 of reach}`   | `{ "tenant": id }`: the tenant reaching Stripe with one      |
 * |                              | credential + account (one Stripe account, one tenant)        |
 *
 * The config is the source of truth: an index entry only says where to look, and a hit is accepted
 * only when the tenant's config still lists that host+prefix or key hash. So a revocation takes
 * effect when the config changes, whatever the state of the indexes.
 */

export const TENANT_PREFIX = "tenant:";
export const HOST_PREFIX = "host:";
export const KEY_PREFIX = "key:";
export const SECRET_PREFIX = "secret:";
export const STRIPE_REACH_PREFIX = "stripe:";

/** KV keys are at most 512 bytes; hosts are at most 255 + a port, tenant ids 63, hashes 64. */
export const tenantKvKey = (id: string): string => `${TENANT_PREFIX}${id}`;
export const hostKvKey = (host: string): string => `${HOST_PREFIX}${host.toLowerCase()}`;
export const proxyKeyKvKey = (sha256: string): string => `${KEY_PREFIX}${sha256.toLowerCase()}`;
export const secretKvKey = (id: string, kind: SecretKind): string => `${SECRET_PREFIX}${id}:${kind}`;
/** `reachSha256`: hex SHA-256 of "credential\naccount" (`StripeReach` in scripts/lib/tenant-checks.ts), so the key stays short. */
export const stripeReachKvKey = (reachSha256: string): string => `${STRIPE_REACH_PREFIX}${reachSha256}`;

/** The id in a `tenant:{id}` key, or undefined for any other key. */
export function tenantIdOfKvKey(key: string): string | undefined {
  return key.startsWith(TENANT_PREFIX) ? key.slice(TENANT_PREFIX.length) : undefined;
}

/** The tenant and kind of a `secret:{id}:{kind}` key, or undefined for any other key. */
export function parseSecretKvKey(key: string): { tenant: string; kind: SecretKind } | undefined {
  const m = /^secret:([^:]+):([a-z0-9_]+)$/.exec(key);
  const kind = SECRET_KINDS.find((k) => k === m?.[2]);
  return m?.[1] && kind ? { tenant: m[1], kind } : undefined;
}

export const HostIndexSchema = v.array(v.object({ tenant: TenantIdSchema, prefix: v.string() }));
export type HostIndex = v.InferOutput<typeof HostIndexSchema>;
export type HostIndexEntry = HostIndex[number];

export const KeyIndexSchema = v.object({ tenant: TenantIdSchema, name: v.string() });

export const ReachIndexSchema = v.object({ tenant: TenantIdSchema });
export type KeyIndex = v.InferOutput<typeof KeyIndexSchema>;

/** Parses an index value read from KV; undefined when it is not JSON of the expected shape. */
export function parseIndexValue<T>(schema: v.GenericSchema<unknown, T>, text: string): T | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = v.safeParse(schema, raw);
  return result.success ? result.output : undefined;
}

/**
 * `account:{acct_…}` → `["tenant-a", …]`: the registry tenants whose `stripe.account` is that
 * connected account, for routing the Connect platform webhook (src/events/connect-routing.ts). Like
 * the other indexes it only says where to look: each tenant's own config must still name the account.
 */
export const ACCOUNT_PREFIX = "account:";
export const accountKvKey = (account: string): string => `${ACCOUNT_PREFIX}${account}`;
export const AccountIndexSchema = v.array(TenantIdSchema);
