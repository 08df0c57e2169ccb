import { type BrowserCaller, identifyBrowserCaller } from "../auth/browser-caller.ts";
import { checkBrowserParams } from "../auth/browser-params.ts";
import { browserSessionView } from "../auth/browser-view.ts";
import { classifyAuthorization } from "../auth/credentials.ts";
import { invalidateAfterWrite } from "../cache/invalidation.ts";
import { listThroughCache } from "../cache/list-cache.ts";
import { isOwnedBy, missingObjectError } from "../auth/ownership.ts";
import { lookupProxyKey } from "../auth/server-key.ts";
import type { TenantRecord } from "../config/load.ts";
import type { TenantConfig } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { DEFAULT_STRIPE_API_BASE } from "../env.ts";
import { errorResponse, ProxyError } from "../errors.ts";
import { enforceSessionPolicy } from "../policy/enforce.ts";
import { enforceRateLimit, readRateLimiter } from "../ratelimit/rate-limit.ts";
import { resolveApiVersion } from "../stripe/api-version.ts";
import { encodeForm, type Params } from "../stripe/form-codec.ts";
import { stripListSecrets } from "../stripe/list-view.ts";
import { DEFAULT_OPERATIONS, matchOperation, OPERATIONS, type OperationSpec, upstreamPath } from "../stripe/operations.ts";
import { parseOperationParams } from "../stripe/parse-request.ts";
import { callStripe, type UpstreamCall, type UpstreamResponse } from "../stripe/upstream.ts";
import { readCallerStripeHeaders } from "../stripe/upstream-headers.ts";
import { tenantDirectory } from "../tenancy/directory.ts";
import { stripPrefix } from "../tenancy/resolve-tenant.ts";
import { misconfigured, tenantSecretKey } from "../tenancy/tenant-secrets.ts";

/** A server caller: its proxy key names the tenant (whatever the host) and may narrow its operations. */
export interface ServerCaller {
  role: "server";
  tenant: TenantRecord;
  keyName: string;
  operations: readonly string[] | undefined;
  path: string;
}

/** Who is calling, for which tenant, and the path relative to the tenant's mount point. */
export type Caller = ServerCaller | BrowserCaller;

/**
 * The Identity request path, top to bottom: identify the caller and its tenant → match the operation
 * → check the tenant and the caller's rights → parse and validate parameters → enforce the tenant's
 * policy → call Stripe (server lists through the list cache) → shape the response → invalidate the
 * tenant's cached lists after a successful write. Each stage throws a `ProxyError` to refuse.
 */
export async function handleIdentityRequest(request: Request, state: RequestState): Promise<Response> {
  const caller = await identifyCaller(request, state);
  state.access.tenant = caller.tenant.id;
  state.access.role = caller.role;
  await limitRate(caller, state);

  const op = routeOperation(request.method, caller.path);
  state.access.operation = op.spec.name;
  state.access.route = op.spec.path;

  const config = healthyConfig(caller.tenant, state);
  authorizeOperation(caller, op.spec);
  const stripeHeaders = readCallerStripeHeaders(request.headers);
  const apiVersion = resolveApiVersion(request.headers.get("stripe-version"), config.stripe);
  const params = await parseOperationParams(request, op.spec);
  const forwarded = applyPolicy(op.spec, callerParams(caller, op.spec, params, state), config, state);

  const call: UpstreamCall = {
    method: op.spec.method,
    path: upstreamPath(op.spec, op.id),
    secretKey: await tenantSecretKey(caller.tenant.id, config, state.env, state.log, state.requestId, state.deps.now),
    callerIdempotencyKey: stripeHeaders.idempotencyKey !== undefined,
  };
  if (config.stripe.account) call.account = config.stripe.account;
  if (apiVersion) call.apiVersion = apiVersion;
  if (op.spec.method === "GET") {
    const query = encodeForm(forwarded);
    if (query) call.query = query;
  } else {
    call.body = encodeForm(forwarded);
    call.idempotencyKey = stripeHeaders.idempotencyKey ?? `iedge_${crypto.randomUUID()}`;
  }

  let response: Response;
  if (caller.role === "browser") response = await forwardForBrowser(caller, op.spec, op.id, call, state);
  else if (op.spec.name === "list") {
    const fetchList = async () => shapeResponse(op.spec, await forwardToStripe(call, state), state);
    const input = {
      tenant: caller.tenant.id,
      role: caller.role,
      ttlSeconds: config.cache.list_ttl_seconds,
      params: forwarded,
      call,
      upstream: upstreamBase(state),
      cacheControl: request.headers.get("cache-control"),
    };
    response = await listThroughCache(input, state, fetchList);
  } else response = shapeResponse(op.spec, await forwardToStripe(call, state), state);
  invalidateAfterWrite(op.spec, response.status, caller.tenant.id, state);
  return response;
}

