import type { VerificationPolicy } from "./verification-policy.ts";
import { emptyParams, type ParamValue, type Params } from "../stripe/form-codec.ts";
import { enforceDocumentOptions } from "./document-options.ts";
import { invalid, type PolicyRefusal, violation } from "./refusal.ts";
import { checkReturnUrl, returnUrlRejectionMessage } from "./return-url.ts";
import { checkSessionType, checkVerificationFlow } from "./session-type.ts";

export type { PolicyRefusal } from "./refusal.ts";

export type PolicyOutcome =
  /** `params` is what to forward (a new object; the input is not mutated); `decisions` are short tags for the log. */
  { ok: true; params: Params; decisions: string[] } | PolicyRefusal;

function isRecord(value: ParamValue): value is Params {
  return typeof value === "object" && !Array.isArray(value);
}

function cloneParams(params: Params): Params {
  const clone = (value: ParamValue): ParamValue => {
    if (typeof value === "string") return value;
    if (Array.isArray(value)) return value.map(clone);
    const out = emptyParams();
    for (const [k, v] of Object.entries(value)) out[k] = clone(v);
    return out;
  };
  return clone(params) as Params;
}

/** Parameters that only exist on create; the param validator refuses them on update, and so do we. */
const CREATE_ONLY = ["return_url", "verification_flow"] as const;

/**
 * Applies the tenant's verification policy to the params of a VerificationSession create or update,
 * for every role. `params` are the validated, form-shaped params (string leaves). Either refuses
 * (nothing may be forwarded) or returns the params to forward, such that:
 *
 * - `type`, when sent, is a known type listed in `session_types`; on create, either `type` or a
 *   `verification_flow` listed in `verification_flows` is present, never both.
 * - A flow carries its own type and document options, so `options` is refused alongside it: the
 *   proxy cannot tell whether caller options would narrow or widen the flow's.
 * - Whenever the request sends `options` or sets `type=document` (create or update), the forwarded
 *   `options[document]` is the complete enforced set (see `enforceDocumentOptions`), so no partial
 *   update can widen what the session checks. With `type=id_number` and no `options`, none are added.
 * - On create, `return_url` is allow-listed and forwarded normalized; absent, `default_return_url` is
 *   used when configured (also checked, so a bad default fails closed).
 *
 * Pure and idempotent: enforcing the returned params again returns the same params.
 */
export function enforceSessionPolicy(operation: "create" | "update", params: Params, policy: VerificationPolicy): PolicyOutcome {
  const out = cloneParams(params);
  const decisions: string[] = [];

  if (operation === "update") {
    for (const name of CREATE_ONLY) {
      if (Object.hasOwn(params, name))
        return violation(name, "create_only", `${name} can only be set when the session is created (rule: create_only).`);
    }
  }

  const flow = operation === "create" ? params.verification_flow : undefined;
  if (flow !== undefined) {
    const checked = checkVerificationFlow(flow, policy);
    if (!checked.ok) return checked;
    if (params.type !== undefined) {
      return violation(
        "type",
        "flow_exclusive",
        "type cannot be combined with verification_flow: the flow sets the session type (rule: verification_flows).",
      );
    }
    if (params.options !== undefined) {
      return violation(
        "options",
        "flow_exclusive",
        "options cannot be combined with verification_flow: the flow carries its own document options (rule: verification_flows).",
      );
    }
  } else if (operation === "create" && params.type === undefined) {
    return violation(
      "type",
      "session_type_required",
      "type is required unless an allowed verification_flow is given (rule: session_types).",
    );
  }

  const type = params.type === undefined ? undefined : checkSessionType(params.type, policy);
  if (type && !type.ok) return type;

  if (params.options !== undefined || type?.type === "document") {
    const options = params.options ?? emptyParams();
    if (!isRecord(options)) return invalid("options", "options_shape", "Invalid options: must be a hash.");
    const unknown = Object.keys(options).find((k) => k !== "document");
    if (unknown !== undefined)
      return invalid(`options[${unknown}]`, "options_unknown", `Received unknown parameter: options[${unknown}]`);
    const document = enforceDocumentOptions(options.document, policy);
    if (!document.ok) return document;
    out.options = Object.assign(emptyParams(), { document: document.document });
    decisions.push(...document.decisions);
  }

  if (operation === "create") {
    const given = params.return_url;
    if (given !== undefined) {
      if (typeof given !== "string")
        return invalid("return_url", "return_url_shape", "Invalid string: return_url must be a single string value.");
      const checked = checkReturnUrl(given, policy.return_urls);
      if (!checked.ok) {
        return violation(
          "return_url",
          `return_url.${checked.reason.kind}`,
          `return_url is not allowed: ${returnUrlRejectionMessage(checked.reason)} (rule: return_urls).`,
        );
      }
      if (checked.url !== given) decisions.push("normalized:return_url");
      out.return_url = checked.url;
    } else if (policy.default_return_url !== undefined) {
      const checked = checkReturnUrl(policy.default_return_url, policy.return_urls);
      if (!checked.ok) {
        return violation(
          "return_url",
          "default_return_url",
          "The tenant's default_return_url is not in its return_urls; send an allowed return_url (rule: return_urls).",
        );
      }
      out.return_url = checked.url;
      decisions.push("default_return_url");
    }
  }

  return { ok: true, params: out, decisions };
}
