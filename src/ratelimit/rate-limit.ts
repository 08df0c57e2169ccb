import { ProxyError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { bytesToHex, sha256 } from "../encoding.ts";
import { createIsolateCache, registerIsolateState } from "../isolate-cache.ts";

/**
 * Per-caller rate limits with the Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml).
 * The limit is per tenant and caller: a browser's end user (its token's subject), else its client IP;
 * a server's proxy key (by name). Browsers and servers have separate bindings because their budgets
 * differ by orders of magnitude. Each binding's limit and period live in wrangler.toml.
 *
 * The binding counts per Cloudflare location and is eventually consistent: it is a brake on abuse
 * and runaway clients, not an exact quota.
 */

/** The binding's API (and what a test's fake implements). */
export interface RateLimiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The period of both bindings in wrangler.toml; the binding cannot tell us, and Retry-After needs it. */
export const RATE_LIMIT_PERIOD_SECONDS = 60;

/** Whom a request is counted against. */
export type RateLimitSubject =
  | { role: "server"; tenant: string; keyName: string }
  | { role: "browser"; tenant: string; user: { kind: "subject"; subject: string } | { kind: "ip"; ip: string | null } };

/** Reads a binding from env, accepting anything with a `limit` function (the real binding or a fake). */
export function readRateLimiter(value: unknown): RateLimiter | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return typeof (value as { limit?: unknown }).limit === "function" ? (value as RateLimiter) : undefined;
}

async function sha256Prefix(value: string): Promise<string> {
  let prefix = SUBJECT_HASHES.get(value);
  if (prefix === undefined) {
    prefix = bytesToHex((await sha256(value)).subarray(0, 16));
    SUBJECT_HASHES.set(value, prefix);
  }
  return prefix;
}

/**
 * Hashed subjects of recent end users: a signed-in user's page sends many requests, each counted
 * under the same key. Kept in isolate memory only (the hash is what leaves the Worker).
 */
const SUBJECT_HASHES = createIsolateCache<string, string>({ maxEntries: 10_000 });

/**
 * The limiter key for a caller. End-user subjects are hashed: they are personal identifiers and the
 * key leaves the Worker. A browser without a token and without `CF-Connecting-IP` (local dev) shares
 * one bucket per tenant.
 */
export async function rateLimitKey(subject: RateLimitSubject): Promise<string> {
  if (subject.role === "server") return `${subject.tenant}:server:${subject.keyName}`;
  if (subject.user.kind === "subject") return `${subject.tenant}:browser:sub:${await sha256Prefix(subject.user.subject)}`;
  return `${subject.tenant}:browser:ip:${subject.user.ip ?? "unknown"}`;
}

/** Bindings already warned about in this isolate (two names at most). */
const warnedMissing = registerIsolateState(new Set<string>());

/** Stripe's own 429 message, so clients' backoff logic recognises it. */
const RATE_LIMIT_MESSAGE = "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.";

/**
 * Counts the request against its caller's budget and throws a 429 `rate_limit` (Stripe's shape, with
 * `Retry-After`) when it is spent. Without the binding nothing is limited and a warning is logged once
 * per isolate. A failing limiter lets the request through (logged): an outage of the limiter must not
 * become an outage of identity verification.
 */
export async function enforceRateLimit(
  limiter: RateLimiter | undefined,
  bindingName: string,
  subject: RateLimitSubject,
  log: Logger,
  requestId: string,
): Promise<void> {
  if (!limiter) {
    if (!warnedMissing.has(bindingName)) {
      warnedMissing.add(bindingName);
      log.warn("rate_limiter_missing", { request_id: requestId, binding: bindingName, detail: "requests are not rate limited" });
    }
    return;
  }
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: await rateLimitKey(subject) }));
  } catch (err) {
    log.warn("rate_limiter_failed", {
      request_id: requestId,
      binding: bindingName,
      detail: err instanceof Error ? err.name : "unknown error",
    });
    return;
  }
  if (!success) {
    throw new ProxyError("rate_limit", RATE_LIMIT_MESSAGE, { headers: { "Retry-After": String(RATE_LIMIT_PERIOD_SECONDS) } });
  }
}
