/**
 * Stripe-shaped errors as the stub answers them. The wording follows what Stripe's API returns
 * (collected from its docs and SDK issue threads) so that clients and the proxy see familiar bodies.
 */
export type StripeErrorType = "api_error" | "invalid_request_error" | "idempotency_error";

export interface StripeErrorBody {
  error: {
    code?: string;
    doc_url?: string;
    message: string;
    param?: string;
    request_log_url?: string;
    type: StripeErrorType;
  };
}

/** Where a request's log lives in Stripe's dashboard; Stripe's errors carry it (test mode here). */
export function requestLogUrl(requestId: string, nowMs: number): string {
  return `https://dashboard.stripe.com/test/logs/${requestId}?t=${Math.floor(nowMs / 1000)}`;
}

/** An error the stub answers with; thrown inside handlers and turned into a response in one place. */
export class StubError extends Error {
  readonly status: number;
  readonly type: StripeErrorType;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: { type?: StripeErrorType; code?: string; param?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "StubError";
    this.status = status;
    this.type = options.type ?? (status >= 500 ? "api_error" : "invalid_request_error");
    this.code = options.code;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }

  /**
   * Stripe's error object. Its keys come in alphabetical order as Stripe sends them (code, doc_url,
   * message, param, request_log_url, type); `doc_url` goes with a code (every code in Stripe's list has
   * a page), `request_log_url` with a request that Stripe logged.
   */
  toBody(request?: { id: string; at: number }): StripeErrorBody {
    const error = {} as StripeErrorBody["error"];
    if (this.code !== undefined) {
      error.code = this.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, "-")}`;
    }
    error.message = this.message;
    if (this.param !== undefined) error.param = this.param;
    if (request) error.request_log_url = requestLogUrl(request.id, request.at);
    error.type = this.type;
    return { error };
  }
}

/**
 * A GUESS (see dev/stub/README.md): Stripe documents which statuses allow cancel/redact/update but not the
 * code of the refusal. One constant, so `npm run conformance` against Stripe can correct it in one place.
 */
export const STATE_ERROR_CODE = "status_transition_invalid";

/**
 * A GUESS (dev/stub/README.md): the `param` of Stripe's 404 for a missing object. Stripe's older resources
 * answer `id` ("No such customer", `/v1/customers/{customer}`), newer ones the path parameter's name
 * ("No such payment_intent" → `intent`); for Identity no source says which. `id`, as the proxy answers.
 */
export const MISSING_OBJECT_PARAM = "id";

export function resourceMissing(kind: "verification_session" | "verification_report", id: string): StubError {
  return new StubError(404, `No such ${kind}: '${id}'`, { code: "resource_missing", param: MISSING_OBJECT_PARAM });
}

export function unrecognizedUrl(method: string, path: string): StubError {
  const trailing = path.endsWith("/")
    ? " If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an object, make sure you passed a valid (non-empty) identifier in your code."
    : "";
  return new StubError(
    404,
    `Unrecognized request URL (${method}: ${path}).${trailing} Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
  );
}

export function missingApiKey(): StubError {
  return new StubError(
    401,
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
  );
}

/** Stripe echoes a masked key: the mode prefix and the last four characters, never the whole key. */
export function invalidApiKey(key: string): StubError {
  const prefix = /^[a-z]{2,4}_(test|live)_/.exec(key)?.[0] ?? "";
  const tail = key.length - prefix.length > 8 ? key.slice(-4) : "";
  const masked = `${prefix}${"*".repeat(Math.max(4, key.length - prefix.length - tail.length))}${tail}`;
  return new StubError(401, `Invalid API Key provided: ${masked}`);
}

/** Stripe pretty-prints its JSON with two spaces; the stub does the same. */
export function jsonText(body: unknown): string {
  return JSON.stringify(body, null, 2);
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(jsonText(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}