export async function identifyCaller(request: Request, state: RequestState): Promise<Caller> {
  const directory = tenantDirectory(state.env, state.log, state.requestId, state.deps.now);
  const credential = classifyAuthorization(request.headers.get("authorization"));
  const path = new URL(request.url).pathname;
  switch (credential.kind) {
    case "stripe_key":
      throw new ProxyError(
        "authentication_required",
        "Stripe API keys are not accepted by this proxy and were not forwarded. Use the proxy key issued for your tenant.",
      );
    case "proxy_key": {
      const entry = await lookupProxyKey(directory, credential.key);
      if (!entry) throw new ProxyError("authentication_required", "Invalid API key provided.");
      // The key names the tenant whatever the host; the tenant's prefix is accepted but not required.
      const prefix = entry.tenant.ok ? (entry.tenant.config.path_prefix ?? "") : "";
      return {
        role: "server",
        tenant: entry.tenant,
        keyName: entry.name,
        operations: entry.operations,
        path: stripPrefix(path, prefix) ?? path,
      };
    }
    case "wrong_key":
      throw new ProxyError("authentication_required", "Invalid API key provided.");
    case "malformed":
      throw new ProxyError("authentication_required", "Malformed Authorization header. Use `Authorization: Bearer <proxy key>`.");
    case "none":
    case "bearer": {
      // Without a proxy key the request is a browser's: the tenant comes from Host and path prefix.
      const token = credential.kind === "bearer" ? credential.token : undefined;
      const browser = await identifyBrowserCaller(request, token, directory, state, (tenant) => healthyConfig(tenant, state));
      if (browser) return browser;
      // No tenant serves this host for browsers, so only a server caller belongs here: answer as
      // Stripe does when the key is missing or wrong (401 before any routing).
      throw new ProxyError(
        "authentication_required",
        token === undefined
          ? "You did not provide an API key. Provide your proxy key in the Authorization header, using Bearer auth."
          : "Invalid API key provided.",
      );
    }
  }
}

function routeOperation(method: string, path: string): { spec: OperationSpec; id?: string } {
  const match = matchOperation(method, path);
  switch (match.kind) {
    case "operation":
      return match.id === undefined ? { spec: match.op } : { spec: match.op, id: match.id };
    case "bad_id":
      // Stripe answers an id of the wrong shape as one that does not exist; a trailing slash (no id)
      // is a URL it does not serve.
      if (match.id === "") throw unrecognizedUrl(method, path);
      throw missingObjectError(match.op.idPrefix === "vr_" ? "verification_report" : "verification_session", match.id);
    case "wrong_method":
    case "none":
      throw unrecognizedUrl(method, path);
  }
}

/** Stripe's answer to a path or method it does not serve: type invalid_request_error, no code. */
export function unrecognizedUrl(method: string, path: string): ProxyError {
  const shown = path.length > 100 ? `${path.slice(0, 100)}...` : path;
  return new ProxyError("resource_missing", `Unrecognized request URL (${method}: ${shown}).`, { sendCode: false });
}

function healthyConfig(tenant: TenantRecord, state: RequestState): TenantConfig {
  if (tenant.ok) return tenant.config;
  for (const issue of tenant.issues) {
    state.log.error("tenant_config_invalid", {
      request_id: state.requestId,
      tenant: tenant.id,
      detail: `${issue.path}: ${issue.message}`,
    });
  }
  throw misconfigured();
}

function authorizeOperation(caller: Caller, op: OperationSpec): void {
  const allowed = caller.operations ?? DEFAULT_OPERATIONS[caller.role];
  if (!allowed.includes(op.name)) {
    const who = caller.role === "server" ? "This proxy key" : "Browser callers";
    throw new ProxyError("operation_not_allowed", `${who} may not use the ${op.name} operation for this tenant.`);
  }
}

/** Counts the request against its caller's budget (browser: end user or client IP; server: key). */
async function limitRate(caller: Caller, state: RequestState): Promise<void> {
  const tenant = caller.tenant.id;
  if (caller.role === "server") {
    const limiter = readRateLimiter(state.env.SERVER_RATE_LIMITER);
    const subject = { role: "server", tenant, keyName: caller.keyName } as const;
    return enforceRateLimit(limiter, "SERVER_RATE_LIMITER", subject, state.log, state.requestId);
  }
  const { identity, clientIp } = caller;
  const user =
    identity.kind === "user" ? { kind: "subject" as const, subject: identity.subject } : { kind: "ip" as const, ip: clientIp };
  const limiter = readRateLimiter(state.env.RATE_LIMITER);
  return enforceRateLimit(limiter, "RATE_LIMITER", { role: "browser", tenant, user }, state.log, state.requestId);
}

/** A browser's parameters pass its allow-list, and a create is bound to the signed-in user. */
function callerParams(caller: Caller, op: OperationSpec, params: Params, state: RequestState): Params {
  if (caller.role !== "browser") return params;
  const checked = checkBrowserParams(op.name, params, caller.identity);
  if (!checked.ok) {
    state.access.policy = "refused:browser_param";
    throw new ProxyError("policy_violation", checked.message, { param: checked.param });
  }
  return checked.params;
}

