/**
 * Browser callers for integration tests: end-user tokens for the acme tenant (and any other HS256
 * tenant), and requests as a same-origin page sends them (Host, path prefix, Sec-Fetch-Site).
 */
import { type JWTPayload, SignJWT } from "jose";
import { ACME_HOST, ACME_JWT_AUDIENCE, ACME_JWT_ISSUER, ACME_JWT_SECRET, type CallInit } from "./harness.ts";

/** Sessions under acme's path prefix, as its frontend calls them. */
export const ACME_SESSIONS = "/identity/v1/identity/verification_sessions";
export const ACME_ORIGIN = `https://${ACME_HOST}`;

export interface TokenOptions {
  secret?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now. */
  expiresIn?: number;
  /** `iat`, in seconds from now (default 0). */
  issuedIn?: number;
  claims?: JWTPayload;
}

/** An HS256 end-user token for `subject` (acme's secret, issuer and audience unless told otherwise). */
export function userToken(subject: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: subject, ...options.claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(options.issuer ?? ACME_JWT_ISSUER)
    .setAudience(options.audience ?? ACME_JWT_AUDIENCE)
    .setIssuedAt(now + (options.issuedIn ?? 0))
    .setExpirationTime(now + (options.expiresIn ?? 300))
    .sign(new TextEncoder().encode(options.secret ?? ACME_JWT_SECRET));
}

export interface BrowserInit extends Omit<CallInit, "key"> {
  token?: string;
  /** `Sec-Fetch-Site`; default `same-origin`, null for none. */
  site?: string | null;
  /** `Origin`; default none. */
  origin?: string;
}

/** A request as a page on the tenant's own origin sends it: Host, Sec-Fetch-Site and the token. */
export function browserInit(init: BrowserInit = {}): CallInit {
  const { token, site, origin, ...rest } = init;
  const headers = new Headers(rest.headers);
  const fetchSite = site === undefined ? "same-origin" : site;
  if (fetchSite !== null) headers.set("Sec-Fetch-Site", fetchSite);
  if (origin !== undefined) headers.set("Origin", origin);
  if (token !== undefined) headers.set("Authorization", `Bearer ${token}`);
  if (rest.body !== undefined && !headers.has("content-type")) headers.set("Content-Type", "application/x-www-form-urlencoded");
  return { host: ACME_HOST, ...rest, headers };
}
