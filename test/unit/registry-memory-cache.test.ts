import { describe, expect, it } from "vitest";
import { LookupCache, TtlLruCache } from "../../src/tenancy/memory-cache.ts";

describe("TtlLruCache", () => {
  it("answers until the TTL passes, then forgets", () => {
    const cache = new TtlLruCache<string>(30_000, 10);
    cache.set("a", "A", 1_000);
    expect(cache.get("a", 30_999)).toBe("A");
    expect(cache.get("a", 31_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("evicts the least recently used entry beyond its bound", () => {
    const cache = new TtlLruCache<number>(60_000, 3);
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

  it("never grows past its bound, whatever is inserted", () => {
    const cache = new TtlLruCache<true>(60_000, 100);
    for (let i = 0; i < 10_000; i++) cache.set(`bad-key-${i}`, true, i);
    expect(cache.size).toBe(100);
  });

  it("refuses a zero TTL or size", () => {
    expect(() => new TtlLruCache(0, 1)).toThrow(RangeError);
    expect(() => new TtlLruCache(1, 0)).toThrow(RangeError);
  });
});

describe("LookupCache", () => {
  const limits = { ttlMs: 30_000, maxFound: 10, maxMissing: 3 };

  it("loads once per TTL, found or not", async () => {
    const cache = new LookupCache<string>(limits);
    let loads = 0;
    const load = async () => {
      loads++;
      return undefined;
    };
    for (let i = 0; i < 50; i++) expect(await cache.lookup("nope", 1_000 + i, load)).toBeUndefined();
    expect(loads).toBe(1);
    await cache.lookup("nope", 31_000, load);
    expect(loads).toBe(2);
  });

  it("shares one load between concurrent misses", async () => {
    const cache = new LookupCache<string>(limits);
    let loads = 0;
    let release: (v: string) => void = () => {};
    const load = () => {
      loads++;
      return new Promise<string>((r) => {
        release = r;
      });
    };
    const all = Promise.all([cache.lookup("k", 0, load), cache.lookup("k", 0, load), cache.lookup("k", 0, load)]);
    release("V");
    expect(await all).toEqual(["V", "V", "V"]);
    expect(loads).toBe(1);
  });

  it("keeps not-found answers apart: a flood of unknown keys cannot evict known ones", async () => {
    const cache = new LookupCache<string>(limits);
    await cache.lookup("good", 0, async () => "G");
    for (let i = 0; i < 1_000; i++) await cache.lookup(`bad-${i}`, 1, async () => undefined);
    expect(cache.sizes).toEqual({ found: 1, missing: 3 });
    let loads = 0;
    expect(
      await cache.lookup("good", 2, async () => {
        loads++;
        return "G2";
      }),
    ).toBe("G");
    expect(loads).toBe(0);
  });

  it("does not remember a failed load", async () => {
    const cache = new LookupCache<string>(limits);
    await expect(
      cache.lookup("k", 0, async () => {
        throw new Error("KV down");
      }),
    ).rejects.toThrow("KV down");
    expect(await cache.lookup("k", 1, async () => "V")).toBe("V");
  });
});
