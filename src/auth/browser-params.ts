import type { Params } from "../stripe/form-codec.ts";
import type { OperationName } from "../stripe/operations.ts";

/**
 * What a browser may ask for, beyond what the tenant's policy already enforces. Browsers run code the
 * operator does not control, so their parameters are an allow-list per operation (a parameter Stripe
 * adds later is refused until someone decides otherwise):
 * - `expand` would pull related objects (reports, verified outputs) into the response;
 * - `metadata` and `related_*` are the tenant backend's own bookkeeping (links to customers, accounts,
 *   persons), which an end user must not be able to write or point elsewhere;
 * - `provided_details` (email, phone) is what the session checks the user against: the tenant's backend,
 *   which knows the account's email and phone, sets it, never the user being verified;
 * - `client_reference_id` is the owner of the session: the proxy sets it to the token's subject.
 */

/** The end user behind a browser request: a verified token's subject, or nobody (`auth: none`). */
export type BrowserIdentity = { kind: "user"; subject: string } | { kind: "anonymous" };

const BROWSER_PARAMS: Partial<Record<OperationName, readonly string[]>> = {
  create: ["type", "options", "verification_flow", "return_url", "client_reference_id"],
  update: ["type", "options"],
  retrieve: [],
  cancel: [],
  redact: [],
};

/**
 * Operations a browser can ever use: the session-id operations need an ownership check (a subject),
 * so with `auth: none` only create and retrieve remain; lists and reports are never for browsers.
 */
export function browserOperationsFor(identity: BrowserIdentity, configured: readonly string[]): OperationName[] {
  const possible: readonly OperationName[] =
    identity.kind === "user" ? ["create", "retrieve", "update", "cancel", "redact"] : ["create", "retrieve"];
  return possible.filter((op) => configured.includes(op));
}

export type BrowserParamsResult = { ok: true; params: Params } | { ok: false; param: string; message: string };

/**
 * Checks a browser's parameters for an operation and binds a created session to its user: on create,
 * `client_reference_id` becomes the subject (a different value is refused); an anonymous browser may
 * not set it at all, or it could attach its session to someone else's account.
 */
export function checkBrowserParams(op: OperationName, params: Params, identity: BrowserIdentity): BrowserParamsResult {
  const allowed = BROWSER_PARAMS[op] ?? [];
  for (const name of Object.keys(params)) {
    if (!allowed.includes(name)) {
      return { ok: false, param: name, message: `Browser requests may not set \`${name}\`; only the tenant's server can.` };
    }
  }
  if (op !== "create") return { ok: true, params };
  const given = params.client_reference_id;
  if (identity.kind === "anonymous") {
    if (given !== undefined) {
      return {
        ok: false,
        param: "client_reference_id",
        message: "Browser requests without an end-user token may not set `client_reference_id`.",
      };
    }
    return { ok: true, params };
  }
  if (given !== undefined && given !== identity.subject) {
    return {
      ok: false,
      param: "client_reference_id",
      message: "`client_reference_id` must be the signed-in user: the proxy sets it from the end-user token.",
    };
  }
  return { ok: true, params: { ...params, client_reference_id: identity.subject } };
}