function applyPolicy(op: OperationSpec, params: Params, config: TenantConfig, state: RequestState): Params {
  if (op.name !== "create" && op.name !== "update") return params;
  const outcome = enforceSessionPolicy(op.name, params, config.verification);
  if (!outcome.ok) {
    state.access.policy = `refused:${outcome.rule}`;
    throw new ProxyError(outcome.code, outcome.message, { param: outcome.param });
  }
  state.access.policy = outcome.decisions.length > 0 ? outcome.decisions.join(",") : "allowed";
  return outcome.params;
}

async function forwardToStripe(call: UpstreamCall, state: RequestState): Promise<UpstreamResponse> {
  const base = upstreamBase(state);
  const upstream = await callStripe(call, {
    fetch: state.deps.fetch,
    base,
    now: state.deps.now,
    timings: state.deps.timings ?? {},
  });
  state.access.upstream_status = upstream.status;
  state.access.upstream_ms = upstream.upstreamMs;
  state.access.retries = upstream.attempts - 1;
  const stripeRequestId = upstream.headers.get("request-id");
  if (stripeRequestId) state.access.stripe_request_id = stripeRequestId;
  return upstream;
}

/**
 * A browser's call to Stripe. A signed-in user's session-id operations first retrieve the session and
 * go on only if the user owns it. For every browser session-id operation, someone else's session and
 * every upstream 404 take the one path of `missingSession`, so that existence cannot be probed by
 * status, headers or body bytes. Successful answers carry only the browser's view of the session;
 * Stripe's other errors pass through unchanged.
 */
async function forwardForBrowser(
  caller: BrowserCaller,
  op: OperationSpec,
  id: string | undefined,
  call: UpstreamCall,
  state: RequestState,
): Promise<Response> {
  const user = caller.identity.kind === "user" ? caller.identity : undefined;
  if (user && id !== undefined) {
    const current = await forwardToStripe(op.name === "retrieve" ? call : retrieveCall(call, id), state);
    if (current.status === 404) return missingSession(id, current, state);
    if (current.status !== 200) return shapeResponse(OPERATIONS.retrieve, current, state);
    if (!isOwnedBy(current.json, user.subject)) {
      state.access.policy = "refused:not_owner";
      return missingSession(id, current, state);
    }
    if (op.name === "retrieve") return shapeResponse(op, browserView(current, true), state);
  }
  const upstream = await forwardToStripe(call, state);
  if (id !== undefined && upstream.status === 404) return missingSession(id, upstream, state);
  // An anonymous browser gets the continuation fields (client_secret, url) only when it creates.
  return shapeResponse(op, browserView(upstream, user !== undefined || op.name === "create"), state);
}

/**
 * The browser's answer for a session that is missing or not its own: built from the id alone by the
 * proxy's error renderer (whatever Stripe's 404 looked like: pretty-printed or not, `request_log_url`,
 * its own message), with the Request-Id of the upstream answer it replaces, a Stripe id in both cases.
 * Nothing else of the upstream answer is read.
 */
function missingSession(id: string, upstream: UpstreamResponse, state: RequestState): Response {
  state.access.error_code = "resource_missing";
  return errorResponse(missingObjectError("verification_session", id), upstream.headers.get("request-id") ?? state.requestId);
}

/** The GET that reads a session before a browser may act on it: same key, account and version. */
function retrieveCall(call: UpstreamCall, id: string): UpstreamCall {
  const { body: _body, idempotencyKey: _idempotencyKey, query: _query, ...same } = call;
  return { ...same, method: "GET", path: upstreamPath(OPERATIONS.retrieve, id), callerIdempotencyKey: false };
}

function browserView(upstream: UpstreamResponse, withContinuation: boolean): UpstreamResponse {
  if (upstream.status < 200 || upstream.status >= 300) return upstream;
  const view = browserSessionView(upstream.json, { withContinuation });
  if (!view) throw new ProxyError("upstream_unavailable", "Stripe returned an unexpected response.");
  return { ...upstream, text: JSON.stringify(view), json: view };
}

function upstreamBase(state: RequestState): string {
  const raw =
    typeof state.env.STRIPE_API_BASE === "string" && state.env.STRIPE_API_BASE !== ""
      ? state.env.STRIPE_API_BASE
      : DEFAULT_STRIPE_API_BASE;
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
    return url.origin;
  } catch {
    state.log.error("stripe_api_base_invalid", { request_id: state.requestId, detail: "STRIPE_API_BASE is not an http(s) URL" });
    throw new ProxyError("internal_error", "The identity proxy is misconfigured.");
  }
}

/**
 * The caller's response: Stripe's status and body (Stripe errors unchanged), only allow-listed
 * headers, and no client_secret or url in any list.
 */
function shapeResponse(op: OperationSpec, upstream: UpstreamResponse, state: RequestState): Response {
  const headers = new Headers(upstream.headers);
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  if (!headers.has("request-id")) headers.set("Request-Id", state.requestId);
  const isList = op.name === "list" || op.name === "report_list";
  const body = (isList && upstream.status === 200 ? stripListSecrets(upstream.json) : undefined) ?? upstream.text;
  return new Response(body, { status: upstream.status, headers });
}
