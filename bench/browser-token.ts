import { SignJWT } from "jose";
import { BENCH_END_USER, BENCH_JWT_AUDIENCE, BENCH_JWT_ISSUER, BENCH_JWT_SECRET } from "./tenant.ts";

/**
 * The end-user token of the browser rows: what the bench tenant's identity provider would issue to
 * `BENCH_END_USER`, HS256 with the tenant's (fake) secret. Signed once when the bench starts, valid
 * for far longer than a full run, so the Worker verifies the same token on every request (as it
 * would for a signed-in user's page) and none expires mid-run, which would turn the row into a fast
 * 401 path.
 */
export const BROWSER_TOKEN_LIFETIME_SECONDS = 6 * 60 * 60;

/** A token with the bench tenant's issuer and audience; `overrides` break it on purpose (tests). */
export async function signBrowserToken(
  nowMs: number,
  overrides: { subject?: string; secret?: string; lifetimeSeconds?: number } = {},
): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(BENCH_JWT_ISSUER)
    .setAudience(BENCH_JWT_AUDIENCE)
    .setSubject(overrides.subject ?? BENCH_END_USER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (overrides.lifetimeSeconds ?? BROWSER_TOKEN_LIFETIME_SECONDS))
    .sign(new TextEncoder().encode(overrides.secret ?? BENCH_JWT_SECRET));
}

/** This bench run's token (module evaluation happens once per process: once per run). */
export const BENCH_BROWSER_TOKEN = await signBrowserToken(Date.now());
