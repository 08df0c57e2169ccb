import { ProxyError } from "../errors.ts";

/**
 * A Stripe API version as the `Stripe-Version` header spells it: a date, an optional release name, and
 * optional beta flags (`2026-10-28.endive; identity_beta=v1`), the form Stripe documents for previews.
 */
export const STRIPE_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?(;\s*[a-z][a-z0-9_]*=v\d+)*$/;

/** The tenant's accepted-versions list entry that accepts any well-formed version. */
export const ANY_VERSION = "*";

/** One spelling for a version: beta flags separated by "; " (callers write `;beta=v1` and `; beta=v1`). */
export function canonicalVersion(version: string): string {
  return version
    .split(";")
    .map((part) => part.trim())
    .join("; ");
}

/** What the tenant configures: the pinned version (`stripe.api_version`) and the accepted list (`stripe.api_versions`). */
export interface VersionSettings {
  api_version?: string | undefined;
  api_versions?: readonly string[] | undefined;
}

/**
 * The versions a tenant accepts from callers: its `api_versions` list, else just its pinned version,
 * else (no pin, no list) any version, since nothing would be overridden.
 */
function acceptedVersions(settings: VersionSettings): readonly string[] {
  if (settings.api_versions !== undefined) return settings.api_versions;
  return settings.api_version !== undefined ? [settings.api_version] : [ANY_VERSION];
}

/**
 * The `Stripe-Version` to send upstream, by one rule and never a silent override:
 * - the caller sent none → the tenant's pinned `api_version`, or none (Stripe's account default);
 * - the caller sent one the tenant accepts (listed, or `"*"` listed) → the caller's, as sent;
 * - anything else → 400 `parameter_invalid` naming what is accepted.
 * Beta flags are part of the version: a tenant accepts `2026-10-28.endive; identity_beta=v1` only by
 * listing it exactly (or `"*"`); the date-and-name alone does not admit its betas.
 */
export function resolveApiVersion(callerVersion: string | null, settings: VersionSettings): string | undefined {
  if (callerVersion === null) return settings.api_version;
  const given = canonicalVersion(callerVersion);
  if (!STRIPE_VERSION.test(given)) {
    throw new ProxyError(
      "parameter_invalid",
      "Invalid Stripe-Version header: expected a Stripe API version such as 2026-07-29.dahlia, optionally with beta flags (2026-10-28.endive; identity_beta=v1).",
    );
  }
  const accepted = acceptedVersions(settings);
  if (accepted.includes(ANY_VERSION) || accepted.some((v) => canonicalVersion(v) === given)) return given;
  const fallback =
    settings.api_version === undefined
      ? "Send no Stripe-Version to use your Stripe account's default."
      : `Send no Stripe-Version to use ${settings.api_version}.`;
  throw new ProxyError(
    "parameter_invalid",
    `Stripe-Version ${given} is not accepted for this tenant. Accepted: ${accepted.length > 0 ? accepted.join(", ") : "none"}. ${fallback} The tenant's stripe.api_versions lists the versions it accepts.`,
  );
}
