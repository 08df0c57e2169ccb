import { createIsolateCache } from "../isolate-cache.ts";
import { decodeProtectedHeader, errors, type JWTVerifyGetKey, jwtVerify } from "jose";

/**
 * Verification of a browser's end-user token (a JWT from the tenant's identity provider). Everything
 * that makes JWT verification go wrong in practice is decided here, before or around `jose`:
 * algorithms are pinned per key type (so `none`, HS/RS confusion and algorithm downgrades fail),
 * headers that name their own key (`jwk`, `jku`, `x5u`, `x5c`) are refused, `iss`, `aud`, `exp` and
 * the subject claim are required, `iat` may not lie in the future (and, when the tenant sets a maximum
 * token age, is required), the subject must be well-formed Unicode, and the token's size is bounded
 * before any parsing.
 */

/** Longer tokens are refused unparsed: a real ID or access token is well under 2 KB. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Clock skew accepted on `exp`, `nbf` and `iat` between the identity provider and the edge. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Subjects become `client_reference_id`s and rate-limit keys; real ones are short identifiers. */
export const MAX_SUBJECT_LENGTH = 255;

export const HS256_ALGORITHMS = ["HS256"] as const;
export const JWKS_ALGORITHMS = ["RS256", "ES256"] as const;

/**
 * Header parameters a token may carry. Anything else is refused, in particular `jwk`/`jku`/`x5u`/
 * `x5c` (a token naming its own key), `crit` and `b64` (changing how the signature is computed).
 */
const ALLOWED_HEADER_PARAMS: ReadonlySet<string> = new Set(["alg", "typ", "kid", "x5t", "x5t#S256"]);

/** Three non-empty base64url segments: an unsigned `header.payload.` token never reaches jose. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export type VerificationKey = { kind: "secret"; secret: Uint8Array | CryptoKey } | { kind: "jwks"; getKey: JWTVerifyGetKey };

/**
 * An HS256 tenant's key, imported once per secret and isolate: given raw bytes, jose imports an HMAC
 * key on every verification, and a signed-in user's page sends a token with every request. The
 * CryptoKey can only verify HMAC-SHA-256 (jose still checks it against the token's `alg`).
 */
export async function hs256Key(secret: string): Promise<VerificationKey> {
  let key = HS256_KEYS.get(secret);
  if (key === undefined) {
    key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    HS256_KEYS.set(secret, key);
  }
  return { kind: "secret", secret: key };
}

/** Imported HS256 keys by secret (a handful per Worker: one per HS256 tenant, two while one rotates). */
const HS256_KEYS = createIsolateCache<string, CryptoKey>({ maxEntries: 256 });

export interface TokenRules {
  issuer: string;
  audience: string;
  /** The claim that names the end user (`sub` by default). */
  subjectClaim: string;
  /** When set, `iat` is required and a token older than this many seconds is refused. */
  maxTokenAgeSeconds?: number | undefined;
}

/** Why a token was refused: logged for the operator (never the token), never told to the caller. */
export type TokenRejection =
  | "too_long"
  | "malformed"
  | "header_not_allowed"
  | "algorithm_not_allowed"
  | "signature_invalid"
  | "unknown_key"
  | "expired"
  | "not_yet_valid"
  | "issued_in_future"
  | "too_old"
  | "claim_invalid"
  | "subject_invalid";

export type TokenVerification =
  | { ok: true; subject: string }
  | { ok: false; reason: TokenRejection }
  /** The keys could not be fetched (JWKS down, timeout, not JSON): the token was not judged. */
  | { ok: false; reason: "keys_unavailable" };

function algorithmsFor(key: VerificationKey): string[] {
  return key.kind === "secret" ? [...HS256_ALGORITHMS] : [...JWKS_ALGORITHMS];
}

/** Checks the token's shape and header before any key is looked up (so a JWKS is never fetched for junk). */
function precheck(token: string, algorithms: readonly string[]): TokenRejection | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return "too_long";
  if (!COMPACT_JWS.test(token)) return "malformed";
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return "malformed";
  }
  if (Object.keys(header).some((k) => !ALLOWED_HEADER_PARAMS.has(k))) return "header_not_allowed";
  // Exact, case-sensitive match: `none`, `None`, `NONE`, `HS256` against a JWKS tenant all fail here.
  if (typeof header.alg !== "string" || !algorithms.includes(header.alg)) return "algorithm_not_allowed";
  if (header.kid !== undefined && typeof header.kid !== "string") return "malformed";
  return undefined;
}

/** A UTF-16 surrogate with no partner: it has no UTF-8 encoding, so it would reach Stripe as U+FFFD. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A usable subject: short, no control characters, and well-formed Unicode. A lone surrogate is
 * refused because the form encoder (like any UTF-8 encoder) turns it into U+FFFD, so `"user\ud800b"`
 * and `"user\ufffdb"` would own the same sessions.
 */
export function isSubject(value: unknown): value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_SUBJECT_LENGTH) return false;
  if (LONE_SURROGATE.test(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}

function rejectionOf(err: unknown, key: VerificationKey): TokenVerification {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: err.claim === "iat" ? "too_old" : "expired" };
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason !== "check_failed") return { ok: false, reason: "claim_invalid" };
    if (err.claim === "nbf") return { ok: false, reason: "not_yet_valid" };
    return { ok: false, reason: err.claim === "iat" ? "issued_in_future" : "claim_invalid" };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "signature_invalid" };
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported)
    return { ok: false, reason: "algorithm_not_allowed" };
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: "unknown_key" };
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid) {
    return { ok: false, reason: "malformed" };
  }
  // What is left is the key source failing (fetch error, timeout, non-200, invalid JWKS JSON).
  return key.kind === "jwks" ? { ok: false, reason: "keys_unavailable" } : { ok: false, reason: "malformed" };
}

/**
 * Verifies a browser's token against the tenant's rules and returns the end user's subject. Pure but
 * for the key lookup (a JWKS may be fetched); `now` is the clock in ms.
 */
export async function verifyBrowserToken(
  token: string,
  rules: TokenRules,
  key: VerificationKey,
  now: number,
): Promise<TokenVerification> {
  const algorithms = algorithmsFor(key);
  const early = precheck(token, algorithms);
  if (early) return { ok: false, reason: early };
  const options = {
    algorithms,
    issuer: rules.issuer,
    audience: rules.audience,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    currentDate: new Date(now),
    requiredClaims: ["iss", "aud", "exp", rules.subjectClaim],
    ...(rules.maxTokenAgeSeconds !== undefined ? { maxTokenAge: rules.maxTokenAgeSeconds } : {}),
  };
  let payload: Record<string, unknown>;
  try {
    const verified =
      key.kind === "secret" ? await jwtVerify(token, key.secret, options) : await jwtVerify(token, key.getKey, options);
    payload = verified.payload;
  } catch (err) {
    return rejectionOf(err, key);
  }
  // jose checks `iat` against the clock only with a maximum age; a token from the future never passes.
  if (typeof payload.iat === "number" && payload.iat > now / 1000 + CLOCK_TOLERANCE_SECONDS) {
    return { ok: false, reason: "issued_in_future" };
  }
  const subject = payload[rules.subjectClaim];
  if (!isSubject(subject)) return { ok: false, reason: "subject_invalid" };
  return { ok: true, subject };
}
