/**
 * The demo's stand-in for a tenant's identity provider: HS256 end-user tokens signed with the
 * tenant's shared secret, exactly what `src/auth/browser-jwt.ts` verifies. Signed with WebCrypto: a
 * dozen lines, where jose's `SignJWT` would add JWS signing code to the dev entry's bundle.
 */
import { bytesToBase64Url } from "../../src/encoding.ts";

/**
 * The dev login is an identity provider of its own: it signs only with this issuer, and only for a
 * tenant whose `browser.auth.issuer` is this value. A tenant that trusts a real identity provider
 * never accepts its tokens, even if a developer runs `wrangler dev` with that tenant's real secret.
 */
export const DEV_LOGIN_ISSUER = "urn:identity-edge:dev-login";

/** Short-lived on purpose: long enough for one pass through the hosted page, like a real session token. */
export const DEV_TOKEN_TTL_SECONDS = 15 * 60;

/** What a dev user may be called: it becomes the token's `sub` and so the sessions' `client_reference_id`. */
export const DEV_USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export interface DevTokenClaims {
  subject: string;
  /** The claim that carries the subject (the tenant's `subject_claim`, `sub` by default). */
  subjectClaim: string;
  issuer: string;
  audience: string;
}

export interface DevToken {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
}

function jsonSegment(value: Record<string, unknown>): string {
  return bytesToBase64Url(new TextEncoder().encode(JSON.stringify(value)));
}

/** Signs `{<subject claim>, iss, aud, iat, exp}` with HS256 under `secret` (the raw bytes of the tenant's binding). */
export async function mintDevToken(claims: DevTokenClaims, secret: Uint8Array, nowMs: number): Promise<DevToken> {
  const iat = Math.floor(nowMs / 1000);
  const expiresAt = iat + DEV_TOKEN_TTL_SECONDS;
  const payload = { [claims.subjectClaim]: claims.subject, iss: claims.issuer, aud: claims.audience, iat, exp: expiresAt };
  const signingInput = `${jsonSegment({ alg: "HS256", typ: "JWT" })}.${jsonSegment(payload)}`;
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput));
  return { token: `${signingInput}.${bytesToBase64Url(new Uint8Array(signature))}`, expiresAt };
}
