import { describe, expect, it } from "vitest";
import {
  generateKekBase64,
  importKek,
  loadKeks,
  openSecret,
  parseSealedSecret,
  resealSecret,
  type SealedSecret,
  SecretOpenError,
  sealSecret,
} from "../../src/tenancy/key-encryption.ts";
import { bytesToBase64 } from "../../src/encoding.ts";

const STRIPE_KEY = "sk_test_fake_registry_0123456789abcdef";
const ctx = { tenant: "acme", purpose: "stripe_secret_key" } as const;
const kekA = () => importKek("2026-01", bytesToBase64(new Uint8Array(32).fill(7)));
const kekB = () => importKek("2026-06", bytesToBase64(new Uint8Array(32).fill(9)));

async function openFails(
  sealed: SealedSecret,
  context: typeof ctx | { tenant: string; purpose: "stripe_secret_key" },
  keks: Awaited<ReturnType<typeof kekA>>[],
) {
  try {
    await openSecret(sealed, context, keks);
  } catch (err) {
    expect(err).toBeInstanceOf(SecretOpenError);
    return (err as SecretOpenError).reason;
  }
  throw new Error("opened");
}

describe("sealed tenant secrets (envelope encryption)", () => {
  it("round-trips, and the record holds no plaintext", async () => {
    const kek = await kekA();
    const sealed = await sealSecret(STRIPE_KEY, ctx, kek);
    const stored = JSON.stringify(sealed);
    expect(stored).not.toContain(STRIPE_KEY);
    expect(stored).not.toContain(btoa(STRIPE_KEY).slice(0, 16));
    expect(sealed.kek_id).toBe("2026-01");
    expect(parseSealedSecret(stored)).toEqual(sealed);
    expect(await openSecret(sealed, ctx, [kek])).toBe(STRIPE_KEY);
  });

  it("uses a fresh data key and IV each time", async () => {
    const kek = await kekA();
    const [a, b] = [await sealSecret(STRIPE_KEY, ctx, kek), await sealSecret(STRIPE_KEY, ctx, kek)];
    expect(a.ct).not.toBe(b.ct);
    expect(a.dek).not.toBe(b.dek);
  });

  it("is bound to its tenant: a record copied to another tenant does not open", async () => {
    const kek = await kekA();
    const sealed = await sealSecret(STRIPE_KEY, ctx, kek);
    expect(await openFails(sealed, { tenant: "globex", purpose: "stripe_secret_key" }, [kek])).toBe("authentication_failed");
  });

  it("refuses a tampered record or a relabelled KEK id", async () => {
    const kek = await kekA();
    const sealed = await sealSecret(STRIPE_KEY, ctx, kek);
    const ct = atob(sealed.ct);
    const flipped = btoa(ct.slice(0, -1) + String.fromCharCode(ct.charCodeAt(ct.length - 1) ^ 1));
    expect(await openFails({ ...sealed, ct: flipped }, ctx, [kek])).toBe("authentication_failed");
    const other = await importKek("other", bytesToBase64(new Uint8Array(32).fill(7))); // same bytes, new label
    expect(await openFails({ ...sealed, kek_id: "other" }, ctx, [other])).toBe("authentication_failed");
  });

  it("names a missing KEK id, and a wrong KEK fails to authenticate", async () => {
    const sealed = await sealSecret(STRIPE_KEY, ctx, await kekA());
    expect(await openFails(sealed, ctx, [await kekB()])).toBe("kek_unavailable");
    const impostor = await importKek("2026-01", bytesToBase64(new Uint8Array(32).fill(1)));
    expect(await openFails(sealed, ctx, [impostor])).toBe("authentication_failed");
  });

  it("rotates: re-sealing changes only the wrapped data key, and the new KEK alone opens it", async () => {
    const [a, b] = [await kekA(), await kekB()];
    const sealed = await sealSecret(STRIPE_KEY, ctx, a);
    const rotated = await resealSecret(sealed, ctx, [a], b);
    expect(rotated.kek_id).toBe("2026-06");
    expect(rotated.ct).toBe(sealed.ct);
    expect(rotated.dek).not.toBe(sealed.dek);
    expect(await openSecret(rotated, ctx, [b])).toBe(STRIPE_KEY);
    expect(await openFails(rotated, ctx, [a])).toBe("kek_unavailable");
  });

  it("does not parse a plaintext or foreign value as sealed", () => {
    expect(parseSealedSecret(STRIPE_KEY)).toBeUndefined();
    expect(parseSealedSecret(JSON.stringify({ key: STRIPE_KEY }))).toBeUndefined();
  });
});

describe("loadKeks", () => {
  it("reads the current and previous KEK", async () => {
    const set = await loadKeks({
      TENANT_KEK: generateKekBase64(),
      TENANT_KEK_ID: "new",
      TENANT_KEK_PREVIOUS: generateKekBase64(),
      TENANT_KEK_PREVIOUS_ID: "old",
    });
    expect(set.current?.id).toBe("new");
    expect(set.all.map((k) => k.id)).toEqual(["new", "old"]);
  });

  it("has none when unset", async () => {
    expect(await loadKeks({})).toEqual({ current: undefined, all: [] });
  });

  it.each([
    [{ TENANT_KEK: generateKekBase64() }, "TENANT_KEK and TENANT_KEK_ID must be set together"],
    [{ TENANT_KEK: bytesToBase64(new Uint8Array(16)), TENANT_KEK_ID: "k" }, "must be 32 bytes"],
    [{ TENANT_KEK: "not base64!!", TENANT_KEK_ID: "k" }, "not valid base64"],
    [{ TENANT_KEK: generateKekBase64(), TENANT_KEK_ID: "bad id" }, "KEK id"],
  ])("refuses %j without echoing the value", async (source, message) => {
    const err = await loadKeks(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(message);
    if (typeof source.TENANT_KEK === "string") expect((err as Error).message).not.toContain(source.TENANT_KEK);
  });
});
