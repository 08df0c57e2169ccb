/**
 * Per-isolate caches, all built here so they are bounded the same way and can be forgotten from one
 * place. Workers reuse an isolate for many requests; module-level state lives as long as the isolate,
 * so each cache has a maximum size (least recently used entry goes first), optionally a time-to-live
 * and a weight bound, and `resetIsolateCaches()` empties every one of them (tests; production never
 * needs it).
 *
 * The caches, their bounds and what an eviction costs (a miss only: no cache changes an answer):
 *
 * | cache (module)                                   | bound                         | TTL           | a miss costs          |
 * |--------------------------------------------------|-------------------------------|---------------|-----------------------|
 * | parsed env.TENANTS (config/load)                 | per env object (weak), 1 text | —             | a JSON parse          |
 * | registry lookups (tenancy/registry-kv)           | per KV binding (weak)         | —             | —                     |
 * |   tenants / key hashes / hosts found             | 1,000 each                    | 60 s          | a KV read             |
 * |   … not found (attacker-controlled keys)         | 1,000 each                    | 60 s          | a KV read             |
 * | opened tenant secrets (tenancy/registry-secrets) | per KV binding (weak), 1,000  | 60 s          | KV read + AES-GCM     |
 * | imported KEKs (tenancy/key-encryption)           | 4 sets of values              | —             | a key import          |
 * | Stripe reach of env.TENANTS (tenancy/stripe-credentials) | per env object (weak) | —             | a scan of TENANTS     |
 * | JWKS resolvers (auth/jwks)                       | 32 URLs                       | jose's own    | a JWKS fetch          |
 * | list cache memory tier (cache/isolate-state)     | 256 entries, 8 MiB            | —             | a KV read + decrypt   |
 * | list-cache tenant keys, key fingerprints (cache/list-cache) | 1,000 each         | —             | HKDF / SHA-256        |
 * | list writes paced (cache/isolate-state)          | 1,000                         | —             | an extra KV write     |
 * | return-url allow lists parsed (policy/return-url)| per list (weak)               | —             | a parse               |
 * | strings known clean (log/scrub)                  | 1,024                         | —             | a regex scan          |
 * | runtime config (config/runtime)                  | per env object (weak)         | —             | parsing env vars      |
 *
 * Exact numbers live beside each cache (its constants); this table says which kind each one is.
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
export function isolateCache<K, V>(options: BoundedCacheOptions<V>): BoundedCache<K, V> {
  return registerIsolateState(new BoundedCache<K, V>(options));
}

/** A module-level WeakCache, emptied by `resetIsolateCaches()`. */
export function isolateWeakCache<K extends object, V>(): WeakCache<K, V> {
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
 * without it the cache's clock is read. A module-level cache is made with `isolateCache()` (registered
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
  get(key: K, now: number = this.#clock()): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    // Map iteration order is insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** True when `key` has a live entry (does not change the recency order). */
  has(key: K, now: number = this.#clock()): boolean {
    const entry = this.#entries.get(key);
    return entry !== undefined && entry.expiresAt > now;
  }

  /** Stores an entry, then evicts the least recently used ones beyond the bounds. */
  set(key: K, value: V, now: number = this.#clock()): void {
    this.delete(key);
    const weight = this.#weight?.of(value) ?? 0;
    if (this.#weight && weight > this.#weight.max) return;
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs, weight });
    this.#totalWeight += weight;
    const maxWeight = this.#weight?.max ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries && this.#totalWeight <= maxWeight) break;
      this.delete(oldest);
    }
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
