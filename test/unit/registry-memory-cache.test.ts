// The bounded TTL/LRU map under LookupCache is tested in isolate-cache.test.ts.
import { describe, expect, it } from "vitest";
import { LookupCache } from "../../src/tenancy/memory-cache.ts";

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
