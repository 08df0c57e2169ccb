import { LOCAL_HTTP_HOSTS } from "../policy/return-url.ts";

/**
 * What a tenant's `events` block may say, for the config schema (config/schema.ts) and the relay
 * alike: the Identity event types there are, and which delivery URLs are acceptable. Pure, and a leaf:
 * it imports nothing of config, so config can depend on it.
 */

/** Every verification-session event Stripe sends; the default when a tenant lists no `types`. */
export const IDENTITY_EVENT_TYPES = [
  "identity.verification_session.created",
  "identity.verification_session.processing",
  "identity.verification_session.verified",
  "identity.verification_session.requires_input",
  "identity.verification_session.canceled",
  "identity.verification_session.redacted",
] as const;

/**
 * Why `url` cannot receive deliveries, or undefined when it can: an absolute https URL (http only for
 * localhost/127.0.0.1, for local development), without userinfo (credentials belong in the signing
 * secret, not in a URL that reaches logs and proxies) or fragment (never sent anyway).
 */
export function deliveryUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOCAL_HTTP_HOSTS.includes(parsed.hostname)))
    return "must be https (http only for localhost/127.0.0.1)";
  if (parsed.username !== "" || parsed.password !== "") return "must not contain a user name or password";
  if (url.includes("#")) return "must not contain a fragment";
  return undefined;
}
