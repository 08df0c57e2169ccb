/**
 * The closed set of errors the proxy itself produces. Every one is answered in Stripe's error shape
 * with the status that makes stripe-node raise the matching class (401 → StripeAuthenticationError,
 * 403 → StripePermissionError, 429 → StripeRateLimitError, 400/404 → StripeInvalidRequestError).
 * Upstream Stripe errors are not built here: they pass through unchanged.
 */
export const ERROR_STATUS = {
  parameter_invalid: 400,
  parameter_unknown: 400,
  parameter_missing: 400,
  policy_violation: 400,
  signature_invalid: 400,
  authentication_required: 401,
  operation_not_allowed: 403,
  origin_not_allowed: 403,
  resource_missing: 404,
  body_too_large: 413,
  unsupported_media_type: 415,
  rate_limit: 429,
  internal_error: 500,
  tenant_misconfigured: 500,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  /** An event could not be put on the EVENTS queue: Stripe retries the webhook. */
  event_queue_unavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Stripe's error `type` for a code: the 5xx family is `api_error`, the rest `invalid_request_error`. */
export function errorTypeOf(code: ErrorCode): "api_error" | "invalid_request_error" {
  return ERROR_STATUS[code] >= 500 ? "api_error" : "invalid_request_error";
}

export interface StripeErrorBody {
  error: { type: string; code: ErrorCode; message: string; param?: string };
}

/**
 * The only exception the request path throws on purpose. Its message is written for the caller;
 * anything else that escapes a stage becomes a generic `internal_error` in the catch stage.
 */
export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: { param?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = "ProxyError";
    this.code = code;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): StripeErrorBody {
    const error: StripeErrorBody["error"] = { type: errorTypeOf(this.code), code: this.code, message: this.message };
    if (this.param !== undefined) error.param = this.param;
    return { error };
  }
}

/** The message the caller sees when something unexpected happened; never an exception's own text. */
export const INTERNAL_ERROR_MESSAGE = "An unexpected error occurred in the identity proxy. It has been logged.";

/** Builds the Stripe-shaped response for a proxy error. Errors are never cached by anyone. */
export function errorResponse(err: ProxyError, requestId: string, extraHeaders: Record<string, string> = {}): Response {
  const headers = new Headers({
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Request-Id": requestId,
    ...err.headers,
    ...extraHeaders,
  });
  return new Response(JSON.stringify(err.toBody()), { status: err.status, headers });
}
