import { BoundedCache } from "../isolate-cache.ts";

/**
 * The tenant registry's read-through lookup over two BoundedCaches (src/isolate-cache.ts): found and
 * not-found answers are kept apart (so a flood of unknown keys can never evict known ones), and one
 * load is shared between concurrent misses for the same key. The clock is a parameter of every call,
 * so tests drive expiry with `deps.now`. A LookupCache lives inside a per-binding WeakCache, which
 * `resetIsolateCaches()` empties.
 */

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
  readonly #found: BoundedCache<string, V>;
  readonly #missing: BoundedCache<string, true>;
  readonly #inFlight = new Map<string, Promise<V | undefined>>();

  constructor(limits: LookupCacheLimits) {
    this.#found = new BoundedCache<string, V>({ maxEntries: limits.maxFound, ttlMs: limits.ttlMs });
    this.#missing = new BoundedCache<string, true>({ maxEntries: limits.maxMissing, ttlMs: limits.ttlMs });
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
