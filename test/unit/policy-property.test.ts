import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseTenantConfig } from "../../src/config/schema.ts";
import { REQUIREMENTS } from "../../src/policy/document-options.ts";
import { DOCUMENT_TYPES, type VerificationPolicy } from "../../src/policy/verification-policy.ts";
import { enforceSessionPolicy } from "../../src/policy/enforce.ts";
import { checkReturnUrl, parseAllowListEntry } from "../../src/policy/return-url.ts";
import type { ParamValue, Params } from "../../src/stripe/form-codec.ts";

const ENTRY_POOL = [
  "https://app.acme.test/identity/done",
  "https://app.acme.test:8443/alt/",
  "https://root.acme.test/",
  "http://localhost:8787/demo/",
];
const FLOW_POOL = ["vf_a", "vf_b"];

const policyArb: fc.Arbitrary<VerificationPolicy> = fc
  .record({
    session_types: fc.subarray(["document", "id_number"], { minLength: 1 }),
    allowed_document_types: fc.subarray([...DOCUMENT_TYPES], { minLength: 1 }),
    require_live_capture: fc.boolean(),
    require_matching_selfie: fc.boolean(),
    require_id_number: fc.boolean(),
    verification_flows: fc.subarray(FLOW_POOL),
    return_urls: fc.subarray(ENTRY_POOL),
    defaultIndex: fc.option(fc.nat(10), { nil: undefined }),
    defaultSuffix: fc.constantFrom("", "x", "x/y?session=1"),
  })
  .map(({ defaultIndex, defaultSuffix, ...verification }) => {
    const base =
      defaultIndex === undefined
        ? undefined
        : verification.return_urls[defaultIndex % Math.max(1, verification.return_urls.length)];
    const withDefault =
      base === undefined ? verification : { ...verification, default_return_url: `${base.replace(/\/$/, "")}/${defaultSuffix}` };
    const parsed = parseTenantConfig({ stripe: { secret_key: "K" }, verification: withDefault });
    if (!parsed.ok) throw new Error(`generator made an invalid policy: ${JSON.stringify(parsed.issues)}`);
    return parsed.config.verification;
  });

const TRICKS = [
  "https://app.acme.test/identity/done",
  "https://app.acme.test/identity/done/next?session=vs_1",
  "HTTPS://APP.ACME.TEST:443/identity/done",
  "https://app.acme.test:8443/alt/x",
  "https://root.acme.test",
  "http://localhost:8787/demo/",
  "https://app.acme.test@evil.test/identity/done",
  "https://evil.test/identity/done",
  "//evil.test/",
  "https://app.acme.test/identity/done/../../admin",
  "https://app.acme.test/identity/done/%2e%2e/admin",
  "https://app.acme.test/identity/done-evil",
  "https://app.acme.test/identity/done#x",
  "https://root.acme.test//evil.test",
  "http://app.acme.test/identity/done",
  "javascript:alert(1)",
  "https://app.acme.test\\@evil.test/",
  "https://app.acme.test./identity/done",
  "https://аpp.acme.test/identity/done",
  "http://2130706433:8787/demo/",
];

/** Caller-controlled text: known-good, known-bad, random URLs and random strings. */
const urlish = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TRICKS) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...ENTRY_POOL), fc.string({ maxLength: 12 })).map(([e, s]) => e + s) },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const boolish = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("true", "false") },
  { weight: 1, arbitrary: fc.constantFrom("yes", "") },
);

/** `arb`, or absent (`undefined`): present with probability `present`. */
const maybe = <T>(arb: fc.Arbitrary<T>, present = 0.5): fc.Arbitrary<T | undefined> =>
  fc.oneof(
    { weight: Math.round((1 - present) * 100), arbitrary: fc.constant(undefined) },
    { weight: Math.round(present * 100), arbitrary: arb },
  );

