import { DOCUMENT_TYPES, type VerificationPolicy } from "./verification-policy.ts";
import { bracketPath, emptyParams, type ParamValue, type Params } from "../stripe/form-codec.ts";
import { canonicalBoolean } from "../stripe/validate-params.ts";
import { invalid, type PolicyRefusal, violation } from "./refusal.ts";

/** The checks a tenant can require; each is a boolean under `options[document]`. */
export const REQUIREMENTS = ["require_id_number", "require_live_capture", "require_matching_selfie"] as const;
export type Requirement = (typeof REQUIREMENTS)[number];

const KNOWN_KEYS: readonly string[] = ["allowed_types", ...REQUIREMENTS];
const BASE = ["options", "document"] as const;
const param = (...rest: (string | number)[]) => bracketPath([...BASE, ...rest]);

function isRecord(value: ParamValue): value is Params {
  return typeof value === "object" && !Array.isArray(value);
}

export type DocumentOptionsResult = { ok: true; document: Params; decisions: string[] } | PolicyRefusal;

/**
 * Returns the complete enforced `options[document]` for a request that touches document options or
 * makes a session a `document` one: `allowed_types` is the caller's non-empty subset of the tenant's
 * list (deduplicated) or, when absent, the tenant's list; every check the tenant requires is `"true"`.
 * Because the result is always complete, a partial update can never reset a requirement to Stripe's
 * default. Refuses `options[document]=` (which unsets the options in Stripe), a required check sent as
 * `false`, an empty or widened `allowed_types`, and (as `parameter_invalid`) unknown keys and values.
 *
 * `given` is the caller's `options[document]`, or `undefined` when the caller sent none.
 */
export function enforceDocumentOptions(given: ParamValue | undefined, policy: VerificationPolicy): DocumentOptionsResult {
  if (given === "") {
    return violation(
      param(),
      "document_options_unset",
      "options[document] cannot be unset: the tenant's document policy (allowed types and required checks) always applies (rule: document_options).",
    );
  }
  if (given !== undefined && !isRecord(given)) {
    return invalid(param(), "document_options_shape", "Invalid options[document]: must be a hash.");
  }
  const source: Params = given ?? emptyParams();
  for (const key of Object.keys(source)) {
    if (!KNOWN_KEYS.includes(key))
      return invalid(param(key), "document_options_unknown", `Received unknown parameter: ${param(key)}`);
  }

  const decisions: string[] = [];
  const document = emptyParams();

  const types = source.allowed_types;
  if (types === undefined) {
    document.allowed_types = [...policy.allowed_document_types];
    decisions.push("injected:allowed_types");
  } else {
    if (!Array.isArray(types))
      return invalid(
        param("allowed_types"),
        "allowed_types_shape",
        "Invalid array: options[document][allowed_types] must be a list.",
      );
    if (types.length === 0) {
      return violation(
        param("allowed_types"),
        "allowed_types_empty",
        "options[document][allowed_types] must not be empty: omit it to use the tenant's allowed document types (rule: allowed_document_types).",
      );
    }
    const kept: string[] = [];
    for (const [i, entry] of types.entries()) {
      if (typeof entry !== "string" || !(DOCUMENT_TYPES as readonly string[]).includes(entry)) {
        return invalid(
          param("allowed_types", i),
          "allowed_types_unknown",
          `Invalid ${param("allowed_types", i)}: must be one of ${DOCUMENT_TYPES.join(", ")}.`,
        );
      }
      if (!(policy.allowed_document_types as readonly string[]).includes(entry)) {
        return violation(
          param("allowed_types", i),
          "allowed_document_types",
          `The tenant's policy does not allow the document type ${entry} (rule: allowed_document_types; allowed: ${policy.allowed_document_types.join(", ")}).`,
        );
      }
      if (!kept.includes(entry)) kept.push(entry);
    }
    document.allowed_types = kept;
  }

  for (const requirement of REQUIREMENTS) {
    // The policy reads what the value means to Stripe (`True`, `FALSE`...), and forwards the canonical form.
    const given = source[requirement];
    const value = canonicalBoolean(given);
    if (given !== undefined && value === undefined) {
      return invalid(param(requirement), "requirement_shape", `Invalid boolean: ${param(requirement)} must be true or false.`);
    }
    if (policy[requirement]) {
      if (value === "false") {
        return violation(
          param(requirement),
          requirement,
          `The tenant's policy requires ${requirement}: ${param(requirement)} cannot be false (rule: ${requirement}).`,
        );
      }
      if (value === undefined) decisions.push(`injected:${requirement}`);
      document[requirement] = "true";
    } else if (value !== undefined) {
      document[requirement] = value;
    }
  }
  return { ok: true, document, decisions };
}
