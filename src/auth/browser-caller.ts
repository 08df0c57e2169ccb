import type { TenantRecord } from "../config/load.ts";
import type { BrowserAuthConfig, TenantConfig } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { misconfigured, ProxyError } from "../errors.ts";
import type { TenantDirectory } from "../tenancy/directory.ts";
import { jwtSecretSource, requireTenantSecret } from "../tenancy/tenant-secrets.ts";
import { hs256Key, type TokenRejection, type VerificationKey, verifyBrowserToken } from "./browser-jwt.ts";
import { type BrowserIdentity, browserOperationsFor } from "./browser-params.ts";
import { remoteJwks } from "./jwks.ts";
import { checkRequestOrigin, corsResponseHeaders, originRefusalMessage } from "./origin.ts";

/** A browser caller: the tenant serving the request's Host and path prefix, and its end user. */
export interface BrowserCaller {
  role: "browser";
  tenant: TenantRecord;
  identity: BrowserIdentity;
  /** The browser operations of this tenant that this identity can use. */
  operations: readonly string[];
  /** `CF-Connecting-IP` (set by Cloudflare's edge), for rate limiting callers without a subject. */
  clientIp: string | null;
  path: string;
}

/** One message for every token problem: the caller learns nothing about why (the log does). */
const TOKEN_REFUSED = "The end-user token is missing, invalid or expired. Sign in again.";

type JwtAuth = Extract<BrowserAuthConfig, { type: "jwt" }>;

/**
 * The token from `Authorization: Bearer`, else from the tenant's cookie when it names one. A token
 * cookie that appears more than once is refused (`repeated`), never resolved first- or last-wins:
 * a page on a sibling subdomain can set a second `idtok` scoped to the parent domain or to a longer
 * path (cookie tossing), which browsers send first, to make the victim act in the attacker's session.
 */
export function presentedToken(
  bearer: string | undefined,
  cookieHeader: string | null,
  cookieName: string | undefined,
): string | undefined | { repeated: true } {
  if (bearer !== undefined) return bearer;
  if (!cookieName || cookieHeader === null) return undefined;
  let found: string | undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== cookieName) continue;
    if (found !== undefined) return { repeated: true };
    found = part.slice(eq + 1).trim();
  }
  return found;
}

async function verificationKey(tenantId: string, auth: JwtAuth, state: RequestState): Promise<VerificationKey> {
  if ("jwks_url" in auth) return { kind: "jwks", getKey: remoteJwks(auth.jwks_url, state.deps.fetch) };
  const source = jwtSecretSource(auth);
  if (!source) throw misconfigured(); // unreachable: the schema requires a JWKS URL or an HS256 secret
  const secret = await requireTenantSecret(tenantId, source, state.env, state.log, state.requestId, state.deps.now());
  return hs256Key(secret);
}

async function endUser(
  tenantId: string,
  auth: BrowserAuthConfig,
  bearer: string | undefined,
  request: Request,
  state: RequestState,
): Promise<BrowserIdentity> {
  if (auth.type === "none") {
    // A token sent to a tenant that has no way to check it is a misconfigured frontend: say so.
    if (bearer !== undefined) throw new ProxyError("authentication_required", "This tenant does not accept end-user tokens.");
    return { kind: "anonymous" };
  }
  const token = presentedToken(bearer, request.headers.get("cookie"), auth.cookie);
  const refuse = (reason: TokenRejection | "token_missing" | "token_cookie_repeated"): never => {
    state.log.debug("browser_token_refused", { request_id: state.requestId, tenant: tenantId, detail: reason });
    throw new ProxyError("authentication_required", TOKEN_REFUSED);
  };
  if (typeof token === "object") return refuse("token_cookie_repeated");
  if (token === undefined || token === "") return refuse("token_missing");
  const key = await verificationKey(tenantId, auth, state);
  const rules = {
    issuer: auth.issuer,
    audience: auth.audience,
    subjectClaim: auth.subject_claim,
    maxTokenAgeSeconds: auth.max_token_age_seconds,
  };
  const result = await verifyBrowserToken(token, rules, key, state.deps.now());
  if (result.ok) return { kind: "user", subject: result.subject };
  if (result.reason === "keys_unavailable") {
    state.log.error("jwks_unavailable", {
      request_id: state.requestId,
      tenant: tenantId,
      detail: "the tenant's JWKS could not be fetched",
    });
    throw new ProxyError("upstream_unavailable", "The end-user token could not be verified right now. Try again shortly.");
  }
  return refuse(result.reason);
}

/**
 * Identifies a browser caller: the tenant whose host (exactly, with port) and path prefix serve the
 * request, then the origin rules, then the end user per the tenant's `auth`. Returns undefined when
 * no tenant serves this host and path. Throws 401 when the tenant takes no browser callers or the
 * token fails, 403 `origin_not_allowed` for cross-site requests. `healthy` is told the tenant found
 * (the caller records it) and turns its record into its config or throws `tenant_misconfigured`.
 *
 * When the request comes from an allowed cross-origin page, the CORS headers are put on
 * `state.responseHeaders` before the token is checked, so that page can read a 401 too.
 */
export async function identifyBrowserCaller(
  request: Request,
  bearer: string | undefined,
  directory: TenantDirectory,
  state: RequestState,
  healthy: (tenant: TenantRecord) => TenantConfig,
): Promise<BrowserCaller | undefined> {
  const url = state.url;
  const found = await directory.findByHost(url.host, url.pathname);
  if (!found) return undefined;
  const tenant = found.entry.tenant;
  const config = healthy(tenant);
  const browser = config.browser;
  if (!browser) {
    throw new ProxyError(
      "authentication_required",
      "This tenant does not accept browser requests. Server callers authenticate with a proxy key.",
    );
  }
  // Answers differ by Origin whenever the tenant lists origins, refusals included.
  if (browser.origins.length > 0) state.responseHeaders = { Vary: "Origin" };
  const origin = checkRequestOrigin(request, url, browser.origins);
  if (!origin.ok) {
    state.log.debug("browser_origin_refused", { request_id: state.requestId, tenant: tenant.id, detail: origin.reason });
    throw new ProxyError("origin_not_allowed", originRefusalMessage(origin.reason));
  }
  const withCookie = browser.auth.type === "jwt" && browser.auth.cookie !== undefined;
  if (origin.corsOrigin) state.responseHeaders = corsResponseHeaders(origin.corsOrigin, withCookie);

  const identity = await endUser(tenant.id, browser.auth, bearer, request, state);
  return {
    role: "browser",
    tenant,
    identity,
    operations: browserOperationsFor(identity, browser.operations),
    clientIp: request.headers.get("cf-connecting-ip"),
    path: found.path,
  };
}
