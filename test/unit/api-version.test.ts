import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/errors.ts";
import { canonicalVersion, resolveApiVersion } from "../../src/stripe/api-version.ts";

const PIN = "2026-07-29.dahlia";
const BETA = "2026-10-28.endive; identity_beta=v1";

function refusal(f: () => unknown): ProxyError {
  try {
    f();
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("resolveApiVersion: one rule, never a silent override", () => {
  it("no caller version → the pin, or none", () => {
    expect(resolveApiVersion(null, { api_version: PIN })).toBe(PIN);
    expect(resolveApiVersion(null, {})).toBeUndefined();
  });

  it("the default list is the pin alone; without a pin any version passes (nothing to override)", () => {
    expect(resolveApiVersion(PIN, { api_version: PIN })).toBe(PIN);
    expect(refusal(() => resolveApiVersion("2022-11-15", { api_version: PIN })).message).toContain(`Accepted: ${PIN}.`);
    expect(resolveApiVersion("2022-11-15", {})).toBe("2022-11-15");
  });

  it("listed versions pass as sent (betas normalized), others are refused naming the list", () => {
    const settings = { api_version: PIN, api_versions: [PIN, BETA] };
    expect(resolveApiVersion("2026-10-28.endive;identity_beta=v1", settings)).toBe(BETA);
    const err = refusal(() => resolveApiVersion("2026-10-28.endive", settings));
    expect(err.status).toBe(400);
    expect(err.message).toContain(`Accepted: ${PIN}, ${BETA}.`);
    expect(err.message).toContain(`Send no Stripe-Version to use ${PIN}.`);
    expect(refusal(() => resolveApiVersion(PIN, { api_versions: [] })).message).toContain("Accepted: none.");
  });

  it('"*" accepts any well-formed version, betas included; malformed ones never', () => {
    for (const v of ["2022-11-15", "2026-10-28.endive", BETA]) expect(resolveApiVersion(v, { api_versions: ["*"] })).toBe(v);
    for (const v of ["latest", "", "2026-07-29.Dahlia", "2026-07-29; beta", "2026-07-29.dahlia\nx"]) {
      expect(refusal(() => resolveApiVersion(v, { api_versions: ["*"] })).message).toContain("Invalid Stripe-Version header");
    }
  });

  it("canonical spelling of beta flags", () => {
    expect(canonicalVersion("2026-10-28.endive ;identity_beta=v1")).toBe(BETA);
    expect(canonicalVersion(PIN)).toBe(PIN);
  });
});
