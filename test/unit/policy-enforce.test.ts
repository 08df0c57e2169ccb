import { describe, expect, it } from "vitest";
import { parseTenantConfig } from "../../src/config/schema.ts";
import type { VerificationPolicy } from "../../src/policy/verification-policy.ts";
import { enforceSessionPolicy } from "../../src/policy/enforce.ts";
import type { Params } from "../../src/stripe/form-codec.ts";

/** A policy as the Worker gets it: through the schema, defaults applied. */
function policy(verification: Record<string, unknown>): VerificationPolicy {
  const parsed = parseTenantConfig({ stripe: { secret_key: "STRIPE_KEY" }, verification });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.config.verification;
}

const ACME = policy({
  session_types: ["document"],
  allowed_document_types: ["passport", "id_card"],
  require_live_capture: true,
  require_matching_selfie: true,
  require_id_number: false,
  verification_flows: ["vf_1AcmeFlow"],
  return_urls: ["https://app.acme.test/identity/done"],
  default_return_url: "https://app.acme.test/identity/done",
});

/** Allows both types, every document type, requires nothing, no return URLs, no flows. */
const OPEN = policy({ session_types: ["document", "id_number"] });

/** Allows only id_number sessions, and requires an ID number for any document options. */
const ID_ONLY = policy({ session_types: ["id_number"], require_id_number: true });

const ACME_DOCUMENT = { allowed_types: ["passport", "id_card"], require_live_capture: "true", require_matching_selfie: "true" };
const ACME_RETURN = "https://app.acme.test/identity/done";

type Expect =
  | { params: Params; decisions?: string[] }
  | { code: "policy_violation" | "parameter_invalid"; param: string; rule: string };

type Case = [label: string, operation: "create" | "update", params: Params, policy: VerificationPolicy, expected: Expect];

