/**
 * What a policy rule answers when it refuses a request. The router turns it into a 400
 * `invalid_request_error` with this code, param and message; nothing is forwarded.
 */
export interface PolicyRefusal {
  ok: false;
  code: "policy_violation" | "parameter_invalid";
  /** The offending parameter in Stripe's bracket notation, e.g. `options[document][allowed_types][1]`. */
  param: string;
  /** For the caller: names the rule that refused. Never echoes free-form caller input. */
  message: string;
  /** A short stable tag for logs and tests, e.g. `allowed_types_subset`. */
  rule: string;
}

/** A request refused by the tenant's policy. */
export function violation(param: string, rule: string, message: string): PolicyRefusal {
  return { ok: false, code: "policy_violation", param, message, rule };
}

/** A value no policy could accept (malformed or unknown to Stripe's contract). */
export function invalid(param: string, rule: string, message: string): PolicyRefusal {
  return { ok: false, code: "parameter_invalid", param, message, rule };
}
