/**
 * Stripe webhook signatures (`Stripe-Signature: t=<unix s>,v1=<hex>,v1=<hex>,v0=<hex>`), verified as
 * Stripe specifies: HMAC-SHA256, keyed with the UTF-8 bytes of the endpoint secret (`whsec_…`), over
 * `"{t}.{raw body}"`. Any `v1` may match (Stripe sends several while a secret is being rolled); other
 * schemes (`v0`, test-only) are ignored. Comparison is constant time, and the timestamp must be within
 * the tolerance of now, in either direction, so an old signed delivery cannot be replayed later.
 */
import { constantTimeEqual, hexToBytes } from "../encoding.ts";

/** Stripe's default tolerance, as in its SDKs. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** More `v1` values than any real header carries; bounds the work a hostile header can cause. */
const MAX_SIGNATURES = 8;

export type SignatureFailure =
  | "missing_header"
  | "malformed_header"
  | "no_v1_signature"
  | "signature_mismatch"
  | "timestamp_out_of_tolerance";

export type SignatureVerdict = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure };

export interface SignatureHeader {
  timestamp: number;
  /** `t` exactly as sent: the signature is computed over these characters, as Stripe's SDKs do. */
  timestampText: string;
  /** The `v1` signatures, as bytes. Malformed hex values are dropped (they can match nothing). */
  v1: Uint8Array[];
}

/**
 * A Unix time in seconds as Stripe writes it: digits, no sign, no leading zero. Anything else
 * (`t=00<ts>`, `t=+<ts>`, `t=<ts>.0`) is refused outright rather than read as the number it denotes.
 */
const TIMESTAMP = /^(0|[1-9][0-9]{0,11})$/;

/** Parses the header; undefined when it has no single `t` written as Stripe writes it. */
export function parseSignatureHeader(header: string): SignatureHeader | undefined {
  let timestampText: string | undefined;
  const v1: Uint8Array[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === "t") {
      if (timestampText !== undefined || !TIMESTAMP.test(value)) return undefined;
      timestampText = value;
    } else if (name === "v1" && v1.length < MAX_SIGNATURES) {
      // A v1 signature is 32 bytes (64 hex digits); anything else is skipped, never compared.
      const bytes = value.length === 64 ? hexToBytes(value) : undefined;
      if (bytes) v1.push(bytes);
    }
  }
  return timestampText === undefined ? undefined : { timestamp: Number(timestampText), timestampText, v1 };
}

/** HMAC-SHA256(secret, "{timestamp}.{payload}"), as Stripe computes it (`timestamp` as sent in `t`). */
export async function computeSignature(secret: string, timestamp: number | string, payload: string): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${payload}`)));
}

export interface VerifyInput {
  /** The raw request body, exactly as received. */
  payload: string;
  header: string | null;
  secret: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}

/**
 * Verifies a delivery. The signature is checked before the timestamp (as Stripe's SDKs do), every
 * `v1` candidate is compared in full (no early exit), and the verdict's reason is for the log only.
 */
export async function verifyStripeSignature(input: VerifyInput): Promise<SignatureVerdict> {
  if (input.header === null || input.header.trim() === "") return { ok: false, reason: "missing_header" };
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return { ok: false, reason: "malformed_header" };
  if (parsed.v1.length === 0) return { ok: false, reason: "no_v1_signature" };
  const expected = await computeSignature(input.secret, parsed.timestampText, input.payload);
  let matched = false;
  for (const candidate of parsed.v1) matched = constantTimeEqual(expected, candidate) || matched;
  if (!matched) return { ok: false, reason: "signature_mismatch" };
  const tolerance = input.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - parsed.timestamp) > tolerance) return { ok: false, reason: "timestamp_out_of_tolerance" };
  return { ok: true, timestamp: parsed.timestamp };
}
