import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signPayload } from "../../dev/stub/webhooks.ts";
import { computeSignature, parseSignatureHeader, verifyStripeSignature } from "../../src/webhooks/signature.ts";
import { constantTimeEqual } from "../../src/encoding.ts";

const SECRET = "whsec_test_fake_unit_0123456789";
const PAYLOAD = '{"id":"evt_1","object":"event","type":"identity.verification_session.verified"}';
const NOW = 1_760_000_000;

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

async function v1(secret: string, t: number, payload: string): Promise<string> {
  return hex(await computeSignature(secret, t, payload));
}

describe("verifyStripeSignature", () => {
  it("accepts what the stub (Stripe's scheme) signs", async () => {
    const header = await signPayload(SECRET, PAYLOAD, NOW);
    expect(await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW })).toEqual({
      ok: true,
      timestamp: NOW,
    });
  });

  it("matches Stripe's documented test vector shape: hex HMAC-SHA256 of `t.payload`", async () => {
    const sig = await v1(SECRET, NOW, PAYLOAD);
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(await signPayload(SECRET, PAYLOAD, NOW)).toBe(`t=${NOW},v1=${sig}`);
  });

  it("accepts any of several v1 values, ignores v0 and spaces", async () => {
    const good = await v1(SECRET, NOW, PAYLOAD);
    const bad = "0".repeat(64);
    for (const header of [
      `t=${NOW},v1=${bad},v1=${good}`,
      `t=${NOW}, v1=${good}, v0=${bad}`,
      `v1=${good},t=${NOW}`,
      `t=${NOW},v1=${good.toUpperCase()}`,
      `t=${NOW},v1=${bad},v1=zz,v1=${good}`,
    ]) {
      expect((await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW })).ok, header).toBe(true);
    }
  });

  it.each([
    [null, "missing_header"],
    ["", "missing_header"],
    ["v1=abc", "malformed_header"],
    ["t=abc,v1=abc", "malformed_header"],
    ["t=1,t=2,v1=abc", "malformed_header"],
    [`t=${NOW}`, "no_v1_signature"],
    [`t=${NOW},v0=${"0".repeat(64)}`, "no_v1_signature"],
    [`t=${NOW},v1=${"0".repeat(64)}`, "signature_mismatch"],
  ])("refuses %s (%s)", async (header, reason) => {
    expect(await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW })).toEqual({
      ok: false,
      reason,
    });
  });

  it("refuses a timestamp written unlike Stripe writes it, even over a valid signature of its value", async () => {
    const sig = await v1(SECRET, NOW, PAYLOAD);
    for (const t of [`00${NOW}`, `0${NOW}`, `+${NOW}`, `${NOW}.0`, ` ${NOW}x`]) {
      const header = `t=${t},v1=${sig}`;
      expect(await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW }), header).toEqual({
        ok: false,
        reason: "malformed_header",
      });
    }
    // Positive control: the same signature with `t` as Stripe writes it.
    expect(
      (await verifyStripeSignature({ payload: PAYLOAD, header: `t=${NOW},v1=${sig}`, secret: SECRET, nowSeconds: NOW })).ok,
    ).toBe(true);
  });

  it("signs over `t` exactly as sent", async () => {
    expect(hex(await computeSignature(SECRET, String(NOW), PAYLOAD))).toBe(await v1(SECRET, NOW, PAYLOAD));
    expect(parseSignatureHeader(`t=${NOW},v1=${"a".repeat(64)}`)).toMatchObject({ timestamp: NOW, timestampText: String(NOW) });
  });

  it("a v0 signature alone never passes, even when it is the right HMAC", async () => {
    const header = `t=${NOW},v0=${await v1(SECRET, NOW, PAYLOAD)}`;
    expect((await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW })).ok).toBe(false);
  });

  it("enforces the 300 s tolerance both ways", async () => {
    const at = async (t: number) =>
      verifyStripeSignature({
        payload: PAYLOAD,
        header: `t=${t},v1=${await v1(SECRET, t, PAYLOAD)}`,
        secret: SECRET,
        nowSeconds: NOW,
      });
    expect((await at(NOW - 300)).ok).toBe(true);
    expect((await at(NOW + 300)).ok).toBe(true);
    expect(await at(NOW - 301)).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
    expect(await at(NOW + 301)).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
  });

  it("a timestamp moved into the window does not carry an old signature", async () => {
    const old = NOW - 3600;
    const sig = await v1(SECRET, old, PAYLOAD);
    const verdict = await verifyStripeSignature({
      payload: PAYLOAD,
      header: `t=${NOW},v1=${sig}`,
      secret: SECRET,
      nowSeconds: NOW,
    });
    expect(verdict).toEqual({ ok: false, reason: "signature_mismatch" });
  });

  it("property: any change to the payload, secret or timestamp fails", async () => {
    const header = await signPayload(SECRET, PAYLOAD, NOW);
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 20 }), fc.nat(PAYLOAD.length), async (insert, at) => {
        const payload = PAYLOAD.slice(0, at) + insert + PAYLOAD.slice(at);
        expect((await verifyStripeSignature({ payload, header, secret: SECRET, nowSeconds: NOW })).ok).toBe(false);
        expect((await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET + insert, nowSeconds: NOW })).ok).toBe(
          false,
        );
      }),
      { numRuns: 50 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -300, max: 300 }).filter((d) => d !== 0),
        async (delta) => {
          const moved = header.replace(`t=${NOW}`, `t=${NOW + delta}`);
          expect((await verifyStripeSignature({ payload: PAYLOAD, header: moved, secret: SECRET, nowSeconds: NOW })).ok).toBe(
            false,
          );
        },
      ),
      { numRuns: 30 },
    );
  });

  it("property: hostile headers never throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (header) => {
        const verdict = await verifyStripeSignature({ payload: PAYLOAD, header, secret: SECRET, nowSeconds: NOW });
        expect(verdict.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe("parseSignatureHeader and constantTimeEqual", () => {
  it("keeps at most 8 v1 values and drops malformed hex", () => {
    const many = Array.from({ length: 20 }, () => `v1=${"a".repeat(64)}`).join(",");
    expect(parseSignatureHeader(`t=1,${many}`)?.v1).toHaveLength(8);
    expect(parseSignatureHeader("t=1,v1=xyz,v1=abc")?.v1).toHaveLength(0);
  });

  it("compares bytes", () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });
});
