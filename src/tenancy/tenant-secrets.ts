import type { TenantConfig } from "../config/schema.ts";
import { type Env, readBinding } from "../env.ts";
import { INTERNAL_ERROR_MESSAGE, ProxyError } from "../errors.ts";
import { errorFields, type Logger } from "../log/logger.ts";
import { STORED_KEY_FAILURE_DETAIL, storedStripeKey } from "./registry-secrets.ts";

/** The shape of a Stripe secret or restricted key (the CLI checks keys it seals with it too). */
export const STRIPE_SECRET = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;

/**
 * The tenant's Stripe secret key: read from the binding its config names (`stripe.secret_key`), or,
 * with `stripe.secret_key_ref: "kv"`, opened from the tenant registry with the Worker's TENANT_KEK
 * (cached per isolate for the registry TTL). A missing or malformed key answers `tenant_misconfigured`
 * for this tenant only, and the log names the binding or the reason, never a value.
 */
export async function tenantSecretKey(
  tenantId: string,
  config: TenantConfig,
  env: Env,
  log: Logger,
  requestId: string,
  now: () => number = Date.now,
): Promise<string> {
  if (config.stripe.secret_key_ref === "kv") return registrySecretKey(tenantId, env, log, requestId, now);
  const name = config.stripe.secret_key ?? "";
  const value = readBinding(env, name);
  if (value === undefined || !STRIPE_SECRET.test(value)) {
    log.error("tenant_secret_missing", {
      request_id: requestId,
      tenant: tenantId,
      binding: name,
      detail: value === undefined ? "binding is not set" : "binding is not a Stripe secret or restricted key",
    });
    throw misconfigured();
  }
  return value;
}

async function registrySecretKey(tenantId: string, env: Env, log: Logger, requestId: string, now: () => number): Promise<string> {
  const kv = env.TENANT_REGISTRY;
  if (!kv) {
    log.error("tenant_secret_missing", {
      request_id: requestId,
      tenant: tenantId,
      binding: "TENANT_REGISTRY",
      detail: "secret_key_ref is kv but TENANT_REGISTRY is not bound",
    });
    throw misconfigured();
  }
  let stored: Awaited<ReturnType<typeof storedStripeKey>>;
  try {
    stored = await storedStripeKey(kv, env, tenantId, now());
  } catch (err) {
    log.error("tenant_registry_read_failed", { request_id: requestId, tenant: tenantId, ...errorFields(err) });
    throw new ProxyError("internal_error", INTERNAL_ERROR_MESSAGE);
  }
  if (!stored.ok) {
    log.error("tenant_secret_missing", {
      request_id: requestId,
      tenant: tenantId,
      binding: "TENANT_REGISTRY",
      detail: STORED_KEY_FAILURE_DETAIL[stored.reason],
    });
    throw misconfigured();
  }
  if (!STRIPE_SECRET.test(stored.key)) {
    log.error("tenant_secret_missing", {
      request_id: requestId,
      tenant: tenantId,
      binding: "TENANT_REGISTRY",
      detail: "the stored key is not a Stripe secret or restricted key",
    });
    throw misconfigured();
  }
  return stored.key;
}

export function misconfigured(): ProxyError {
  return new ProxyError(
    "tenant_misconfigured",
    "This tenant of the identity proxy is misconfigured. The operator has been notified in the logs.",
  );
}
