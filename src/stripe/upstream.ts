import { ProxyError } from "../errors.ts";
import { DEFAULT_UPSTREAM_TIMINGS, MAX_UPSTREAM_BODY_BYTES, type UpstreamTimings } from "../limits.ts";

/** One call to Stripe, already validated and policy-checked. */
export interface UpstreamCall {
  method: "GET" | "POST";
  /** Path without query, e.g. `/v1/identity/verification_sessions/vs_1`. */
  path: string;
  /** Encoded query string without `?` (GET). */
  query?: string;
  /** Form-encoded body (POST). */
  body?: string;
  secretKey: string;
  account?: string;
  apiVersion?: string;
  /** Always set for POST: the caller's, or one the proxy generated so its own retries are safe. */
  idempotencyKey?: string;
  /** Whether the caller chose the idempotency key (then it is safe for the caller to retry too). */
  callerIdempotencyKey: boolean;
}

export interface UpstreamResponse {
  status: number;
  /** Only the allow-listed response headers. */
  headers: Headers;
  text: string;
  attempts: number;
  upstreamMs: number;
}

export interface UpstreamOptions {
  fetch: (input: Request) => Promise<Response>;
  base: string;
  now: () => number;
  timings?: Partial<UpstreamTimings>;
  random?: () => number;
}

/** Response headers that come back to the caller; everything else Stripe sends stays at the edge. */
export const RESPONSE_HEADER_ALLOWLIST = ["request-id", "idempotency-key", "original-request", "stripe-should-retry", "stripe-version"] as const;

const USER_AGENT = "identity-edge/0.1";

type Attempt =
  | { kind: "response"; status: number; headers: Headers; text: string; shouldRetry: boolean | undefined }
  | { kind: "network" }
  | { kind: "timeout" };

/**
 * Whether an attempt may be retried: network errors, timeouts, 409 (an idempotent request still in
 * flight), 5xx and an explicit `Stripe-Should-Retry: true`; never 429 or `Stripe-Should-Retry: false`.
 * Safe for POSTs because every POST carries an Idempotency-Key.
 */
export function isRetryable(attempt: Attempt): boolean {
  if (attempt.kind !== "response") return true;
  if (attempt.shouldRetry === false || attempt.status === 429) return false;
  if (attempt.shouldRetry === true) return true;
  return attempt.status === 409 || attempt.status >= 500;
}

function buildRequest(call: UpstreamCall, base: string, signal: AbortSignal): Request {
  const headers = new Headers({
    Authorization: `Bearer ${call.secretKey}`,
    "User-Agent": USER_AGENT,
    Accept: "application/json",
  });
  if (call.account) headers.set("Stripe-Account", call.account);
  if (call.apiVersion) headers.set("Stripe-Version", call.apiVersion);
  if (call.idempotencyKey) headers.set("Idempotency-Key", call.idempotencyKey);
  const url = `${base}${call.path}${call.query ? `?${call.query}` : ""}`;
  if (call.method === "POST") {
    headers.set("Content-Type", "application/x-www-form-urlencoded");
    return new Request(url, { method: "POST", headers, body: call.body ?? "", signal });
  }
  return new Request(url, { method: "GET", headers, signal });
}

async function readCapped(response: Response): Promise<string> {
  const text = await response.text();
  if (text.length > MAX_UPSTREAM_BODY_BYTES) throw new Error("upstream body too large");
  return text;
}

/** A complete JSON object, cheaply: a truncated or HTML body fails this without a full parse. */
function looksLikeJsonObject(text: string): boolean {
  const t = text.trim();
  return t.startsWith("{") && t.endsWith("}");
}

async function attemptOnce(call: UpstreamCall, opts: UpstreamOptions, timeoutMs: number): Promise<Attempt> {
  const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
  try {
    const response = await opts.fetch(buildRequest(call, opts.base, signal));
    const text = await readCapped(response);
    if (!looksLikeJsonObject(text)) return { kind: "network" };
    const headers = new Headers();
    for (const name of RESPONSE_HEADER_ALLOWLIST) {
      const value = response.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const retryHeader = response.headers.get("stripe-should-retry");
    const shouldRetry = retryHeader === "true" ? true : retryHeader === "false" ? false : undefined;
    return { kind: "response", status: response.status, headers, text, shouldRetry };
  } catch {
    return signal.aborted ? { kind: "timeout" } : { kind: "network" };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls Stripe with the tenant's credentials, retrying what is safe to retry with full-jitter
 * exponential backoff inside a total deadline. Upstream answers (including Stripe errors) come back
 * as they are; only a Stripe that never answered becomes a proxy error: 504 `upstream_timeout` or
 * 502 `upstream_unavailable`, with `Stripe-Should-Retry` telling the caller whether its own retry is
 * safe (GETs, or POSTs whose Idempotency-Key the caller chose).
 */
export async function callStripe(call: UpstreamCall, opts: UpstreamOptions): Promise<UpstreamResponse> {
  const timings = { ...DEFAULT_UPSTREAM_TIMINGS, ...opts.timings };
  const random = opts.random ?? Math.random;
  const start = opts.now();
  const deadline = start + timings.deadlineMs;
  let attempts = 0;
  let last: Attempt = { kind: "network" };
  for (;;) {
    attempts++;
    const remaining = deadline - opts.now();
    last = await attemptOnce(call, opts, Math.min(timings.attemptTimeoutMs, remaining));
    if (!isRetryable(last) || attempts > timings.maxRetries) break;
    const backoff = random() * Math.min(timings.backoffCapMs, timings.backoffBaseMs * 2 ** (attempts - 1));
    // A retry that could not get a fair attempt in before the deadline is not worth starting.
    if (opts.now() + backoff + 50 >= deadline) break;
    await sleep(backoff);
  }
  const upstreamMs = opts.now() - start;
  if (last.kind === "response") return { status: last.status, headers: last.headers, text: last.text, attempts, upstreamMs };
  const safeToRetry = call.method === "GET" || call.callerIdempotencyKey;
  const headers = { "Stripe-Should-Retry": safeToRetry ? "true" : "false" };
  const error: ProxyError =
    last.kind === "timeout"
      ? new ProxyError("upstream_timeout", "Stripe did not answer in time. The request may or may not have been applied.", { headers })
      : new ProxyError("upstream_unavailable", "Stripe could not be reached or answered with a malformed response.", { headers });
  throw new UpstreamFailure(error, attempts, upstreamMs);
}

/** A proxy error for a Stripe that never answered, with what the access log needs to know. */
export class UpstreamFailure extends ProxyError {
  readonly attempts: number;
  readonly upstreamMs: number;
  constructor(error: ProxyError, attempts: number, upstreamMs: number) {
    super(error.code, error.message, { headers: error.headers });
    this.attempts = attempts;
    this.upstreamMs = upstreamMs;
  }
}
