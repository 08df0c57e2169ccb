/**
 * Encryption at rest for list-cache values (AES-256-GCM, WebCrypto). Each tenant has its own key,
 * derived with HKDF-SHA-256 from `CACHE_ENCRYPTION_KEY` (info = the tenant id), so one tenant's values
 * cannot be opened with another's key; the KV key is the additional authenticated data, so a value
 * copied to another key (another query, tenant or generation) fails to open. Nothing here throws on
 * bad input from KV: a value that does not open is a cache miss.
 */
import { base64UrlToBytes, bytesToHex } from "../encoding.ts";

/** A list response as cached: the exact bytes served, when they were fetched, and Stripe's version header. */
export interface CachedList {
  /** ms since epoch when the upstream answer was received. */
  storedAt: number;
  /** The `Stripe-Version` response header upstream sent, if any (replayed on hits). */
  stripeVersion: string | undefined;
  /** The response body, secrets already removed. */
  body: Uint8Array;
}

const VALUE_FORMAT = 1;
const IV_BYTES = 12;
const HEADER_BYTES = 1 + IV_BYTES;
const TAG_BYTES = 16;
const MASTER_KEY_BYTES = 32;
const enc = new TextEncoder();
const dec = new TextDecoder();

const TENANT_KEY_SALT = enc.encode("identity-edge list-cache tenant key v1");
const KEY_ID_SALT = enc.encode("identity-edge list-cache key id v1");

export type MasterKeyResult = { ok: true; key: CryptoKey } | { ok: false; reason: string };

/**
 * Imports `CACHE_ENCRYPTION_KEY` (32 random bytes, base64 or base64url) as HKDF key material. Anything
 * else (missing, not base64, another length) is refused: the cache is then disabled, never plaintext.
 */
export async function importMasterKey(value: unknown): Promise<MasterKeyResult> {
  if (typeof value !== "string" || value.trim() === "") return { ok: false, reason: "CACHE_ENCRYPTION_KEY is not set" };
  let raw: Uint8Array;
  try {
    raw = base64UrlToBytes(value.trim());
  } catch {
    return { ok: false, reason: "CACHE_ENCRYPTION_KEY is not base64" };
  }
  if (raw.byteLength !== MASTER_KEY_BYTES)
    return { ok: false, reason: `CACHE_ENCRYPTION_KEY must decode to ${MASTER_KEY_BYTES} bytes` };
  const key = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey", "deriveBits"]);
  return { ok: true, key };
}

/** The tenant's AES-256-GCM key: HKDF-SHA-256(master, salt = fixed label, info = tenant id). */
export function deriveTenantKey(master: CryptoKey, tenant: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: TENANT_KEY_SALT, info: enc.encode(tenant) },
    master,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * A public identifier of the master key (64 bits from HKDF under a separate salt, so it reveals
 * nothing about any tenant key). It goes into cache keys so that rotating the key starts afresh.
 */
export async function masterKeyId(master: CryptoKey): Promise<string> {
  const bits = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: KEY_ID_SALT, info: new Uint8Array() }, master, 64),
  );
  return bytesToHex(bits);
}

function additionalData(kvKey: string): Uint8Array {
  const keyBytes = enc.encode(kvKey);
  const out = new Uint8Array(1 + keyBytes.byteLength);
  out[0] = VALUE_FORMAT;
  out.set(keyBytes, 1);
  return out;
}

/**
 * Seals a cached list for KV: `[format=1][96-bit random IV][AES-GCM(ciphertext ‖ tag)]`, where the
 * plaintext is `[storedAt: float64 BE][len: u8][Stripe-Version][body]` and the AAD is the format byte
 * and the KV key.
 */
export async function sealCachedList(key: CryptoKey, kvKey: string, entry: CachedList): Promise<Uint8Array> {
  const version = enc.encode(entry.stripeVersion ?? "").subarray(0, 255);
  const plain = new Uint8Array(9 + version.byteLength + entry.body.byteLength);
  new DataView(plain.buffer).setFloat64(0, entry.storedAt);
  plain[8] = version.byteLength;
  plain.set(version, 9);
  plain.set(entry.body, 9 + version.byteLength);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: additionalData(kvKey) }, key, plain),
  );
  const out = new Uint8Array(HEADER_BYTES + sealed.byteLength);
  out[0] = VALUE_FORMAT;
  out.set(iv, 1);
  out.set(sealed, HEADER_BYTES);
  return out;
}

/** Opens a value read from KV under `kvKey`; undefined when it is not one this key sealed for this KV key. */
export async function openCachedList(
  key: CryptoKey,
  kvKey: string,
  value: ArrayBuffer | Uint8Array,
): Promise<CachedList | undefined> {
  const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
  if (bytes.byteLength < HEADER_BYTES + TAG_BYTES + 9 || bytes[0] !== VALUE_FORMAT) return undefined;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.subarray(1, HEADER_BYTES), additionalData: additionalData(kvKey) },
        key,
        bytes.subarray(HEADER_BYTES),
      ),
    );
  } catch {
    return undefined;
  }
  if (plain.byteLength < 9) return undefined;
  const storedAt = new DataView(plain.buffer, plain.byteOffset).getFloat64(0);
  const versionLength = plain[8] ?? 0;
  if (!Number.isFinite(storedAt) || plain.byteLength < 9 + versionLength) return undefined;
  const stripeVersion = versionLength > 0 ? dec.decode(plain.subarray(9, 9 + versionLength)) : undefined;
  return { storedAt, stripeVersion, body: plain.subarray(9 + versionLength) };
}
