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

/** A JSON object as Stripe sent it (every Stripe answer, success or error, is one). */
export type JsonObject = Record<string, unknown>;

export interface UpstreamResponse {
  status: number;
  /** Only the allow-listed response headers. */
  headers: Headers;
  /** The body exactly as Stripe sent it (what passes through unchanged)... */
  text: string;
  /** ...and the same body parsed once, for the steps that read it (ownership, browser view, list secrets). */
  json: JsonObject;
  attempts: number;
  upstreamMs: number;
}

export interface UpstreamOptions {
  fetch: (input: Request) => Promise<Response>;
  base: string;
  now: () => number;
  timings?: Partial<UpstreamTimings>;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
  /** Waits between attempts; default a timer. Tests substitute it to observe the backoff. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Response headers that come back to the caller; everything else Stripe sends stays at the edge. The
 * set covers what stripe-node and stripe-python read from a response (Request-Id, Idempotency-Key,
 * Stripe-Version, Stripe-Should-Retry, Stripe-Notice) and what Stripe sends about idempotent replays
 * (Idempotent-Replayed, Original-Request). `Stripe-Account` is not echoed: callers never choose it.
 * `Idempotency-Key`, `Idempotent-Replayed` and `Original-Request` come back only when the caller
 * chose the key (see `exchange`).
 */
export const RESPONSE_HEADER_ALLOWLIST = [
  "request-id",
  "idempotency-key",
  "idempotent-replayed",
  "original-request",
  "stripe-should-retry",
  "stripe-version",
  "stripe-notice",
] as const;

/** The response headers about the request's Idempotency-Key: only for a key the caller chose. */
const KEY_HEADERS: ReadonlySet<string> = new Set(["idempotency-key", "idempotent-replayed", "original-request"]);

/** A retry needs at least this much of the deadline left after its backoff to be worth starting. */
export const MIN_ATTEMPT_MS = 50;

const USER_AGENT = "identity-edge/0.1";

/** What one attempt came to. */
export type Attempt =
  /** Stripe answered with a complete JSON object (any status). */
  | { kind: "response"; status: number; headers: Headers; text: string; json: JsonObject; shouldRetry: boolean | undefined }
  /** The connection failed or dropped (before or during the body). */
  | { kind: "network" }
  /** An answer that is not a complete JSON object: truncated, HTML from a load balancer, oversized. */
  | { kind: "malformed" }
  /** No complete answer within the attempt's timeout (headers or body). */
  | { kind: "timeout" };

/**
 * Whether an attempt may be retried: network errors, malformed answers, timeouts, 409 (an idempotent
 * request still in flight), 5xx and an explicit `Stripe-Should-Retry: true`; never 429 or
 * `Stripe-Should-Retry: false`. Safe for POSTs because every POST carries an Idempotency-Key.
 */
export function isRetryable(attempt: Attempt): boolean {
  if (attempt.kind !== "response") return true;
  if (attempt.shouldRetry === false || attempt.status === 429) return false;
  if (attempt.shouldRetry === true) return true;
  return attempt.status === 409 || attempt.status >= 500;
}

/**
 * The wait before retry number `retry` (1 for the first retry): "full jitter", uniform in
 * [0, min(cap, base·2^(retry−1))). Never negative, never above the cap, whatever `random` returns.
 */
export function backoffDelay(
  retry: number,
  timings: Pick<UpstreamTimings, "backoffBaseMs" | "backoffCapMs">,
  random: () => number,
): number {
  // The exponent stops at 30: any sane cap is reached long before, and 0·2^1024 would be NaN.
  const growth = 2 ** Math.min(30, Math.max(0, retry - 1));
  const ceiling = Math.max(0, Math.min(timings.backoffCapMs, timings.backoffBaseMs * growth));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return unit * ceiling;
}

export type RetryStep =
  | { retry: true; delayMs: number }
  | { retry: false; reason: "final" | "not_repeatable" | "retries_exhausted" | "deadline" };

/**
 * Whether to try again after `attempts` attempts, the last of which came to `last`, with `remainingMs`
 * of the total deadline left (pure). A POST without an Idempotency-Key is never repeated: the key is
 * what makes a repeat safe.
 */
export function nextStep(
  last: Attempt,
  attempts: number,
  remainingMs: number,
  repeatable: boolean,
  timings: UpstreamTimings,
  random: () => number,
): RetryStep {
  if (!isRetryable(last)) return { retry: false, reason: "final" };
  if (!repeatable) return { retry: false, reason: "not_repeatable" };
  if (attempts > timings.maxRetries) return { retry: false, reason: "retries_exhausted" };
  const delayMs = backoffDelay(attempts, timings, random);
  if (delayMs + MIN_ATTEMPT_MS >= remainingMs) return { retry: false, reason: "deadline" };
  return { retry: true, delayMs };
}

/** Whether the caller may repeat the request itself: a GET, or a POST under the caller's own Idempotency-Key. */
export function callerMayRetry(call: Pick<UpstreamCall, "method" | "callerIdempotencyKey">): boolean {
  return call.method === "GET" || call.callerIdempotencyKey;
}

export type Settlement =
  | { kind: "response"; status: number; headers: Headers; text: string; json: JsonObject }
  | { kind: "error"; error: ProxyError };

/**
 * What the caller gets once the proxy stops trying (pure). Whenever Stripe answered, its answer
 * reaches the caller (status, body, Request-Id), so the caller can quote Stripe's id to Stripe: a
 * final answer unchanged, and so a retryable 4xx (409) when the caller may retry; a 5xx the proxy
 * gave up on after its retries with `Stripe-Should-Retry` telling whether the caller's own retry is
 * safe (GETs, or POSTs under the caller's own Idempotency-Key). The proxy makes its own error only when
 * there is no usable answer, or when the answer is an artefact of its own retries:
 * - a 4xx it may not pass (a 409 under a key the proxy generated: its first attempt is still running,
 *   and the answer would name a key the caller never saw) becomes 504 `upstream_timeout`: the outcome
 *   is unknown;
 * - a dropped connection or a malformed answer becomes 502 `upstream_unavailable`;
 * - a timeout becomes 504 `upstream_timeout`.
 */
export function settle(last: Attempt, call: Pick<UpstreamCall, "method" | "callerIdempotencyKey">): Settlement {
  const mayRetry = callerMayRetry(call);
  const shouldRetry = mayRetry ? "true" : "false";
  if (last.kind === "response") {
    const { status, text, json } = last;
    if (!isRetryable(last) || (status < 500 && mayRetry)) return { kind: "response", status, headers: last.headers, text, json };
    if (status >= 500) {
      const headers = new Headers(last.headers);
      headers.set("Stripe-Should-Retry", shouldRetry);
      return { kind: "response", status, headers, text, json };
    }
  }
  const headers = { "Stripe-Should-Retry": shouldRetry };
  const error =
    last.kind === "timeout" || last.kind === "response"
      ? new ProxyError("upstream_timeout", "Stripe did not answer in time. The request may or may not have been applied.", {
          headers,
        })
      : new ProxyError("upstream_unavailable", "Stripe could not be reached or answered with an error or a malformed response.", {
          headers,
        });
  return { kind: "error", error };
}

function buildRequest(call: UpstreamCall, base: string, signal: AbortSignal): Request {
  // A plain object, not a Headers: the Request makes its own, and every Headers call crosses into the runtime.
  const headers: Record<string, string> = {
    Authorization: `Bearer ${call.secretKey}`,
    "User-Agent": USER_AGENT,
    Accept: "application/json",
  };
  if (call.account) headers["Stripe-Account"] = call.account;
  if (call.apiVersion) headers["Stripe-Version"] = call.apiVersion;
  if (call.idempotencyKey) headers["Idempotency-Key"] = call.idempotencyKey;
  const url = `${base}${call.path}${call.query ? `?${call.query}` : ""}`;
  if (call.method === "POST") {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    return new Request(url, { method: "POST", headers, body: call.body ?? "", signal });
  }
  return new Request(url, { method: "GET", headers, signal });
}

/** The body as text, or undefined when it is larger than the cap. */
async function readCappedText(response: Response, signal: AbortSignal): Promise<string | undefined> {
  const declared = response.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_UPSTREAM_BODY_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  // With a length within the cap (what Stripe sends), one native read: the runtime's HTTP layer holds
  // the body to its Content-Length. The length check after it still holds if that were not so. This
  // path never touches `response.body`, which would make the runtime build a stream object for it.
  if (declared !== null && /^\d+$/.test(declared)) {
    const text = await response.text();
    return text.length > MAX_UPSTREAM_BODY_BYTES ? undefined : text;
  }
  if (response.body === null) return "";
  // No length (chunked): count the bytes as they stream in.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let total = 0;
  for (;;) {
    // An upstream that ignores the abort (the in-process stub) must not keep the attempt alive.
    if (signal.aborted) {
      await reader.cancel().catch(() => undefined);
      throw new Error("attempt aborted");
    }
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_UPSTREAM_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

/** Whitespace then `{`, tested in place (trimming would copy the whole body first). */
const JSON_OBJECT_START = /^\s*\{/;

/** The body as a complete JSON object, parsed once; a truncated body, an HTML error page or a bare value is not one. */
function parseJsonObject(text: string): JsonObject | undefined {
  if (!JSON_OBJECT_START.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** One request and its whole body; throws when the connection fails or the attempt is aborted. */
async function exchange(call: UpstreamCall, opts: UpstreamOptions, signal: AbortSignal): Promise<Attempt> {
  const response = await opts.fetch(buildRequest(call, opts.base, signal));
  const text = await readCappedText(response, signal);
  const json = text === undefined ? undefined : parseJsonObject(text);
  if (text === undefined || json === undefined) return { kind: "malformed" };
  const headers = new Headers();
  for (const name of RESPONSE_HEADER_ALLOWLIST) {
    // A key the proxy generated is its own business: the caller never sent it and must not see it
    // (stripe-node would report it as the request's idempotency key), nor that the proxy's own retry
    // was a replay under it: the caller sent one request.
    if (!call.callerIdempotencyKey && KEY_HEADERS.has(name)) continue;
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const retryHeader = response.headers.get("stripe-should-retry");
  const shouldRetry = retryHeader === "true" ? true : retryHeader === "false" ? false : undefined;
  return { kind: "response", status: response.status, headers, text, json, shouldRetry };
}

/**
 * One attempt, headers and body, within `timeoutMs`. The timer both aborts the fetch and settles the
 * attempt, so an upstream that ignores the abort signal still cannot hold it past its timeout.
 */
async function attemptOnce(call: UpstreamCall, opts: UpstreamOptions, timeoutMs: number): Promise<Attempt> {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
        reject(new Error("attempt timed out"));
      },
      Math.max(1, timeoutMs),
    );
  });
  try {
    return await Promise.race([exchange(call, opts, controller.signal), expiry]);
  } catch {
    return timedOut ? { kind: "timeout" } : { kind: "network" };
  } finally {
    clearTimeout(timer);
  }
}

const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls Stripe with the tenant's credentials, retrying what is safe to retry (see `isRetryable`) with
 * full-jitter exponential backoff inside a total deadline; every attempt of a POST carries the same
 * Idempotency-Key. Final upstream answers (including Stripe errors) come back as they are; what the
 * caller gets when the proxy gives up is decided by `settle`: Stripe's last answer whenever there is
 * one it may pass, else an `UpstreamFailure` (502 `upstream_unavailable` / 504 `upstream_timeout`),
 * both with `Stripe-Should-Retry` telling the caller whether its own retry is safe (GETs, or POSTs
 * whose Idempotency-Key the caller chose).
 */
export async function callStripe(call: UpstreamCall, opts: UpstreamOptions): Promise<UpstreamResponse> {
  const timings = { ...DEFAULT_UPSTREAM_TIMINGS, ...opts.timings };
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? timerSleep;
  const repeatable = call.method === "GET" || call.idempotencyKey !== undefined;
  const start = opts.now();
  const deadline = start + timings.deadlineMs;
  let attempts = 0;
  let last: Attempt;
  for (;;) {
    attempts++;
    last = await attemptOnce(call, opts, Math.min(timings.attemptTimeoutMs, deadline - opts.now()));
    const step = nextStep(last, attempts, deadline - opts.now(), repeatable, timings, random);
    if (!step.retry) break;
    await sleep(step.delayMs);
  }
  const upstreamMs = opts.now() - start;
  const outcome = settle(last, call);
  if (outcome.kind === "error") throw new UpstreamFailure(outcome.error, attempts, upstreamMs);
  const { status, headers, text, json } = outcome;
  return { status, headers, text, json, attempts, upstreamMs };
}

/** A proxy error for a Stripe that never answered usably, with what the access log needs to know. */
export class UpstreamFailure extends ProxyError {
  readonly attempts: number;
  readonly upstreamMs: number;
  constructor(error: ProxyError, attempts: number, upstreamMs: number) {
    super(error.code, error.message, { headers: error.headers });
    this.attempts = attempts;
    this.upstreamMs = upstreamMs;
  }
}
