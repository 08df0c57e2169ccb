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

/**
 * The codes whose meaning is the one Stripe documents at https://docs.stripe.com/error-codes: their
 * errors carry Stripe's `doc_url`. The proxy's own codes (policy_violation, origin_not_allowed,
 * upstream_*...) and codes Stripe uses with another meaning (`authentication_required` is a card
 * 3-D Secure decline there) have none rather than a link that explains something else.
 */
const STRIPE_DOCUMENTED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "parameter_missing",
  "parameter_unknown",
  "rate_limit",
  "resource_missing",
]);

/** Stripe's link for a documented code: the code with dashes (`resource_missing` → `.../resource-missing`). */
export function stripeDocUrl(code: ErrorCode): string | undefined {
  return STRIPE_DOCUMENTED_CODES.has(code) ? `https://docs.stripe.com/error-codes/${code.replace(/_/g, "-")}` : undefined;
}

export interface StripeErrorBody {
  error: { type: string; code?: ErrorCode; doc_url?: string; message: string; param?: string };
}

/**
 * The only exception the request path throws on purpose. Its message is written for the caller;
 * anything else that escapes a stage becomes a generic `internal_error` in the catch stage.
 */
export class ProxyError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;
  /** Whether the body names the code: Stripe's "Unrecognized request URL" has none (the log still does). */
  readonly sendCode: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { param?: string; headers?: Record<string, string>; sendCode?: boolean } = {},
  ) {
    super(message);
    this.name = "ProxyError";
    this.code = code;
    this.param = options.param;
    this.headers = options.headers ?? {};
    this.sendCode = options.sendCode ?? true;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): StripeErrorBody {
    const error: StripeErrorBody["error"] = { type: errorTypeOf(this.code), message: this.message };
    if (this.sendCode) {
      error.code = this.code;
      const docUrl = stripeDocUrl(this.code);
      if (docUrl !== undefined) error.doc_url = docUrl;
    }
    if (this.param !== undefined) error.param = this.param;
    return { error };
  }
}

/**
 * An error body as Stripe writes one: pretty-printed with two spaces, the error's keys in alphabetical
 * order, a final newline. One renderer for every error the proxy makes, so that two answers built from
 * the same fields are the same bytes (the browser's "not yours" and "missing" 404s depend on it).
 */
export function renderStripeError(body: StripeErrorBody): string {
  const sorted = Object.fromEntries(Object.entries(body.error).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ error: sorted }, null, 2)}\n`;
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
  return new Response(renderStripeError(err.toBody()), { status: err.status, headers });
}

/*
 * The errors more than one stage answers with the same words. Each builds a `ProxyError` from the
 * closed set above; the messages are part of the contract (SDKs and tests read them).
 */

/** Stripe's answer to a path or method it does not serve: type invalid_request_error, no code. */
export function unrecognizedUrl(method: string, path: string): ProxyError {
  const shown = path.length > 100 ? `${path.slice(0, 100)}...` : path;
  return new ProxyError("resource_missing", `Unrecognized request URL (${method}: ${shown}).`, { sendCode: false });
}

/** The two kinds of object a path id names. */
export type IdentityObject = "verification_session" | "verification_report";

/**
 * Stripe's 404 for an id that names no object of the kind: `resource_missing` on `id`, with Stripe's
 * message. Used for every such answer the proxy gives — a malformed id (never forwarded), and for a
 * browser's session-id operations someone else's session and every upstream 404 alike — so all of
 * them are rendered by the one error renderer from the same fields and cannot be told apart.
 * The message quotes the id as the caller sent it (capped; JSON escapes the rest).
 */
export function missingObjectError(kind: IdentityObject, id: string): ProxyError {
  const shown = id.length > 100 ? `${id.slice(0, 100)}...` : id;
  return new ProxyError("resource_missing", `No such ${kind}: '${shown}'`, { param: "id" });
}

/** A tenant whose config or secrets cannot serve it: the details go to the log, never to the caller. */
export function misconfigured(): ProxyError {
  return new ProxyError(
    "tenant_misconfigured",
    "This tenant of the identity proxy is misconfigured. The operator has been notified in the logs.",
  );
}

/** The one refusal every unverifiable webhook delivery gets, whatever the cause (Stripe's SDK wording). */
export function signatureInvalid(): ProxyError {
  return new ProxyError("signature_invalid", "No signatures found matching the expected signature for payload.");
}

/** The one answer Stripe gets when an event cannot be queued: a 503, so Stripe redelivers it later. */
export function queueUnavailable(): ProxyError {
  return new ProxyError("event_queue_unavailable", "The event could not be queued for delivery; retry later.");
}

/** A request body over the proxy's limit for its route. */
export function bodyTooLarge(limit: number): ProxyError {
  return new ProxyError("body_too_large", `The request body is larger than the proxy's limit of ${limit} bytes.`);
}
