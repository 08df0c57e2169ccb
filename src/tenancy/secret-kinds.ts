/**
 * The four secrets a tenant can have, and what each needs. Every one can live in a Worker binding
 * named by the config (a handful of tenants) or sealed in the tenant registry (`..._ref: "kv"`; any
 * number of tenants: Workers allow 128 bindings in all). The Worker (reading and checking them) and
 * the operator CLI (checking and sealing them) both read this one table.
 */
import { signingSecretProblem } from "../events/signing.ts";

/** The shape of a Stripe secret or restricted key (the CLI checks keys it seals with it too). */
export const STRIPE_SECRET = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;

/** HMAC keys shorter than this are brute-forceable offline from any token they signed. */
export const MIN_HS256_SECRET_BYTES = 32;

export const SECRET_KINDS = ["stripe_key", "webhook_secret", "jwt_hs256_secret", "events_secret"] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/** What a sealed secret is bound to (part of its AAD): a value sealed for one kind never opens as another. */
export type SecretPurpose = "stripe_secret_key" | "webhook_secret" | "jwt_hs256_secret" | "events_signing_secret";

export interface SecretKindInfo {
  purpose: SecretPurpose;
  /** For messages: "the Stripe key of acme". */
  label: string;
  /** The operator CLI command that stores it. */
  command: string;
  /** Where a tenant config says "sealed in the registry" (and, beside it, the binding-name field). */
  refPath: string;
  bindingPath: string;
  /** Why a value cannot be used, or undefined when it can. Never echoes the value. */
  problem(value: string): string | undefined;
}

export const SECRET_KIND_INFO: Record<SecretKind, SecretKindInfo> = {
  stripe_key: {
    purpose: "stripe_secret_key",
    label: "Stripe key",
    command: "set-stripe-key",
    refPath: "stripe.secret_key_ref",
    bindingPath: "stripe.secret_key",
    problem: (value) => (STRIPE_SECRET.test(value) ? undefined : "is not a Stripe secret or restricted key (sk_/rk_)"),
  },
  webhook_secret: {
    purpose: "webhook_secret",
    label: "webhook signing secret",
    command: "set-webhook-secret",
    refPath: "stripe.webhook_secret_ref",
    bindingPath: "stripe.webhook_secret",
    problem: (value) => (value.length > 0 ? undefined : "is empty"),
  },
  jwt_hs256_secret: {
    purpose: "jwt_hs256_secret",
    label: "HS256 JWT secret",
    command: "set-jwt-secret",
    refPath: "browser.auth.hs256_secret_ref",
    bindingPath: "browser.auth.hs256_secret",
    problem: (value) =>
      new TextEncoder().encode(value).length >= MIN_HS256_SECRET_BYTES
        ? undefined
        : `is shorter than ${MIN_HS256_SECRET_BYTES} bytes`,
  },
  // Signs the deliveries of src/events to the tenant's backend. Its binding-name field and its "kv"
  // marker are the same field (`events.signing_secret`), so both paths name it.
  events_secret: {
    purpose: "events_signing_secret",
    label: "events signing secret",
    command: "set-events-secret",
    refPath: "events.signing_secret",
    bindingPath: "events.signing_secret",
    problem: signingSecretProblem,
  },
};

/** Where one tenant secret is read from, as its config says. */
export type SecretSource = { kind: SecretKind; binding: string } | { kind: SecretKind; registry: true };

/** Reads a dotted path (`stripe.secret_key_ref`) out of a raw config object. */
export function configValue(config: unknown, path: string): unknown {
  let at: unknown = config;
  for (const part of path.split(".")) {
    if (typeof at !== "object" || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** The kinds a (raw) config keeps sealed in the registry. */
export function registrySecretKinds(config: unknown): SecretKind[] {
  return SECRET_KINDS.filter((kind) => configValue(config, SECRET_KIND_INFO[kind].refPath) === "kv");
}
