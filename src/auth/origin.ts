/**
 * The CSRF and CORS rules for browser callers, as pure functions of the request's headers and the
 * tenant's `browser.origins`. Origins are compared as exact strings: browsers serialize an origin in
 * one canonical form (lowercase scheme and host, no default port, no trailing dot), so anything else
 * (`Origin: null`, `https://app.acme.test.evil.test`, `http://` for `https://`, another port, a
 * trailing dot, uppercase) is not the listed origin.
 */

/** Methods that change nothing: they are never refused for a missing proof of origin. */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** Request headers a cross-origin browser may send (answered in a preflight). */
export const CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"] as const;

/** Response headers a cross-origin browser may read besides the CORS-safelisted ones. */
const CORS_EXPOSED_HEADERS = "Request-Id";

/** How long a browser may cache a successful preflight: short, so a config change applies soon. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

export interface OriginInput {
  method: string;
  /** `Sec-Fetch-Site`, or null when absent (non-browser clients, older browsers). */
  secFetchSite: string | null;
  /** `Origin`, or null when absent. */
  origin: string | null;
  /** The origin the request was sent to (`https://app.acme.test`), from the request URL. */
  ownOrigin: string;
  /** The tenant's `browser.origins`. */
  allowedOrigins: readonly string[];
}

export type OriginRefusal = "cross_site" | "origin_not_listed" | "no_proof";

export type OriginDecision = { ok: true; corsOrigin?: string } | { ok: false; reason: OriginRefusal };

/** Whether `origin` is the request's own origin or exactly one of the tenant's listed origins. */
export function isAllowedOrigin(origin: string, ownOrigin: string, allowedOrigins: readonly string[]): boolean {
  if (origin === "null") return false;
  return origin === ownOrigin || allowedOrigins.includes(origin);
}

/**
 * Decides whether a browser request may proceed.
 * - `Sec-Fetch-Site: same-origin` is the browser's own statement that the request comes from the
 *   page's origin: accepted (a non-browser can send it too, but it cannot carry a victim's credentials).
 * - Otherwise an `Origin` header that is the request's own origin or exactly a listed origin is
 *   accepted; a listed origin that is not the request's own is returned as `corsOrigin`.
 * - Otherwise unsafe methods are refused. Safe methods are refused only when the browser says the
 *   request is cross-site or same-site (`<img src>` and friends), so a typed-in URL or a plain HTTP
 *   client can still read.
 */
export function checkBrowserOrigin(input: OriginInput): OriginDecision {
  const site = input.secFetchSite?.trim().toLowerCase() ?? null;
  const origin = input.origin;
  const corsOrigin = origin !== null && origin !== input.ownOrigin && input.allowedOrigins.includes(origin) ? origin : undefined;
  if (site === "same-origin") return corsOrigin ? { ok: true, corsOrigin } : { ok: true };
  if (origin !== null) {
    if (isAllowedOrigin(origin, input.ownOrigin, input.allowedOrigins))
      return corsOrigin ? { ok: true, corsOrigin } : { ok: true };
    return { ok: false, reason: "origin_not_listed" };
  }
  if (site === "cross-site" || site === "same-site") return { ok: false, reason: "cross_site" };
  if (SAFE_METHODS.has(input.method.toUpperCase())) return { ok: true };
  return { ok: false, reason: "no_proof" };
}

/**
 * `checkBrowserOrigin` on a request as it arrived: its method, `Sec-Fetch-Site`, `Origin`, and its own
 * origin from `url` (the request's URL, already parsed by the caller).
 */
export function checkRequestOrigin(request: Request, url: URL, allowedOrigins: readonly string[]): OriginDecision {
  return checkBrowserOrigin({
    method: request.method,
    secFetchSite: request.headers.get("sec-fetch-site"),
    origin: request.headers.get("origin"),
    ownOrigin: url.origin,
    allowedOrigins,
  });
}

/** The caller-facing message for a refusal; it never repeats the Origin the caller sent. */
export function originRefusalMessage(reason: OriginRefusal): string {
  switch (reason) {
    case "cross_site":
      return "Cross-site requests are not accepted: call the identity proxy from your own origin.";
    case "origin_not_listed":
      return "This request's Origin is not allowed for this tenant.";
    case "no_proof":
      return "This request must come from the tenant's own origin (Sec-Fetch-Site: same-origin, or an allowed Origin header).";
  }
}

/**
 * Headers on every response to an allowed cross-origin request. The allowed origin is echoed only
 * because it matched the tenant's list exactly; there is no wildcard and no reflection of others.
 * Credentials are allowed only when the tenant reads its token from a cookie.
 */
export function corsResponseHeaders(corsOrigin: string, allowCredentials: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": corsOrigin,
    "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
    Vary: "Origin",
  };
  if (allowCredentials) headers["Access-Control-Allow-Credentials"] = "true";
  return headers;
}

export interface PreflightInput {
  origin: string | null;
  /** `Access-Control-Request-Method`. */
  requestMethod: string | null;
  /** `Access-Control-Request-Headers`, comma-separated. */
  requestHeaders: string | null;
  allowedOrigins: readonly string[];
  /** Methods the tenant's browser operations use (`GET`, `POST`). */
  allowedMethods: readonly string[];
}

export type PreflightRefusal = "origin_not_listed" | "method_not_allowed" | "header_not_allowed";

export type PreflightDecision = { ok: true; origin: string } | { ok: false; reason: PreflightRefusal };

/**
 * Decides a CORS preflight. Only an origin listed exactly (a same-origin page never preflights),
 * only the methods of the tenant's browser operations, only the three request headers a frontend
 * needs. Anything else is refused, so the browser never sends the real request.
 */
export function checkPreflight(input: PreflightInput): PreflightDecision {
  if (input.origin === null || input.origin === "null" || !input.allowedOrigins.includes(input.origin)) {
    return { ok: false, reason: "origin_not_listed" };
  }
  if (input.requestMethod === null || !input.allowedMethods.includes(input.requestMethod))
    return { ok: false, reason: "method_not_allowed" };
  const allowed = new Set(CORS_ALLOWED_HEADERS.map((h) => h.toLowerCase()));
  const requested = (input.requestHeaders ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  if (requested.some((h) => !allowed.has(h))) return { ok: false, reason: "header_not_allowed" };
  return { ok: true, origin: input.origin };
}

/** The headers of a successful preflight answer. */
export function preflightHeaders(
  origin: string,
  allowedMethods: readonly string[],
  allowCredentials: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": allowedMethods.join(", "),
    "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS.join(", "),
    "Access-Control-Max-Age": String(PREFLIGHT_MAX_AGE_SECONDS),
    "Cache-Control": "no-store",
    Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
  };
  if (allowCredentials) headers["Access-Control-Allow-Credentials"] = "true";
  return headers;
}
