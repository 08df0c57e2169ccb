import { type IRequest, Router } from "itty-router";
import type { Deps, RequestState } from "./deps.ts";
import type { Env } from "./env.ts";
import { errorResponse, INTERNAL_ERROR_MESSAGE, ProxyError, unrecognizedUrl } from "./errors.ts";
import { newRequestId } from "./http/request-id.ts";
import { createLogger, errorFields } from "./log/logger.ts";
import { handleHealth } from "./routes/health.ts";
import { handlePreflight } from "./routes/preflight.ts";
import { handleIdentityRequest } from "./routes/identity.ts";
import { handleCachePurge } from "./routes/purge.ts";
import { handleConnectWebhook, handleStripeWebhook } from "./routes/webhooks.ts";
import { UpstreamFailure } from "./stripe/upstream.ts";
import { type TenantDirectory, tenantDirectory } from "./tenancy/directory.ts";
import { handleDeadLetterAdmin } from "./routes/events-admin.ts";
import { runtimeConfig } from "./config/runtime.ts";

/**
 * The map of the product: one handler per route family (src/routes/). Each request goes through the
 * same stages: request id and state (`handleRequest`) → route (the table below) → handler → `catch`
 * (errors) → `finish` (Request-Id, CORS headers, the one access-log line). Every error leaves as a
 * Stripe-shaped body from the closed set in errors.ts; anything unexpected becomes a generic
 * `internal_error` whose details go only to the (scrubbed) log.
 */
const router = Router<IRequest, [RequestState]>({
  catch: (err, _request, state) => toErrorResponse(err, state),
  finally: [(response: Response, request, state) => finish(response, request, state)],
});

router.get("/healthz", () => handleHealth());
// CORS preflights from a tenant's extra browser origins (same-origin pages never send one).
router.options("*", (request, state) => handlePreflight(request, state));
// Before the per-tenant route: `connect` is the Connect platform endpoint, never a tenant id.
router.post("/webhooks/stripe/connect", (request, state) => handleConnectWebhook(request, state));
router.all("/admin/events/dead-letters*", (request, state) => handleDeadLetterAdmin(request, state));
router.post("/webhooks/stripe/:tenant_id", (request, state) =>
  handleStripeWebhook(String(request.params.tenant_id), request, state),
);
router.post("/v1/cache/purge", (request, state) => handleCachePurge(request, state));
router.all("/v1/*", (request, state) => handleIdentityRequest(request, state));
// Routes only a dev entry adds (dev/worker.ts: the demo page); the deployed Worker passes none.
router.all("*", (request, state) => state.deps.devRoutes?.(request, state));
router.all("*", (request, state) => {
  // Tenants mounted under a path prefix (`/identity/v1/...`) are resolved inside the Identity path.
  if (/\/v1\//.test(state.url.pathname)) return handleIdentityRequest(request, state);
  throw unrecognizedUrl(request.method, state.url.pathname);
});

function toErrorResponse(err: unknown, state: RequestState): Response {
  if (err instanceof UpstreamFailure) {
    state.access.retries = err.attempts - 1;
    state.access.upstream_ms = err.upstreamMs;
  }
  if (err instanceof ProxyError) {
    state.access.error_code = err.code;
    return errorResponse(err, state.requestId);
  }
  state.access.error_code = "internal_error";
  state.log.error("unhandled_exception", {
    request_id: state.requestId,
    ...(state.access.tenant ? { tenant: state.access.tenant } : {}),
    ...errorFields(err),
  });
  return errorResponse(new ProxyError("internal_error", INTERNAL_ERROR_MESSAGE), state.requestId);
}

function finish(response: Response, request: Request, state: RequestState): Response {
  const extra: Record<string, string> = { ...state.responseHeaders };
  if (!response.headers.has("request-id")) extra["Request-Id"] = state.requestId;
  const out = withHeaders(response, extra);
  state.log.access({
    request_id: state.requestId,
    method: request.method,
    status: out.status,
    duration_ms: state.deps.now() - state.startedAt,
    ...state.access,
  });
  return out;
}

/**
 * `response` with `headers` set. A Response this Worker built has mutable headers and is completed in
 * place; one it did not build (a fetched answer, whose headers are immutable) is copied first.
 */
function withHeaders(response: Response, headers: Record<string, string>): Response {
  const entries = Object.entries(headers);
  if (entries.length === 0) return response;
  try {
    for (const [name, value] of entries) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    for (const [name, value] of entries) copy.headers.set(name, value);
    return copy;
  }
}

/** Handles one request with explicit dependencies (the Worker passes the real ones, tests fakes). */
export async function handleRequest(request: Request, env: Env, ctx: ExecutionContext, deps: Deps): Promise<Response> {
  const log = createLogger(runtimeConfig(env).logLevel, deps.logSink, deps.now);
  const requestId = newRequestId();
  let tenants: TenantDirectory | undefined;
  const state: RequestState = {
    env,
    ctx,
    deps,
    log,
    requestId,
    url: new URL(request.url),
    startedAt: deps.now(),
    access: {},
    // Built on first use: routes that never look a tenant up (health, admin) never read TENANTS.
    get tenants() {
      tenants ??= tenantDirectory(env, log, requestId, deps.now);
      return tenants;
    },
  };
  try {
    return await router.fetch(request, state);
  } catch (err) {
    // Only reachable if a `finally` stage itself throws; still answer in Stripe's shape.
    return toErrorResponse(err, state);
  }
}
