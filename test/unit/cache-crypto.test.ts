import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CachedList,
  deriveTenantKey,
  importMasterKey,
  masterKeyId,
  openCachedList,
  sealCachedList,
} from "../../src/cache/cache-crypto.ts";

const MASTER = btoa("0123456789abcdef0123456789abcdef");
const OTHER_MASTER = btoa("fedcba9876543210fedcba9876543210");
const KV_KEY = `list:acme:${"a".repeat(64)}`;
const enc = new TextEncoder();

async function master(value: string = MASTER): Promise<CryptoKey> {
  const r = await importMasterKey(value);
  if (!r.ok) throw new Error(r.reason);
  return r.key;
}

const LIST: CachedList = {
  storedAt: 1_760_000_000_123,
  stripeVersion: "2026-07-29.dahlia",
  body: enc.encode('{"object":"list","data":[{"id":"vs_1","status":"verified"}],"has_more":false}'),
};

describe("importMasterKey", () => {
  it.each([
    [undefined, "not set"],
    ["", "not set"],
    ["not base64 !!", "not base64"],
    [btoa("too short"), "32 bytes"],
    [btoa("x".repeat(33)), "32 bytes"],
  ])("refuses %s", async (value, reason) => {
    const r = await importMasterKey(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });

  it("accepts base64 and base64url of 32 bytes", async () => {
    expect((await importMasterKey(MASTER)).ok).toBe(true);
    const bytes = new Uint8Array(32).fill(0xfb);
    const b64 = btoa(String.fromCharCode(...bytes));
    expect((await importMasterKey(b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))).ok).toBe(true);
  });

  it("the key id identifies the master key and differs between keys", async () => {
    const a = await masterKeyId(await master());
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(await masterKeyId(await master())).toBe(a);
    expect(await masterKeyId(await master(OTHER_MASTER))).not.toBe(a);
  });
});

describe("sealCachedList / openCachedList", () => {
  it("round-trips the bytes, the time and the Stripe-Version", async () => {
    const key = await deriveTenantKey(await master(), "acme");
    const sealed = await sealCachedList(key, KV_KEY, LIST);
    const opened = await openCachedList(key, KV_KEY, sealed);
    expect(opened?.storedAt).toBe(LIST.storedAt);
    expect(opened?.stripeVersion).toBe(LIST.stripeVersion);
    expect(opened && [...opened.body]).toEqual([...LIST.body]);
  });

  it("stores no plaintext, and a fresh IV every time", async () => {
    const key = await deriveTenantKey(await master(), "acme");
    const a = await sealCachedList(key, KV_KEY, LIST);
    const b = await sealCachedList(key, KV_KEY, LIST);
    const text = new TextDecoder("latin1").decode(a);
    expect(text).not.toContain("vs_1");
    expect(text).not.toContain("verified");
    expect(text).not.toContain("dahlia");
    expect([...a.subarray(1, 13)]).not.toEqual([...b.subarray(1, 13)]);
    expect(a[0]).toBe(1);
  });

  it("a value copied to another KV key does not open (AAD)", async () => {
    const key = await deriveTenantKey(await master(), "acme");
    const sealed = await sealCachedList(key, KV_KEY, LIST);
    expect(await openCachedList(key, `list:acme:${"b".repeat(64)}`, sealed)).toBeUndefined();
  });

  it("another tenant's key, or another master key, does not open it", async () => {
    const sealed = await sealCachedList(await deriveTenantKey(await master(), "acme"), KV_KEY, LIST);
    expect(await openCachedList(await deriveTenantKey(await master(), "globex"), KV_KEY, sealed)).toBeUndefined();
    expect(await openCachedList(await deriveTenantKey(await master(OTHER_MASTER), "acme"), KV_KEY, sealed)).toBeUndefined();
  });

  it("property: any tampered byte, truncation or garbage is a miss, never a throw", async () => {
    const key = await deriveTenantKey(await master(), "acme");
    const sealed = await sealCachedList(key, KV_KEY, LIST);
    await fc.assert(
      fc.asyncProperty(fc.nat(sealed.byteLength - 1), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const tampered = sealed.slice();
        tampered[at] = (tampered[at] ?? 0) ^ xor;
        expect(await openCachedList(key, KV_KEY, tampered)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (garbage) => {
        expect(await openCachedList(key, KV_KEY, garbage)).toBeUndefined();
      }),
      { numRuns: 60 },
    );
    expect(await openCachedList(key, KV_KEY, sealed.subarray(0, sealed.byteLength - 1))).toBeUndefined();
  });

  it("an empty body and no Stripe-Version round-trip", async () => {
    const key = await deriveTenantKey(await master(), "acme");
    const entry: CachedList = { storedAt: 0, stripeVersion: undefined, body: new Uint8Array() };
    const opened = await openCachedList(key, KV_KEY, (await sealCachedList(key, KV_KEY, entry)).buffer as ArrayBuffer);
    expect(opened).toEqual({ storedAt: 0, stripeVersion: undefined, body: new Uint8Array() });
  });
});
