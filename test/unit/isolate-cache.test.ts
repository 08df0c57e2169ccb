import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BoundedCache,
  isolateCache,
  isolateWeakCache,
  registerIsolateState,
  resetIsolateCaches,
  WeakCache,
} from "../../src/isolate-cache.ts";

describe("BoundedCache: TTL", () => {
  it("answers until the TTL passes, then forgets", () => {
    const cache = new BoundedCache<string, string>({ maxEntries: 10, ttlMs: 30_000 });
    cache.set("a", "A", 1_000);
    expect(cache.get("a", 30_999)).toBe("A");
    expect(cache.has("a", 30_999)).toBe(true);
    expect(cache.has("a", 31_000)).toBe(false);
    expect(cache.get("a", 31_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("reads its injected clock when a call passes no time", () => {
    let now = 0;
    const cache = new BoundedCache<string, number>({ maxEntries: 10, ttlMs: 100, clock: () => now });
    cache.set("a", 1);
    now = 99;
    expect(cache.get("a")).toBe(1);
    now = 100;
    expect(cache.get("a")).toBeUndefined();
  });

  it("keeps entries without a TTL until they are evicted", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1, 0);
    expect(cache.get("a", Number.MAX_SAFE_INTEGER)).toBe(1);
  });

  it("a new set restarts the TTL", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2, ttlMs: 10 });
    cache.set("a", 1, 0);
    cache.set("a", 2, 8);
    expect(cache.get("a", 15)).toBe(2);
  });
});

describe("BoundedCache: eviction", () => {
  it("evicts the least recently used entry beyond its bound", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 3, ttlMs: 60_000 });
    cache.set("a", 1, 0);
    cache.set("b", 2, 0);
    cache.set("c", 3, 0);
    cache.get("a", 1); // a is now the most recently used
    cache.set("d", 4, 2);
    expect(cache.get("b", 3)).toBeUndefined();
    expect(cache.get("a", 3)).toBe(1);
    expect(cache.get("c", 3)).toBe(3);
    expect(cache.get("d", 3)).toBe(4);
    expect(cache.size).toBe(3);
  });

  it("has() does not refresh recency", () => {
    const cache = new BoundedCache<string, number>({ maxEntries: 2 });
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.has("a")).toBe(true);
    cache.set("c", 3);
    expect(cache.has("a")).toBe(false);
    expect(cache.has("b")).toBe(true);
  });

  it("never grows past its bounds, whatever is inserted", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.nat(50)), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        (ops, maxEntries) => {
          const cache = new BoundedCache<string, number>({ maxEntries, weight: { of: (v) => v, max: 100 } });
          for (const [k, w] of ops) {
            cache.set(k, w);
            expect(cache.size).toBeLessThanOrEqual(maxEntries);
            expect(cache.totalWeight).toBeLessThanOrEqual(100);
            // The entry just set is kept unless it alone is heavier than the bound.
            expect(cache.get(k)).toBe(w);
          }
        },
      ),
    );
  });

  it("bounds total weight, evicting the oldest, and never keeps an entry heavier than the bound", () => {
    const cache = new BoundedCache<string, Uint8Array>({ maxEntries: 100, weight: { of: (b) => b.byteLength, max: 10 } });
    cache.set("a", new Uint8Array(4));
    cache.set("b", new Uint8Array(4));
    cache.set("c", new Uint8Array(4));
    expect(cache.has("a")).toBe(false);
    expect(cache.totalWeight).toBe(8);
    cache.set("huge", new Uint8Array(11));
    expect(cache.has("huge")).toBe(false);
    expect(cache.totalWeight).toBe(8);
    cache.set("b", new Uint8Array(11)); // replacing with an oversize value drops the old one
    expect(cache.has("b")).toBe(false);
    expect(cache.totalWeight).toBe(4);
  });

  it("deleteWhere drops the selected entries and their weight", () => {
    const cache = new BoundedCache<string, { tenant: string; n: number }>({
      maxEntries: 10,
      weight: { of: (v) => v.n, max: 100 },
    });
    cache.set("t1:a", { tenant: "t1", n: 5 });
    cache.set("t2:a", { tenant: "t2", n: 7 });
    cache.set("t1:b", { tenant: "t1", n: 3 });
    cache.deleteWhere((_, v) => v.tenant === "t1");
    expect(cache.size).toBe(1);
    expect(cache.totalWeight).toBe(7);
  });

  it("refuses a zero TTL or size", () => {
    expect(() => new BoundedCache({ maxEntries: 1, ttlMs: 0 })).toThrow(RangeError);
    expect(() => new BoundedCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe("resetIsolateCaches", () => {
  it("empties every registered cache and state, and nothing else", () => {
    const registered = isolateCache<string, number>({ maxEntries: 4 });
    const weak = isolateWeakCache<object, number>();
    const state = registerIsolateState(new Map<string, number>());
    const unregistered = new BoundedCache<string, number>({ maxEntries: 4 });
    const plainWeak = new WeakCache<object, number>();
    const key = {};
    registered.set("a", 1);
    weak.set(key, 2);
    state.set("b", 3);
    unregistered.set("c", 4);
    plainWeak.set(key, 5);

    resetIsolateCaches();

    expect(registered.size).toBe(0);
    expect(registered.totalWeight).toBe(0);
    expect(weak.get(key)).toBeUndefined();
    expect(state.size).toBe(0);
    expect(unregistered.get("c")).toBe(4);
    expect(plainWeak.get(key)).toBe(5);
  });
});

describe("WeakCache", () => {
  it("makes a value once per key object", () => {
    const cache = new WeakCache<object, { n: number }>();
    let made = 0;
    const a = {};
    const first = cache.getOrCreate(a, () => ({ n: ++made }));
    expect(cache.getOrCreate(a, () => ({ n: ++made }))).toBe(first);
    expect(cache.getOrCreate({}, () => ({ n: ++made })).n).toBe(2);
    cache.clear();
    expect(cache.getOrCreate(a, () => ({ n: ++made })).n).toBe(3);
  });
});
