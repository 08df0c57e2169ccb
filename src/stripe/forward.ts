import type { RequestState } from "../deps.ts";
import { ProxyError } from "../errors.ts";
import { stripListSecrets } from "./list-view.ts";
import type { OperationSpec } from "./operations.ts";
import { callStripe, type UpstreamCall, type UpstreamResponse } from "./upstream.ts";
import { runtimeConfig } from "../config/runtime.ts";

/** One call to Stripe with the request's fetch, clock and timings (retries in upstream.ts). */
export function forwardToStripe(call: UpstreamCall, state: RequestState): Promise<UpstreamResponse> {
  return callStripe(call, {
    fetch: state.deps.fetch,
    base: upstreamBase(state),
    now: state.deps.now,
    timings: state.deps.timings ?? {},
  });
}

/**
 * The Stripe origin the proxy calls: STRIPE_API_BASE (tests, the stub) or api.stripe.com, parsed once
 * per isolate (config/runtime.ts). An invalid value fails every request that would reach Stripe.
 */
export function upstreamBase(state: RequestState): string {
  const base = runtimeConfig(state.env).stripeApiBase;
  if (base !== undefined) return base;
  state.log.error("stripe_api_base_invalid", { request_id: state.requestId, detail: "STRIPE_API_BASE is not an http(s) URL" });
  throw new ProxyError("internal_error", "The identity proxy is misconfigured.");
}

/**
 * The caller's response: Stripe's status and body (Stripe errors unchanged), only allow-listed
 * headers, and no client_secret or url in any list.
 */
export function shapeResponse(op: OperationSpec, upstream: UpstreamResponse, requestId: string): Response {
  const isList = op.name === "list" || op.name === "report_list";
  const body = (isList && upstream.status === 200 ? stripListSecrets(upstream.json) : undefined) ?? upstream.text;
  // The Response copies the headers once; its own copy is the one completed here.
  const response = new Response(body, { status: upstream.status, headers: upstream.headers });
  response.headers.set("Content-Type", "application/json");
  response.headers.set("Cache-Control", "no-store");
  if (!upstream.headers.has("request-id")) response.headers.set("Request-Id", requestId);
  return response;
}
