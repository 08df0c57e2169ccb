import type { RequestState } from "../deps.ts";
import { DEFAULT_STRIPE_API_BASE } from "../env.ts";
import { ProxyError } from "../errors.ts";
import { stripListSecrets } from "./list-view.ts";
import type { OperationSpec } from "./operations.ts";
import { callStripe, type UpstreamCall, type UpstreamResponse } from "./upstream.ts";

/** One call to Stripe with the request's fetch, clock and timings (retries in upstream.ts). */
export function forwardToStripe(call: UpstreamCall, state: RequestState): Promise<UpstreamResponse> {
  return callStripe(call, {
    fetch: state.deps.fetch,
    base: upstreamBase(state),
    now: state.deps.now,
    timings: state.deps.timings ?? {},
  });
}

/** The Stripe origin the proxy calls: STRIPE_API_BASE (tests, the stub) or api.stripe.com. */
export function upstreamBase(state: RequestState): string {
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
export function shapeResponse(op: OperationSpec, upstream: UpstreamResponse, requestId: string): Response {
  const headers = new Headers(upstream.headers);
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  if (!headers.has("request-id")) headers.set("Request-Id", requestId);
  const isList = op.name === "list" || op.name === "report_list";
  const body = (isList && upstream.status === 200 ? stripListSecrets(upstream.json) : undefined) ?? upstream.text;
  return new Response(body, { status: upstream.status, headers });
}