const documentOptionsArb: fc.Arbitrary<ParamValue> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<ParamValue>("", ["passport"]) },
  {
    weight: 12,
    arbitrary: fc
      .record({
        allowed_types: maybe(
          fc.oneof(
            { weight: 8, arbitrary: fc.subarray([...DOCUMENT_TYPES], { minLength: 1 }) },
            { weight: 2, arbitrary: fc.array(fc.constantFrom(...DOCUMENT_TYPES, "selfie", ""), { maxLength: 4 }) },
            { weight: 1, arbitrary: fc.constant("") },
          ),
        ),
        require_live_capture: maybe(boolish),
        require_matching_selfie: maybe(boolish),
        require_id_number: maybe(boolish),
        require_nothing: maybe(fc.constant("true"), 0.05),
      })
      .map(compact),
  },
);

const optionsArb: fc.Arbitrary<ParamValue> = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 12, arbitrary: fc.record({ document: maybe(documentOptionsArb, 0.85) }).map(compact) },
);

function compact(record: Record<string, ParamValue | undefined>): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
  return out;
}

/** Params for one operation; on create, a fifth of the requests are flow-shaped (a flow, rarely with type or options). */
const paramsArb = (operation: "create" | "update"): fc.Arbitrary<Params> => {
  const create = operation === "create";
  const common = {
    options: maybe(optionsArb),
    return_url: maybe(urlish, create ? 0.6 : 0.03),
    client_reference_id: maybe(fc.string({ maxLength: 10 })),
    metadata: maybe(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 })),
  };
  const typeArb = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom("document", "id_number") },
    { weight: 1, arbitrary: fc.constantFrom("selfie", "") },
  );
  const flowArb = fc.constantFrom("vf_a", "vf_b", "vf_c", "");
  const typed = fc
    .record({ ...common, type: maybe(typeArb, create ? 0.9 : 0.4), verification_flow: maybe(flowArb, create ? 0.05 : 0.03) })
    .map(compact);
  if (!create) return typed;
  const flowShaped = fc
    .record({ ...common, options: maybe(optionsArb, 0.1), type: maybe(typeArb, 0.1), verification_flow: flowArb })
    .map(compact);
  return fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: flowShaped });
};

const requestArb = fc
  .constantFrom("create" as const, "update" as const)
  .chain((operation) => fc.tuple(fc.constant(operation), paramsArb(operation)));

function isRecord(value: ParamValue | undefined): value is Params {
  return typeof value === "object" && !Array.isArray(value);
}

/** The invariant: whatever is forwarded satisfies the tenant's policy. */
function assertWithinPolicy(operation: "create" | "update", input: Params, out: Params, policy: VerificationPolicy): void {
  if (out.type !== undefined) expect(policy.session_types).toContain(out.type);
  if (operation === "create") {
    if (out.verification_flow !== undefined) {
      expect(policy.verification_flows).toContain(out.verification_flow);
      expect(out.type).toBeUndefined();
      expect(out.options).toBeUndefined();
    } else expect(out.type).toBeDefined();
  } else {
    expect(out.verification_flow).toBeUndefined();
    expect(out.return_url).toBeUndefined();
  }
  if (out.type === "document" || input.options !== undefined) expect(out.options).toBeDefined();
  if (out.options !== undefined) {
    expect(isRecord(out.options)).toBe(true);
    const document = (out.options as Params).document;
    if (!isRecord(document)) throw new Error("options[document] must be a hash");
    expect(Object.keys(out.options as Params)).toEqual(["document"]);
    for (const key of Object.keys(document)) expect(["allowed_types", ...REQUIREMENTS]).toContain(key);
    const types = document.allowed_types;
    if (!Array.isArray(types)) throw new Error("allowed_types must be a list");
    expect(types.length).toBeGreaterThan(0);
    for (const t of types) expect(policy.allowed_document_types).toContain(t);
    for (const requirement of REQUIREMENTS) {
      if (policy[requirement]) expect(document[requirement]).toBe("true");
      else if (document[requirement] !== undefined) expect(["true", "false"]).toContain(document[requirement]);
    }
  }
  if (out.return_url !== undefined) {
    if (typeof out.return_url !== "string") throw new Error("return_url must be a string");
    expect(checkReturnUrl(out.return_url, policy.return_urls)).toEqual({ ok: true, url: out.return_url });
  } else if (operation === "create") expect(policy.default_return_url).toBeUndefined();
}

