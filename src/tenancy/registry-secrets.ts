import { cachedKeks, type KekSource, openSecret, parseSealedSecret, SecretOpenError } from "./key-encryption.ts";
import { LookupCache } from "./memory-cache.ts";
import { REGISTRY_CACHE_TTL_MS, type RegistryKv } from "./registry-kv.ts";
import { stripeSecretKvKey } from "./registry-layout.ts";

/** Why a tenant's KV-stored Stripe key is unusable; each maps to a log detail naming no secret. */
export type StoredKeyFailure =
  | "missing"
  | "not_sealed"
  | "kek_not_configured"
  | "kek_invalid"
  | "kek_unavailable"
  | "authentication_failed";

export type StoredKeyResult = { ok: true; key: string } | { ok: false; reason: StoredKeyFailure };

export const STORED_KEY_FAILURE_DETAIL: Record<StoredKeyFailure, string> = {
  missing: "no Stripe key is stored for this tenant (npm run tenants -- set-stripe-key)",
  not_sealed: "the stored Stripe key is not a sealed record",
  kek_not_configured: "TENANT_KEK / TENANT_KEK_ID are not set",
  kek_invalid: "TENANT_KEK or TENANT_KEK_PREVIOUS is not valid (base64 of 32 bytes, with its id)",
  kek_unavailable: "the stored Stripe key is sealed under a KEK id that is neither TENANT_KEK_ID nor TENANT_KEK_PREVIOUS_ID",
  authentication_failed: "the stored Stripe key does not open with its KEK (wrong KEK, copied from another tenant, or tampered)",
};

/**
 * Opened keys are kept for the registry's TTL, so a busy tenant costs one KV read and one decryption
 * per isolate per 30 s, and a key replaced with `set-stripe-key` is used within that time. Failures
 * are kept too, so a misconfigured tenant cannot turn each request into a KV read.
 */
const SECRET_CACHE_LIMITS = { ttlMs: REGISTRY_CACHE_TTL_MS, maxFound: 5_000, maxMissing: 1 } as const;
const caches = new WeakMap<object, LookupCache<StoredKeyResult>>();

/** The tenant's Stripe key from `secret:{id}:stripe_key`, opened with the Worker's KEKs. */
export async function storedStripeKey(kv: RegistryKv, keks: KekSource, tenantId: string, now: number): Promise<StoredKeyResult> {
  let cache = caches.get(kv);
  if (!cache) {
    cache = new LookupCache(SECRET_CACHE_LIMITS);
    caches.set(kv, cache);
  }
  const result = await cache.lookup(tenantId, now, () => openStoredKey(kv, keks, tenantId));
  // openStoredKey never answers undefined; the fallback only satisfies the type.
  return result ?? { ok: false, reason: "missing" };
}

async function openStoredKey(kv: RegistryKv, source: KekSource, tenantId: string): Promise<StoredKeyResult> {
  const text = await kv.get(stripeSecretKvKey(tenantId));
  if (text === null) return { ok: false, reason: "missing" };
  const sealed = parseSealedSecret(text);
  if (!sealed) return { ok: false, reason: "not_sealed" };
  let keks: Awaited<ReturnType<typeof cachedKeks>>;
  try {
    keks = await cachedKeks(source);
  } catch {
    return { ok: false, reason: "kek_invalid" };
  }
  if (keks.all.length === 0) return { ok: false, reason: "kek_not_configured" };
  try {
    return { ok: true, key: await openSecret(sealed, { tenant: tenantId, purpose: "stripe_secret_key" }, keks.all) };
  } catch (err) {
    if (err instanceof SecretOpenError) return { ok: false, reason: err.reason === "not_sealed" ? "not_sealed" : err.reason };
    throw err;
  }
}
