import { authorizeOperation } from "../auth/authorize.ts";
import { forwardForBrowser } from "../auth/browser-forward.ts";
import { checkBrowserParams } from "../auth/browser-params.ts";
import { type Caller, identifyCaller } from "../auth/identify-caller.ts";
import { invalidateAfterWrite } from "../cache/invalidation.ts";
import { listThroughCache } from "../cache/list-cache.ts";
import type { TenantConfig } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { missingObjectError, ProxyError, unrecognizedUrl } from "../errors.ts";
import { enforceSessionPolicy } from "../policy/enforce.ts";
import { limitCaller } from "../ratelimit/limit-caller.ts";
import { resolveApiVersion } from "../stripe/api-version.ts";
import { encodeForm, type Params } from "../stripe/form-codec.ts";
import { forwardToStripe, shapeResponse, upstreamBase } from "../stripe/forward.ts";
import { matchOperation, type OperationSpec, upstreamPath } from "../stripe/operations.ts";
import { parseOperationParams } from "../stripe/parse-request.ts";
import type { UpstreamCall, UpstreamResponse } from "../stripe/upstream.ts";
import { readCallerStripeHeaders } from "../stripe/upstream-headers.ts";
import { healthyConfig } from "../tenancy/healthy-config.ts";
import { tenantSecretKey } from "../tenancy/tenant-secrets.ts";

/**
 * The Identity request path, top to bottom: identify the caller and its tenant → match the operation
 * → check the tenant and the caller's rights → parse and validate parameters → enforce the tenant's
 * policy → call Stripe (server lists through the list cache) → shape the response → invalidate the
 * tenant's cached lists after a successful write. Each stage throws a `ProxyError` to refuse; this
 * handler records what each stage learned on the access log.
 */
export async function handleIdentityRequest(request: Request, state: RequestState): Promise<Response> {
  const caller = await identifyCaller(request, state, (tenant) => {
    state.access.tenant = tenant;
  });
  state.access.tenant = caller.tenant.id;
  state.access.role = caller.role;
  await limitCaller(caller, state);

  const op = routeOperation(request.method, caller.path);
  state.access.operation = op.spec.name;
  state.access.route = op.spec.path;

  const config = healthyConfig(caller.tenant, state);
  authorizeOperation(caller, op.spec);
  const stripeHeaders = readCallerStripeHeaders(request.headers);
  const apiVersion = resolveApiVersion(request.headers.get("stripe-version"), config.stripe);
  const params = await parseOperationParams(request, state.url, op.spec);
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

  const forward = async (c: UpstreamCall): Promise<UpstreamResponse> => recordUpstream(await forwardToStripe(c, state), state);
  let response: Response;
  if (caller.role === "browser") {
    const answer = await forwardForBrowser(caller, op.spec, op.id, call, forward, state.requestId);
    if (answer.notOwner) state.access.policy = "refused:not_owner";
    if (answer.missing) state.access.error_code = "resource_missing";
    response = answer.response;
  } else if (op.spec.name === "list") {
    const fetchList = async () => shapeResponse(op.spec, await forward(call), state.requestId);
    const input = {
      tenant: caller.tenant.id,
      role: caller.role,
      ttlSeconds: config.cache.list_ttl_seconds,
      params: forwarded,
      call,
      upstream: upstreamBase(state),
      cacheControl: request.headers.get("cache-control"),
    };
    const list = await listThroughCache(input, state, fetchList);
    if (list.joinedStatus !== undefined) state.access.upstream_status = list.joinedStatus;
    state.access.cache = list.cache;
    response = list.response;
  } else response = shapeResponse(op.spec, await forward(call), state.requestId);
  invalidateAfterWrite(op.spec, response.status, caller.tenant.id, state);
  return response;
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

/** The access log names the last upstream answer: its status, time, retries and Stripe's request id. */
function recordUpstream(upstream: UpstreamResponse, state: RequestState): UpstreamResponse {
  state.access.upstream_status = upstream.status;
  state.access.upstream_ms = upstream.upstreamMs;
  state.access.retries = upstream.attempts - 1;
  const stripeRequestId = upstream.headers.get("request-id");
  if (stripeRequestId) state.access.stripe_request_id = stripeRequestId;
  return upstream;
}
