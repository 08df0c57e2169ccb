/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), as the `standardwebhooks` package
 * verifies them: `webhook-signature: v1,<base64 HMAC-SHA256>` keyed with the base64-decoded part of
 * the `whsec_…` secret, over `"{webhook-id}.{webhook-timestamp}.{body}"`. WebCrypto only.
 */
import { base64ToBytes, bytesToBase64 } from "../encoding.ts";

const SECRET_PREFIX = "whsec_";
/** The spec's bounds on the decoded secret: shorter is guessable, longer is pointless for HMAC-SHA256. */
export const MIN_SIGNING_SECRET_BYTES = 24;
export const MAX_SIGNING_SECRET_BYTES = 64;

/** The key bytes of a `whsec_<base64>` secret, or undefined when it is not one (never echoes it). */
export function signingKeyBytes(secret: string): Uint8Array | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  try {
    return base64ToBytes(b64);
  } catch {
    return undefined;
  }
}

/** Why a value cannot be an events signing secret, or undefined when it can. */
export function signingSecretProblem(secret: string): string | undefined {
  const bytes = signingKeyBytes(secret);
  if (!bytes) return "is not whsec_ followed by base64";
  if (bytes.byteLength < MIN_SIGNING_SECRET_BYTES || bytes.byteLength > MAX_SIGNING_SECRET_BYTES)
    return `must decode to ${MIN_SIGNING_SECRET_BYTES}-${MAX_SIGNING_SECRET_BYTES} bytes`;
  return undefined;
}

/** The `webhook-signature` value for one delivery: `v1,<base64>`. The secret must pass `signingSecretProblem`. */
export async function signDelivery(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const keyBytes = signingKeyBytes(secret);
  if (!keyBytes) throw new Error("events signing secret is not whsec_<base64>");
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}
