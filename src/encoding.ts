/**
 * Byte encodings and digests, written once: lowercase hex, base64, base64url, SHA-256 and a
 * constant-time comparison. Pure functions over WebCrypto and `btoa`/`atob` (Workers and Node 22
 * alike). Decoders follow `atob`'s forgiving rules (padding optional, ASCII whitespace ignored) and
 * throw on anything else, so callers decide what a bad value means for them.
 */

const utf8 = new TextEncoder();

/** Lowercase hex, two digits per byte. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** The bytes of an even-length hex string (either case), or undefined when it is not one. */
export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: spreading a large array into one call exceeds the engine's argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes of standard base64 (padding optional). Throws a DOMException when `text` is not base64. */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** base64url without padding (RFC 4648 §5, as JWTs and proxy keys use it). */
export function bytesToBase64Url(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The bytes of base64url or standard base64 (both alphabets accepted, padding optional). Throws when
 * `text` is neither.
 */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  return base64ToBytes(text.replace(/-/g, "+").replace(/_/g, "/"));
}

/** SHA-256 of a string's UTF-8 bytes. */
export async function sha256(text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(text)));
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes (64 characters). */
export async function sha256Hex(text: string): Promise<string> {
  return bytesToHex(await sha256(text));
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
