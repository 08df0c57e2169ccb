/**
 * The list cache's limits and timings, each with the reason it has its value. docs/kv-schema.md and
 * docs/consistency.md describe how they fit together.
 */

/** KV's minimum `expirationTtl`: KV refuses anything shorter. Tenant TTLs are validated ≥ this too. */
export const KV_MIN_TTL_SECONDS = 60;

/**
 * After its TTL a list may still be served as STALE for this long while one refresh runs in the
 * background. Bounded so a tenant that stops listing does not see minutes-old data on return, and
 * long enough to cover a slow refresh.
 */
export const STALE_WHILE_REVALIDATE_SECONDS = 30;

/**
 * The in-isolate memory tier trusts an entry (and a tenant's generation marker read from KV) for this
 * long before asking KV again: the extra staleness a cross-isolate invalidation may suffer on top of
 * KV's own propagation. Writes in the same isolate invalidate the memory tier at once.
 */
export const MEMORY_STALENESS_MS = 5_000;

/** Memory tier bound by entries: one isolate serves a few tenants' hot list pages. */
export const MEMORY_MAX_ENTRIES = 256;

/** Memory tier bound by bytes: a full 100-item page is ~300 KB; an isolate has 128 MB in all. */
export const MEMORY_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Values larger than this are not cached (KV allows 25 MiB; the upstream body cap is 4 MiB). A page of
 * 100 sessions is far below it.
 */
export const MAX_CACHED_BODY_BYTES = 1024 * 1024;

/**
 * Bounds the per-isolate memos of derived keys (tenant AES keys, Stripe-key fingerprints): one entry
 * per tenant or key, so only a registry of thousands of tenants ever reaches it (then the least
 * recently used go first).
 */
export const KEY_MEMO_MAX_ENTRIES = 1_000;

/** KV accepts one write per second per key; generation-marker writes are spaced at least this far apart. */
export const MARKER_WRITE_INTERVAL_MS = 1_000;

/**
 * The same KV limit for list entries: an isolate writes one list key at most once per interval. Only
 * `Cache-Control: no-cache` (which refreshes the entry on every request) can ask for more; the
 * skipped writes lose nothing, since the memory tier holds the fresh answer and KV's copy is younger
 * than the interval.
 */
export const LIST_WRITE_INTERVAL_MS = 1_000;

/** Bounds the per-isolate record of recent list-entry writes (least recently used first). */
export const LIST_WRITE_MEMO_MAX_ENTRIES = 1_000;

/**
 * Backoff before each retry of a failed marker write (KV 429 or a throw), inside `waitUntil` (which
 * lives up to 30 s after the response). Each is ≥ the 1 write/s spacing; the sum stays well inside 30 s.
 */
export const MARKER_RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000] as const;

/**
 * The generation marker outlives every value written under an older generation (longest list TTL is
 * 86 400 s plus the stale window), so when it expires no entry from before the reset can reappear.
 */
export const MARKER_TTL_SECONDS = 7 * 24 * 3600;

/** The generation of a tenant that has never been invalidated (no marker in KV). */
export const INITIAL_GENERATION = "0";

/** Stripe's default page size: a list without `limit` is the same query as `limit=10`. */
export const STRIPE_DEFAULT_LIST_LIMIT = "10";

/** KV key prefixes (docs/kv-schema.md). */
export const KV_PREFIX = {
  /** `list:{tenant}:{sha256 hex}` → an encrypted list response. */
  list: "list:",
  /** `gen:{tenant}` → the tenant's current generation (plain text, not secret). */
  generation: "gen:",
} as const;

/**
 * Version of the cache key material and of the value format; bump both to orphan every old entry.
 * 2: list items keep `client_secret`/`url` as null (version 1 entries had the keys removed).
 */
export const CACHE_FORMAT_VERSION = 2;

/**
 * A request that joins another request's in-flight list call polls for its result on its own timer
 * rather than awaiting the other request's promise: workerd ties a continuation to the request that
 * resolved the promise, and a response built there fails with "Cannot perform I/O on behalf of a
 * different request". The poll interval is small against a Stripe round trip (tens of ms).
 */
export const SHARED_FETCH_POLL_MS = 2;
/** Longest a joiner waits before making its own call: the upstream client's total deadline. */
export const SHARED_FETCH_MAX_WAIT_MS = 25_000;
