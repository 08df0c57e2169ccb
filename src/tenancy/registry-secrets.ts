import { cachedKeks, type KekSource, openSecret, parseSealedSecret, SecretOpenError } from "./key-encryption.ts";
import { LookupCache } from "./memory-cache.ts";
import { REGISTRY_CACHE_TTL_MS, type RegistryKv } from "./registry-kv.ts";
import { secretKvKey } from "./registry-layout.ts";
import { SECRET_KIND_INFO, type SecretKind } from "./secret-kinds.ts";
import { createIsolateWeakCache } from "../isolate-cache.ts";

/** Why a tenant's KV-stored secret is unusable; each maps to a log detail naming no secret. */
export type StoredSecretFailure =
  | "missing"
  | "not_sealed"
  | "kek_not_configured"
  | "kek_invalid"
  | "kek_unavailable"
  | "authentication_failed";

export type StoredSecretResult = { ok: true; value: string } | { ok: false; reason: StoredSecretFailure };

/** The log detail for a failure to open a stored secret of `kind`. */
export function storedSecretFailureDetail(kind: SecretKind, reason: StoredSecretFailure): string {
  const { label, command } = SECRET_KIND_INFO[kind];
  switch (reason) {
    case "missing":
      return `no ${label} is stored for this tenant (npm run tenants -- ${command})`;
    case "not_sealed":
      return `the stored ${label} is not a sealed record`;
    case "kek_not_configured":
      return "TENANT_KEK / TENANT_KEK_ID are not set";
    case "kek_invalid":
      return "TENANT_KEK or TENANT_KEK_PREVIOUS is not valid (base64 of 32 bytes, with its id)";
    case "kek_unavailable":
      return `the stored ${label} is sealed under a KEK id that is neither TENANT_KEK_ID nor TENANT_KEK_PREVIOUS_ID`;
    case "authentication_failed":
      return `the stored ${label} does not open with its KEK (wrong KEK, copied from another tenant or kind, or tampered)`;
  }
}

/**
 * Opened secrets are kept for the registry's TTL, so a busy tenant costs one KV read and one
 * decryption per secret per isolate per 30 s, and a secret replaced with the CLI is used within that
 * time. Failures are kept too, so a misconfigured tenant cannot turn each request into a KV read.
 */
const SECRET_CACHE_LIMITS = { ttlMs: REGISTRY_CACHE_TTL_MS, maxFound: 5_000, maxMissing: 1 } as const;
const caches = createIsolateWeakCache<RegistryKv, LookupCache<StoredSecretResult>>();

/** The tenant's secret of `kind` from `secret:{id}:{kind}`, opened with the Worker's KEKs. */
export async function storedSecret(
  kv: RegistryKv,
  keks: KekSource,
  tenantId: string,
  kind: SecretKind,
  now: number,
): Promise<StoredSecretResult> {
  const cache = caches.getOrCreate(kv, () => new LookupCache(SECRET_CACHE_LIMITS));
  const result = await cache.lookup(secretKvKey(tenantId, kind), now, () => openStored(kv, keks, tenantId, kind));
  // openStored never answers undefined; the fallback only satisfies the type.
  return result ?? { ok: false, reason: "missing" };
}

async function openStored(kv: RegistryKv, source: KekSource, tenantId: string, kind: SecretKind): Promise<StoredSecretResult> {
  const text = await kv.get(secretKvKey(tenantId, kind));
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
    const value = await openSecret(sealed, { tenant: tenantId, purpose: SECRET_KIND_INFO[kind].purpose }, keks.all);
    return { ok: true, value };
  } catch (err) {
    if (err instanceof SecretOpenError) return { ok: false, reason: err.reason === "not_sealed" ? "not_sealed" : err.reason };
    throw err;
  }
}
