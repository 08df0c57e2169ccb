/**
 * The Worker's environment. Fixed bindings are declared here; the tenant config names further
 * bindings (Stripe keys, webhook secrets, JWT secrets) that are read by name, so a Worker secret, a
 * `.dev.vars` entry and `wrangler dev --var` all work the same.
 */
export interface Env {
  /** Tenant config: an object from `[vars]` or a JSON string from `.dev.vars` / a secret. */
  TENANTS?: unknown;
  /** Upstream base URL; default `https://api.stripe.com`. */
  STRIPE_API_BASE?: string;
  /** 32 random bytes, base64: the key the list cache derives per-tenant AES-GCM keys from. */
  CACHE_ENCRYPTION_KEY?: string;
  /** `debug` | `info` | `warn` | `error`; default `info`. */
  LOG_LEVEL?: string;
  /** List cache namespace. */
  LIST_CACHE?: KVNamespace;
  /** Serve the demo page and dev helpers (set only in local development). */
  DEV_MODE?: string;
  /** Tenant registry namespace (docs/tenants.md); optional: without it only TENANTS is served. */
  TENANT_REGISTRY?: KVNamespace;
  /** Key-encryption key for Stripe keys sealed in the registry: secret, base64 of 32 random bytes. */
  TENANT_KEK?: string;
  /** Id recorded with every key sealed under TENANT_KEK (e.g. `2026-11`), so the KEK can be rotated. */
  TENANT_KEK_ID?: string;
  /** During a KEK rotation: the previous KEK and its id, still accepted for opening. */
  TENANT_KEK_PREVIOUS?: string;
  TENANT_KEK_PREVIOUS_ID?: string;
  /** Rate Limiting binding for browser callers (per tenant and end user or client IP); optional. */
  RATE_LIMITER?: RateLimit;
  /** Rate Limiting binding for server callers (per tenant and proxy key); optional. */
  SERVER_RATE_LIMITER?: RateLimit;
  /** Queue of verified Stripe events to relay to tenants (src/events, docs/events.md); optional. */
  EVENTS?: Queue<unknown>;
  /** Where the dead-letter consumer keeps events it could not deliver (docs/events.md). */
  EVENTS_DEAD_LETTERS?: KVNamespace;
  /** Secret: operator key for the dead-letter admin endpoint; without it the endpoint does not exist. */
  EVENTS_ADMIN_KEY?: string;
  /** Secret: the signing secret of the Connect platform endpoint `/webhooks/stripe/connect`. */
  STRIPE_CONNECT_WEBHOOK_SECRET?: string;
  [binding: string]: unknown;
}

export const DEFAULT_STRIPE_API_BASE = "https://api.stripe.com";

/** Reads a string binding by name; anything that is not a non-empty string counts as missing. */
export function readBinding(env: Env, name: string): string | undefined {
  const value = env[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}