const CASES: Case[] = [
  // --- create: session type and flows
  [
    "create document: the full enforced set and the default return_url are injected",
    "create",
    { type: "document" },
    ACME,
    {
      params: { type: "document", options: { document: ACME_DOCUMENT }, return_url: ACME_RETURN },
      decisions: [
        "injected:allowed_types",
        "injected:require_live_capture",
        "injected:require_matching_selfie",
        "default_return_url",
      ],
    },
  ],
  [
    "create id_number not allowed",
    "create",
    { type: "id_number" },
    ACME,
    { code: "policy_violation", param: "type", rule: "session_types" },
  ],
  [
    "create unknown type",
    "create",
    { type: "selfie" },
    OPEN,
    { code: "parameter_invalid", param: "type", rule: "session_type_unknown" },
  ],
  ["create empty type", "create", { type: "" }, OPEN, { code: "parameter_invalid", param: "type", rule: "session_type_unknown" }],
  [
    "create without type or flow",
    "create",
    { metadata: { a: "b" } },
    ACME,
    { code: "policy_violation", param: "type", rule: "session_type_required" },
  ],
  [
    "create id_number without options: nothing injected",
    "create",
    { type: "id_number", client_reference_id: "u1" },
    OPEN,
    { params: { type: "id_number", client_reference_id: "u1" }, decisions: [] },
  ],
  [
    "create id_number with document options: completed like any document options",
    "create",
    { type: "id_number", options: { document: { allowed_types: ["passport"] } } },
    ID_ONLY,
    { params: { type: "id_number", options: { document: { allowed_types: ["passport"], require_id_number: "true" } } } },
  ],
  [
    "create id_number with options[document][require_id_number]=false when required",
    "create",
    { type: "id_number", options: { document: { require_id_number: "false" } } },
    ID_ONLY,
    { code: "policy_violation", param: "options[document][require_id_number]", rule: "require_id_number" },
  ],
  [
    "create with an allowed flow: no options injected, default return_url still applies",
    "create",
    { verification_flow: "vf_1AcmeFlow" },
    ACME,
    { params: { verification_flow: "vf_1AcmeFlow", return_url: ACME_RETURN }, decisions: ["default_return_url"] },
  ],
  [
    "create with an unlisted flow",
    "create",
    { verification_flow: "vf_other" },
    ACME,
    { code: "policy_violation", param: "verification_flow", rule: "verification_flows" },
  ],
  [
    "create with a flow when none is listed",
    "create",
    { verification_flow: "vf_1AcmeFlow" },
    OPEN,
    { code: "policy_violation", param: "verification_flow", rule: "verification_flows" },
  ],
  [
    "create with an empty flow",
    "create",
    { verification_flow: "" },
    ACME,
    { code: "policy_violation", param: "verification_flow", rule: "verification_flows" },
  ],
  [
    "create with a flow and a type",
    "create",
    { verification_flow: "vf_1AcmeFlow", type: "document" },
    ACME,
    { code: "policy_violation", param: "type", rule: "flow_exclusive" },
  ],
  [
    "create with a flow and options (could override the flow's)",
    "create",
    { verification_flow: "vf_1AcmeFlow", options: { document: { require_live_capture: "false" } } },
    ACME,
    { code: "policy_violation", param: "options", rule: "flow_exclusive" },
  ],
  [
    "create with a flow and even narrowing options",
    "create",
    { verification_flow: "vf_1AcmeFlow", options: { document: ACME_DOCUMENT } },
    ACME,
    { code: "policy_violation", param: "options", rule: "flow_exclusive" },
  ],
  // --- create: allowed_types
  [
    "create with an allowed subset: kept, requirements completed",
    "create",
    { type: "document", options: { document: { allowed_types: ["passport"] } }, return_url: ACME_RETURN },
    ACME,
    {
      params: {
        type: "document",
        options: { document: { ...ACME_DOCUMENT, allowed_types: ["passport"] } },
        return_url: ACME_RETURN,
      },
      decisions: ["injected:require_live_capture", "injected:require_matching_selfie"],
    },
  ],
  [
    "create with duplicates: deduplicated",
    "create",
    { type: "document", options: { document: { allowed_types: ["id_card", "passport", "id_card"] } } },
    ACME,
    {
      params: {
        type: "document",
        options: { document: { ...ACME_DOCUMENT, allowed_types: ["id_card", "passport"] } },
        return_url: ACME_RETURN,
      },
    },
  ],
  [
    "create widening allowed_types",
    "create",
    { type: "document", options: { document: { allowed_types: ["passport", "driving_license"] } } },
    ACME,
    { code: "policy_violation", param: "options[document][allowed_types][1]", rule: "allowed_document_types" },
  ],
  [
    "create with an unknown document type",
    "create",
    { type: "document", options: { document: { allowed_types: ["passport", "selfie"] } } },
    ACME,
    { code: "parameter_invalid", param: "options[document][allowed_types][1]", rule: "allowed_types_unknown" },
  ],
  [
    "create with an empty allowed_types (JSON [])",
    "create",
    { type: "document", options: { document: { allowed_types: [] } } },
    ACME,
    { code: "policy_violation", param: "options[document][allowed_types]", rule: "allowed_types_empty" },
  ],
  [
    "create with allowed_types as an empty string",
    "create",
    { type: "document", options: { document: { allowed_types: "" } } },
    ACME,
    { code: "parameter_invalid", param: "options[document][allowed_types]", rule: "allowed_types_shape" },
  ],
  [
    "create with a nested array entry",
    "create",
    { type: "document", options: { document: { allowed_types: [["passport"]] } } },
    ACME,
    { code: "parameter_invalid", param: "options[document][allowed_types][0]", rule: "allowed_types_unknown" },
  ],
  // --- create: document options unset / required checks
  [
    "create unsetting document options",
    "create",
    { type: "document", options: { document: "" } },
    ACME,
    { code: "policy_violation", param: "options[document]", rule: "document_options_unset" },
  ],
  [
    "create unsetting document options on an open tenant too",
    "create",
    { type: "document", options: { document: "" } },
    OPEN,
    { code: "policy_violation", param: "options[document]", rule: "document_options_unset" },
  ],
  [
    "create with require_live_capture=false",
    "create",
    { type: "document", options: { document: { require_live_capture: "false" } } },
    ACME,
    { code: "policy_violation", param: "options[document][require_live_capture]", rule: "require_live_capture" },
  ],
  [
    "create with require_matching_selfie=false",
    "create",
    {
      type: "document",
      options: { document: { allowed_types: ["passport"], require_live_capture: "true", require_matching_selfie: "false" } },
    },
    ACME,
    { code: "policy_violation", param: "options[document][require_matching_selfie]", rule: "require_matching_selfie" },
  ],
  [
    "create with a not-required check set either way: passed through",
    "create",
    { type: "document", options: { document: { require_id_number: "true" } } },
    ACME,
    {
      params: {
        type: "document",
        options: { document: { ...ACME_DOCUMENT, require_id_number: "true" } },
        return_url: ACME_RETURN,
      },
    },
  ],
  [
    "create with a not-required check false: passed through",
    "create",
    { type: "document", options: { document: { require_id_number: "false", require_live_capture: "true" } } },
    ACME,
    {
      params: {
        type: "document",
        options: { document: { ...ACME_DOCUMENT, require_id_number: "false" } },
        return_url: ACME_RETURN,
      },
    },
  ],
  [
    "create on an open tenant: only allowed_types injected",
    "create",
    { type: "document" },
    OPEN,
    {
      params: { type: "document", options: { document: { allowed_types: ["driving_license", "id_card", "passport"] } } },
      decisions: ["injected:allowed_types"],
    },
  ],
  [
    "create with a malformed boolean",
    "create",
    { type: "document", options: { document: { require_live_capture: "yes" } } },
    ACME,
    { code: "parameter_invalid", param: "options[document][require_live_capture]", rule: "requirement_shape" },
  ],
  [
    "create with an unknown document option",
    "create",
    { type: "document", options: { document: { require_nothing: "true" } } },
    ACME,
    { code: "parameter_invalid", param: "options[document][require_nothing]", rule: "document_options_unknown" },
  ],
  [
    "create with options as a string",
    "create",
    { type: "document", options: "" },
    ACME,
    { code: "parameter_invalid", param: "options", rule: "options_shape" },
  ],
  [
    "create with an unknown options key",
    "create",
    { type: "document", options: { id_number: { x: "1" } } },
    ACME,
    { code: "parameter_invalid", param: "options[id_number]", rule: "options_unknown" },
  ],
  [
    "create with options[document] as a list",
    "create",
    { type: "document", options: { document: ["passport"] } },
    ACME,
    { code: "parameter_invalid", param: "options[document]", rule: "document_options_shape" },
  ],
  // --- create: return_url
  [
    "create with an allowed return_url, normalized",
    "create",
    { type: "document", return_url: "HTTPS://APP.ACME.TEST:443/identity/done?session=1" },
    ACME,
    {
      params: {
        type: "document",
        options: { document: ACME_DOCUMENT },
        return_url: "https://app.acme.test/identity/done?session=1",
      },
      decisions: [
        "injected:allowed_types",
        "injected:require_live_capture",
        "injected:require_matching_selfie",
        "normalized:return_url",
      ],
    },
  ],
  [
    "create with an open redirect",
    "create",
    { type: "document", return_url: "https://app.acme.test@evil.test/identity/done" },
    ACME,
    { code: "policy_violation", param: "return_url", rule: "return_url.userinfo" },
  ],
  [
    "create with a return_url on a tenant without return_urls",
    "create",
    { type: "document", return_url: "https://app.acme.test/identity/done" },
    OPEN,
    { code: "policy_violation", param: "return_url", rule: "return_url.no_allow_list" },
  ],
  [
    "create with return_url as a list",
    "create",
    { type: "document", return_url: [ACME_RETURN] },
    ACME,
    { code: "parameter_invalid", param: "return_url", rule: "return_url_shape" },
  ],
  // --- update
  [
    "update metadata only: untouched",
    "update",
    { metadata: { order: "42" } },
    ACME,
    { params: { metadata: { order: "42" } }, decisions: [] },
  ],
  ["update with nothing", "update", {}, ACME, { params: {}, decisions: [] }],
  [
    "update touching one check: the complete set is sent",
    "update",
    { options: { document: { require_id_number: "true" } } },
    ACME,
    { params: { options: { document: { ...ACME_DOCUMENT, require_id_number: "true" } } } },
  ],
  [
    "update narrowing allowed_types: requirements re-sent",
    "update",
    { options: { document: { allowed_types: ["id_card"] } } },
    ACME,
    { params: { options: { document: { ...ACME_DOCUMENT, allowed_types: ["id_card"] } } } },
  ],
  [
    "update with empty options hash: the complete set is sent",
    "update",
    { options: {} },
    ACME,
    { params: { options: { document: ACME_DOCUMENT } } },
  ],
  [
    "update turning a session into document: the complete set is sent",
    "update",
    { type: "document" },
    ACME,
    {
      params: { type: "document", options: { document: ACME_DOCUMENT } },
      decisions: ["injected:allowed_types", "injected:require_live_capture", "injected:require_matching_selfie"],
    },
  ],
  [
    "update to id_number when not allowed",
    "update",
    { type: "id_number" },
    ACME,
    { code: "policy_violation", param: "type", rule: "session_types" },
  ],
  ["update to id_number when allowed", "update", { type: "id_number" }, OPEN, { params: { type: "id_number" }, decisions: [] }],
  [
    "update to document when only id_number is allowed",
    "update",
    { type: "document" },
    ID_ONLY,
    { code: "policy_violation", param: "type", rule: "session_types" },
  ],
  [
    "update to an unknown type",
    "update",
    { type: "selfie" },
    OPEN,
    { code: "parameter_invalid", param: "type", rule: "session_type_unknown" },
  ],
  [
    "update unsetting document options",
    "update",
    { options: { document: "" } },
    ACME,
    { code: "policy_violation", param: "options[document]", rule: "document_options_unset" },
  ],
  [
    "update with require_live_capture=false",
    "update",
    { options: { document: { require_live_capture: "false" } } },
    ACME,
    { code: "policy_violation", param: "options[document][require_live_capture]", rule: "require_live_capture" },
  ],
  [
    "update widening allowed_types",
    "update",
    { options: { document: { allowed_types: ["driving_license"] } } },
    ACME,
    { code: "policy_violation", param: "options[document][allowed_types][0]", rule: "allowed_document_types" },
  ],
  [
    "update with an empty allowed_types",
    "update",
    { type: "document", options: { document: { allowed_types: [] } } },
    ACME,
    { code: "policy_violation", param: "options[document][allowed_types]", rule: "allowed_types_empty" },
  ],
  [
    "update with a return_url",
    "update",
    { return_url: ACME_RETURN },
    ACME,
    { code: "policy_violation", param: "return_url", rule: "create_only" },
  ],
  [
    "update with a flow",
    "update",
    { verification_flow: "vf_1AcmeFlow" },
    ACME,
    { code: "policy_violation", param: "verification_flow", rule: "create_only" },
  ],
  ["update does not inject a default return_url", "update", { metadata: {} }, ACME, { params: { metadata: {} } }],
];

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe("enforceSessionPolicy", () => {
  it.each(CASES)("%s", (_label, operation, params, pol, expected) => {
    const input = deepFreeze(structuredClone(params));
    const outcome = enforceSessionPolicy(operation, input, pol);
    expect(input).toEqual(params);
    if ("params" in expected) {
      expect(outcome).toMatchObject({ ok: true });
      if (!outcome.ok) return;
      expect(outcome.params).toEqual(expected.params);
      expect(outcome.params).not.toBe(input);
      if (expected.decisions) expect(outcome.decisions).toEqual(expected.decisions);
    } else {
      expect(outcome).toMatchObject({ ok: false, code: expected.code, param: expected.param, rule: expected.rule });
      if (!outcome.ok) {
        // The message names the rule, and never echoes a caller's free-form value.
        expect(outcome.message).toMatch(/rule: |Invalid |unknown parameter/);
        expect(outcome.message).not.toContain("evil");
      }
    }
  });

  it("does not share arrays with the policy (a caller cannot mutate the tenant's list)", () => {
    const outcome = enforceSessionPolicy("create", { type: "document" }, ACME);
    if (!outcome.ok) throw new Error("refused");
    const document = (outcome.params.options as Params).document as Params;
    (document.allowed_types as string[]).push("driving_license");
    expect(ACME.allowed_document_types).toEqual(["passport", "id_card"]);
  });

  it("fails closed when the default_return_url is not allow-listed (config bypassing the schema)", () => {
    const bad: VerificationPolicy = { ...ACME, default_return_url: "https://evil.test/" };
    expect(enforceSessionPolicy("create", { type: "document" }, bad)).toMatchObject({
      ok: false,
      param: "return_url",
      rule: "default_return_url",
    });
  });

  it("keeps parameters the policy does not govern", () => {
    const params: Params = {
      type: "document",
      client_reference_id: "user_1",
      metadata: { a: "b" },
      expand: ["last_verification_report"],
    };
    const outcome = enforceSessionPolicy("create", params, ACME);
    expect(outcome).toMatchObject({
      ok: true,
      params: { client_reference_id: "user_1", metadata: { a: "b" }, expand: ["last_verification_report"] },
    });
  });
});

describe("booleans the way Stripe reads them (issue 15 point 1)", () => {
  it("judges True/FALSE by their meaning and forwards the canonical form", () => {
    const refused = enforceSessionPolicy(
      "create",
      { type: "document", options: { document: { require_live_capture: "False" } } },
      ACME,
    );
    expect(refused).toMatchObject({ ok: false, code: "policy_violation", param: "options[document][require_live_capture]" });
    const allowed = enforceSessionPolicy(
      "create",
      { type: "document", options: { document: { require_id_number: "TRUE" } } },
      ACME,
    );
    expect(allowed.ok).toBe(true);
    if (allowed.ok) expect(allowed.params.options).toEqual({ document: { ...ACME_DOCUMENT, require_id_number: "true" } });
  });
});