describe("enforceSessionPolicy properties", () => {
  it("refuses, or forwards params within the policy; never mutates the input; is idempotent", () => {
    const seen = { ok: 0, okWithOptions: 0, okWithReturnUrl: 0, okWithFlow: 0 };
    fc.assert(
      fc.property(requestArb, policyArb, ([operation, params], policy) => {
        const snapshot = structuredClone(params);
        const outcome = enforceSessionPolicy(operation, params, policy);
        expect(params).toEqual(snapshot);
        if (!outcome.ok) {
          expect(["policy_violation", "parameter_invalid"]).toContain(outcome.code);
          expect(outcome.param).toMatch(/^[a-z_]+(\[[a-z_0-9]+\])*$/);
          expect(outcome.message.length).toBeGreaterThan(0);
          return;
        }
        assertWithinPolicy(operation, params, outcome.params, policy);
        seen.ok++;
        if (params.options !== undefined) seen.okWithOptions++;
        if (params.return_url !== undefined) seen.okWithReturnUrl++;
        if (params.verification_flow !== undefined) seen.okWithFlow++;
        const again = enforceSessionPolicy(operation, outcome.params, policy);
        expect(again).toMatchObject({ ok: true });
        if (again.ok) expect(again.params).toEqual(outcome.params);
      }),
      { numRuns: 3000 },
    );
    // The generators must reach the accepting paths often enough for the invariant to mean something.
    expect(seen.ok).toBeGreaterThan(600);
    expect(seen.okWithOptions).toBeGreaterThan(150);
    expect(seen.okWithReturnUrl).toBeGreaterThan(10);
    expect(seen.okWithFlow).toBeGreaterThan(5);
  });

  it("accepts every well-formed request inside the policy (the rules are not vacuous)", () => {
    fc.assert(
      fc.property(policyArb, fc.boolean(), (policy, withOptions) => {
        const type = policy.session_types[0] ?? "document";
        const params: Params = { type };
        if (withOptions) params.options = { document: { allowed_types: [policy.allowed_document_types[0] ?? "passport"] } };
        const entry = policy.return_urls[0];
        if (entry !== undefined) params.return_url = entry;
        expect(enforceSessionPolicy("create", params, policy)).toMatchObject({ ok: true });
        const { return_url: _createOnly, ...update } = params;
        expect(enforceSessionPolicy("update", update, policy)).toMatchObject({ ok: true });
      }),
    );
  });
});

describe("checkReturnUrl properties", () => {
  const hostsOf = (list: readonly string[]) => list.map((e) => parseAllowListEntry(e)).flatMap((r) => (r.ok ? [r.entry] : []));

  it("only ever returns a URL on an allow-listed scheme, host, port and path, and is a fixed point", () => {
    fc.assert(
      fc.property(urlish, fc.subarray(ENTRY_POOL, { minLength: 1 }), (candidate, allowList) => {
        const result = checkReturnUrl(candidate, allowList);
        if (!result.ok) return;
        const url = new URL(result.url);
        const match = hostsOf(allowList).some(
          (e) =>
            e.protocol === url.protocol &&
            e.hostname === url.hostname &&
            e.port === url.port &&
            (url.pathname === e.pathPrefix || url.pathname.startsWith(`${e.pathPrefix}/`)),
        );
        expect(match).toBe(true);
        expect(url.username + url.password + url.hash).toBe("");
        expect(result.url).not.toMatch(/[\s\\]|%2e|%2f|%5c|%25/i);
        expect(checkReturnUrl(result.url, allowList)).toEqual(result);
      }),
      { numRuns: 3000 },
    );
  });
});
