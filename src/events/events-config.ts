import type { TenantConfig } from "../config/schema.ts";
import { LOCAL_HTTP_HOSTS } from "../policy/return-url.ts";
import type { SecretSource } from "../tenancy/secret-kinds.ts";

/**
 * The tenant's `events` block, read side: which Stripe Identity events it receives, and where its
 * signing secret comes from. Pure. docs/events.md is the operator-facing contract.
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

export type EventsConfig = NonNullable<TenantConfig["events"]>;

/** `signing_secret: "kv"` means the secret is sealed in the tenant registry, like the other `_ref: "kv"` secrets. */
export const REGISTRY_SECRET_MARKER = "kv";

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

/** True when the tenant receives events of this type (default: every `identity.verification_session.*`). */
export function wantsEventType(events: EventsConfig, type: string): boolean {
  const wanted: readonly string[] = events.types ?? IDENTITY_EVENT_TYPES;
  return wanted.includes(type);
}

/** Where the tenant's events signing secret is read from. */
export function eventsSecretSource(events: EventsConfig): SecretSource {
  return events.signing_secret === REGISTRY_SECRET_MARKER
    ? { kind: "events_secret", registry: true }
    : { kind: "events_secret", binding: events.signing_secret };
}
