import type { TenantConfig } from "../config/schema.ts";
import type { SecretSource } from "../tenancy/secret-kinds.ts";
import { IDENTITY_EVENT_TYPES } from "./delivery-rules.ts";

/**
 * The tenant's `events` block, read side: which Stripe Identity events it receives, and where its
 * signing secret comes from. Pure. docs/events.md is the operator-facing contract.
 */

export type EventsConfig = NonNullable<TenantConfig["events"]>;

/** `signing_secret: "kv"` means the secret is sealed in the tenant registry, like the other `_ref: "kv"` secrets. */
export const REGISTRY_SECRET_MARKER = "kv";

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
