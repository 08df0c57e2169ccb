import { SESSION_TYPES, type SessionType, type VerificationPolicy } from "./verification-policy.ts";
import type { ParamValue } from "../stripe/form-codec.ts";
import { invalid, type PolicyRefusal, violation } from "./refusal.ts";

function isSessionType(value: string): value is SessionType {
  return (SESSION_TYPES as readonly string[]).includes(value);
}

/**
 * Checks a caller's `type`: a known session type (else `parameter_invalid`: an unknown or future type
 * could carry checks the policy does not know) that the tenant lists in `session_types`.
 */
export function checkSessionType(value: ParamValue, policy: VerificationPolicy): { ok: true; type: SessionType } | PolicyRefusal {
  if (typeof value !== "string" || !isSessionType(value)) {
    return invalid("type", "session_type_unknown", `Invalid type: must be one of ${SESSION_TYPES.join(", ")}.`);
  }
  if (!policy.session_types.includes(value)) {
    return violation(
      "type",
      "session_types",
      `The tenant's policy does not allow type=${value} (rule: session_types; allowed: ${policy.session_types.join(", ")}).`,
    );
  }
  return { ok: true, type: value };
}

/**
 * Checks a caller's `verification_flow`: it must be listed in the tenant's `verification_flows`. A
 * Dashboard flow carries its own type and document options, which the proxy cannot see, so listing a
 * flow is the operator's statement that the flow's configuration conforms to the tenant's policy.
 */
export function checkVerificationFlow(value: ParamValue, policy: VerificationPolicy): { ok: true } | PolicyRefusal {
  if (typeof value !== "string" || !policy.verification_flows.includes(value)) {
    return violation(
      "verification_flow",
      "verification_flows",
      policy.verification_flows.length === 0
        ? "The tenant's policy allows no verification_flow (rule: verification_flows)."
        : "The tenant's policy does not allow this verification_flow (rule: verification_flows).",
    );
  }
  return { ok: true };
}
