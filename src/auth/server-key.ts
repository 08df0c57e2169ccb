import type { KeyEntry } from "../config/load.ts";
import type { TenantDirectory } from "../tenancy/directory.ts";
import { bytesToBase64Url, sha256Hex } from "../encoding.ts";

/** Proxy keys carry at least 32 random bytes (43 base64url characters) after `iek_`. */
const PROXY_KEY = /^iek_[A-Za-z0-9_-]{43,256}$/;

/**
 * Finds the tenant a proxy key belongs to. Only the key's SHA-256 is compared (the config stores no
 * keys), so a lookup by hash leaks nothing about stored keys through timing.
 */
export async function lookupProxyKey(directory: TenantDirectory, key: string): Promise<KeyEntry | undefined> {
  if (!PROXY_KEY.test(key)) return undefined;
  return directory.findByKeyHash(await sha256Hex(key));
}

/** Issues a new proxy key: `iek_` + 32 random bytes base64url. Returns the key and its hash. */
export async function issueProxyKey(): Promise<{ key: string; sha256: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const key = `iek_${bytesToBase64Url(bytes)}`;
  return { key, sha256: await sha256Hex(key) };
}
