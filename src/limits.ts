/**
 * Limits and timings of the request path, in one place. Each has the reason it has its value.
 */

/** Request bodies above this are refused (413): Identity requests are a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** Upstream responses above this are treated as a broken upstream: a full list page is ~300 KB. */
export const MAX_UPSTREAM_BODY_BYTES = 4 * 1024 * 1024;

export interface UpstreamTimings {
  /** One attempt; Stripe answers Identity calls in well under a second when healthy. */
  attemptTimeoutMs: number;
  /** All attempts together, backoff included: under a browser's patience and Workers' limits. */
  deadlineMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Backoff base and cap; the actual wait is full-jittered in [0, min(cap, base·2^n)]. */
  backoffBaseMs: number;
  backoffCapMs: number;
}

export const DEFAULT_UPSTREAM_TIMINGS: UpstreamTimings = {
  attemptTimeoutMs: 10_000,
  deadlineMs: 25_000,
  maxRetries: 2,
  backoffBaseMs: 100,
  backoffCapMs: 2_000,
};
