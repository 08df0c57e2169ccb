/**
 * In-isolate caches for the tenant registry: a bounded TTL + LRU map, and a read-through lookup that
 * keeps found and not-found answers apart (so a flood of unknown keys can never evict known ones) and
 * shares one load between concurrent misses for the same key. The clock is a parameter of every call,
 * so tests drive expiry with `deps.now`.
 */

/** A map with a time-to-live per entry and a maximum size; the least recently used entry goes first. */
export class TtlLruCache<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(ttlMs: number, maxEntries: number) {
    if (!(ttlMs > 0) || !(maxEntries >= 1)) throw new RangeError("TtlLruCache needs a positive TTL and size");
    this.#ttlMs = ttlMs;
    this.#maxEntries = Math.floor(maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `key`, or undefined when absent or expired (an expired entry is dropped). */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    // Map iteration order is insertion order: re-inserting marks the entry most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: now + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

export interface LookupCacheLimits {
  ttlMs: number;
  /** Bound on cached found values. */
  maxFound: number;
  /** Bound on cached not-found answers: the part an attacker controls, so kept separate and small. */
  maxMissing: number;
}

/**
 * Read-through cache: `lookup` answers from memory while an answer is fresh, else runs `load` once
 * (concurrent callers share it) and remembers its result, `undefined` meaning "does not exist".
 * A `load` that throws is not remembered, so a transient KV failure is retried by the next request.
 */
export class LookupCache<V> {
  readonly #found: TtlLruCache<V>;
  readonly #missing: TtlLruCache<true>;
  readonly #inFlight = new Map<string, Promise<V | undefined>>();

  constructor(limits: LookupCacheLimits) {
    this.#found = new TtlLruCache<V>(limits.ttlMs, limits.maxFound);
    this.#missing = new TtlLruCache<true>(limits.ttlMs, limits.maxMissing);
  }

  get sizes(): { found: number; missing: number } {
    return { found: this.#found.size, missing: this.#missing.size };
  }

  async lookup(key: string, now: number, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.#found.get(key, now);
    if (hit !== undefined) return hit;
    if (this.#missing.get(key, now)) return undefined;
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const loading = load().then(
      (value) => {
        this.#inFlight.delete(key);
        if (value === undefined) this.#missing.set(key, true, now);
        else this.#found.set(key, value, now);
        return value;
      },
      (err: unknown) => {
        this.#inFlight.delete(key);
        throw err;
      },
    );
    this.#inFlight.set(key, loading);
    return loading;
  }

  clear(): void {
    this.#found.clear();
    this.#missing.clear();
  }
}
