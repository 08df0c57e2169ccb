import type { KeyEntry } from "../config/load.ts";
import type { TenantDirectory } from "../tenancy/directory.ts";
import { bytesToBase64Url, sha256Hex } from "../encoding.ts";
import { createIsolateCache } from "../isolate-cache.ts";

/** Proxy keys carry at least 32 random bytes (43 base64url characters) after `iek_`. */
const PROXY_KEY = /^iek_[A-Za-z0-9_-]{43,256}$/;

/**
 * Finds the tenant a proxy key belongs to. Only the key's SHA-256 is compared (the config stores no
 * keys), so a lookup by hash leaks nothing about stored keys through timing.
 */
export async function lookupProxyKey(directory: TenantDirectory, key: string): Promise<KeyEntry | undefined> {
  if (!PROXY_KEY.test(key)) return undefined;
  const remembered = KEY_HASHES.get(key);
  const hash = remembered ?? (await sha256Hex(key));
  const entry = await directory.findByKeyHash(hash);
  if (entry && remembered === undefined) KEY_HASHES.set(key, hash);
  return entry;
}

/**
 * The hashes of proxy keys that named a tenant, by key. The awaited WebCrypto digest is the largest
 * step of identifying a server caller (BENCHMARKS.md, "Where the CPU goes"), and a tenant's backend
 * sends the same key on every request. Only keys that matched are kept, so junk keys cannot churn the
 * cache; the directory is still asked by hash on every request, so a key taken out of the config or
 * the registry stops working at once. It holds live proxy keys in isolate memory, where the tenants'
 * Stripe keys already are; a key is looked up by its string, so a miss costs what hashing did.
 */
const KEY_HASHES = createIsolateCache<string, string>({ maxEntries: 1_000 });

/** Issues a new proxy key: `iek_` + 32 random bytes base64url. Returns the key and its hash. */
export async function issueProxyKey(): Promise<{ key: string; sha256: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const key = `iek_${bytesToBase64Url(bytes)}`;
  return { key, sha256: await sha256Hex(key) };
}
