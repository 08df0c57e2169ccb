/**
 * Per-isolate caches, all built here so they are bounded the same way and can be forgotten from one
 * place. Workers reuse an isolate for many requests; module-level state lives as long as the isolate,
 * so each cache has a maximum size (least recently used entry goes first), optionally a time-to-live
 * and a weight bound, and `resetIsolateCaches()` empties every one of them (tests; production never
 * needs it).
 *
 * The caches, their bounds and what a miss costs (no cache changes an answer, only its cost). Before
 * this module they evicted in five ways (clear-all when full, FIFO, LRU, by weight, never); all are LRU
 * now, with the same bounds:
 *
 * | cache (module)                                        | bound                            | TTL   | a miss costs        |
 * |-------------------------------------------------------|----------------------------------|-------|---------------------|
 * | runtime config (config/runtime)                       | per env object (weak)            | —     | parsing env vars    |
 * | parsed env.TENANTS (config/load)                      | per object (weak); 1 JSON string | —     | parse + validation  |
 * | Stripe reach of env.TENANTS (tenancy/stripe-credentials) | per env object (weak)         | —     | a scan of TENANTS   |
 * | KV registry per binding (tenancy/registry-kv)         | per binding (weak), then:        |       |                     |
 * |   tenants found / not found                           | 5,000 / 2,000                    | 30 s  | a KV read           |
 * |   proxy-key hashes, hosts found / not found           | 20,000 / 10,000 each             | 30 s  | a KV read           |
 * | opened tenant secrets (tenancy/registry-secrets)      | per binding (weak), 5,000        | 30 s  | KV read + AES-GCM   |
 * | imported KEK sets (tenancy/key-encryption)            | 4                                | —     | a key import        |
 * | JWKS resolvers (auth/jwks)                            | 256 URLs                         | jose's own (10 min) | a JWKS fetch |
 * | imported HS256 keys (auth/browser-jwt)                | 256 secrets                      | —     | a key import        |
 * | hashed end-user subjects (ratelimit/rate-limit)       | 10,000                           | —     | a SHA-256           |
 * | list cache memory tier (cache/isolate-state)          | 256 entries and 8 MiB            | —     | KV read + decrypt   |
 * | list writes paced (cache/isolate-state)               | 1,000                            | 1 s   | an extra KV write   |
 * | master key / tenant keys / fingerprints (cache/list-cache) | 1 / 1,000 / 1,000           | —     | import/HKDF/SHA-256 |
 * | return-url allow lists parsed (policy/return-url)     | per list array (weak)            | —     | a parse             |
 * | strings known clean (log/scrub)                       | 1,024                            | —     | a pattern scan      |
 * | hashes of proxy keys that matched (auth/server-key)   | 1,000                            | —     | a SHA-256           |
 *
 * Registered state that is not a cache (`registerIsolateState`): the list cache's known generations and
 * marker writers (one per tenant), its calls in flight (removed when settled) and logged warnings, and
 * the rate limiter's missing-binding warnings. Exact numbers live beside each cache (its constants).
 */

/** Something `resetIsolateCaches()` empties. */
interface Resettable {
  clear(): void;
}

const registry = new Set<Resettable>();

/** Registers per-isolate state that is not a BoundedCache (maps that clean themselves), for reset. */
export function registerIsolateState<T extends Resettable>(state: T): T {
  registry.add(state);
  return state;
}

/** A module-level BoundedCache, emptied by `resetIsolateCaches()`. */
export function createIsolateCache<K, V>(options: BoundedCacheOptions<V>): BoundedCache<K, V> {
  return registerIsolateState(new BoundedCache<K, V>(options));
}

/** A module-level WeakCache, emptied by `resetIsolateCaches()`. */
export function createIsolateWeakCache<K extends object, V>(): WeakCache<K, V> {
  return registerIsolateState(new WeakCache<K, V>());
}

/** Empties every cache made by this module and every registered state: the isolate starts afresh. */
export function resetIsolateCaches(): void {
  for (const entry of registry) entry.clear();
}

export interface BoundedCacheOptions<V> {
  /** Entries kept at most; beyond it the least recently used go first. */
  maxEntries: number;
  /** Lifetime of an entry from its `set`, in ms (default: none). */
  ttlMs?: number;
  /** An entry's weight (e.g. bytes) and the total kept at most; an entry heavier than the bound is not kept. */
  weight?: { of: (value: V) => number; max: number };
  /** The clock used when a call passes no `now` (default Date.now). */
  clock?: () => number;
}

/**
 * A map with a maximum size, optionally a TTL and a weight bound, that forgets the least recently used
 * entry first. Every time-dependent call takes `now` (ms) so the request path can pass `deps.now`;
 * without it the cache's clock is read. A module-level cache is made with `createIsolateCache()` (registered
 * for reset); one held inside another cache's value is reset with its holder.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAt: number; weight: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #weight: BoundedCacheOptions<V>["weight"];
  readonly #clock: () => number;
  #totalWeight = 0;

  constructor(options: BoundedCacheOptions<V>) {
    const { maxEntries, ttlMs } = options;
    if (!(maxEntries >= 1)) throw new RangeError("BoundedCache needs a positive maxEntries");
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new RangeError("BoundedCache needs a positive TTL");
    this.#maxEntries = Math.floor(maxEntries);
    this.#ttlMs = ttlMs ?? Number.POSITIVE_INFINITY;
    this.#weight = options.weight;
    this.#clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The sum of the entries' weights (0 without a weight bound). */
  get totalWeight(): number {
    return this.#totalWeight;
  }

  /** The live entry for `key`, marked most recently used; undefined when absent or expired (then dropped). */
  get(key: K, now?: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#expired(entry, now)) {
      this.delete(key);
      return undefined;
    }
    // Map iteration order is insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** True when `key` has a live entry (does not change the recency order). */
  has(key: K, now?: number): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && !this.#expired(entry, now);
  }

  /** Stores an entry, then evicts the least recently used ones beyond the bounds. */
  set(key: K, value: V, now?: number): void {
    this.delete(key);
    const weight = this.#weight?.of(value) ?? 0;
    if (this.#weight && weight > this.#weight.max) return;
    // Without a TTL the clock is never read (hot paths such as the log scrubber's memo stay cheap).
    const expiresAt = this.#ttlMs === Number.POSITIVE_INFINITY ? this.#ttlMs : (now ?? this.#clock()) + this.#ttlMs;
    this.#entries.set(key, { value, expiresAt, weight });
    this.#totalWeight += weight;
    const maxWeight = this.#weight?.max ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries && this.#totalWeight <= maxWeight) break;
      this.delete(oldest);
    }
  }

  #expired(entry: { expiresAt: number }, now: number | undefined): boolean {
    return entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= (now ?? this.#clock());
  }

  delete(key: K): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#totalWeight -= entry.weight;
  }

  /** Drops every entry `drop` selects (e.g. all of one tenant's). */
  deleteWhere(drop: (key: K, value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (drop(key, entry.value)) this.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#totalWeight = 0;
  }
}

/**
 * A cache keyed by objects (an env, a KV binding, a parsed list) that lives as long as the key does:
 * bounded by the objects the isolate holds. Unlike a bare WeakMap it can be reset.
 */
export class WeakCache<K extends object, V> {
  #entries = new WeakMap<K, V>();

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): void {
    this.#entries.set(key, value);
  }

  /** The value for `key`, made by `make` on first use. */
  getOrCreate(key: K, make: (key: K) => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = make(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  clear(): void {
    this.#entries = new WeakMap<K, V>();
  }
}
