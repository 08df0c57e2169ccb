import type { RequestState } from "../deps.ts";
import { misconfigured, ProxyError } from "../errors.ts";
import { OPERATIONS, type OperationName } from "../stripe/operations.ts";
import { browserOperationsFor } from "../auth/browser-params.ts";
import { checkPreflight, preflightHeaders } from "../auth/origin.ts";

/**
 * Answers a CORS preflight (`OPTIONS`) for a tenant that lists extra browser origins. Same-origin
 * pages never preflight, so a tenant without extra origins refuses every preflight. The answer names
 * the exact origin (never `*`, never a reflected unlisted one), only the methods of the tenant's
 * browser operations and only the request headers a frontend needs.
 */
export async function handlePreflight(request: Request, state: RequestState): Promise<Response> {
  state.access.role = "browser";
  state.access.operation = "preflight";
  const url = new URL(request.url);
  const found = await state.tenants.findByHost(url.host, url.pathname);
  if (!found?.path.startsWith("/v1/identity/")) {
    throw new ProxyError("resource_missing", "Unrecognized request URL (OPTIONS).");
  }
  const tenant = found.entry.tenant;
  state.access.tenant = tenant.id;
  if (!tenant.ok) throw misconfigured();
  const browser = tenant.config.browser;
  const refused = new ProxyError("origin_not_allowed", "CORS preflight refused for this origin, method or headers.");
  if (!browser) throw refused;
  // Which operations a token will unlock is unknown before the token: offer what this auth type allows.
  const identity = browser.auth.type === "jwt" ? ({ kind: "user", subject: "" } as const) : ({ kind: "anonymous" } as const);
  const operations: OperationName[] = browserOperationsFor(identity, browser.operations);
  const methods = [...new Set(operations.map((op) => OPERATIONS[op].method))];
  const decision = checkPreflight({
    origin: request.headers.get("origin"),
    requestMethod: request.headers.get("access-control-request-method"),
    requestHeaders: request.headers.get("access-control-request-headers"),
    allowedOrigins: browser.origins,
    allowedMethods: methods,
  });
  if (!decision.ok) {
    state.log.debug("browser_preflight_refused", { request_id: state.requestId, tenant: tenant.id, detail: decision.reason });
    throw refused;
  }
  const withCookie = browser.auth.type === "jwt" && browser.auth.cookie !== undefined;
  return new Response(null, { status: 204, headers: preflightHeaders(decision.origin, methods, withCookie) });
}
