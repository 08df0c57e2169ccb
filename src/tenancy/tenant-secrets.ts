import type { BrowserAuthConfig, TenantConfig } from "../config/schema.ts";
import { type Env, readBinding } from "../env.ts";
import { INTERNAL_ERROR_MESSAGE, misconfigured, ProxyError } from "../errors.ts";
import { errorFields, type Logger } from "../log/logger.ts";
import { storedSecret, storedSecretFailureDetail } from "./registry-secrets.ts";
import { SECRET_KIND_INFO, type SecretSource } from "./secret-kinds.ts";
import { tenantSharingStripeKey } from "./stripe-credentials.ts";

/** A tenant secret, or why it cannot be had: `binding` names where it was looked for, never a value. */
export type SecretLookup =
  | { ok: true; value: string }
  | { ok: false; binding: string; detail: string; error?: unknown; readFailed?: true };

/**
 * One tenant secret from where its config says: a Worker binding by name, or sealed in the tenant
 * registry (`secret:{id}:{kind}`, opened with the Worker's TENANT_KEK, cached per isolate for the
 * registry TTL). Each kind's value is checked (secret-kinds.ts) before use. Never throws for a missing
 * or bad secret: the caller decides how the tenant answers (the API: `tenant_misconfigured`; the
 * webhook endpoint: the same 400 as a bad signature).
 */
export async function lookupTenantSecret(tenantId: string, source: SecretSource, env: Env, now: number): Promise<SecretLookup> {
  const info = SECRET_KIND_INFO[source.kind];
  let value: string;
  let binding: string;
  if ("binding" in source) {
    binding = source.binding;
    const bound = readBinding(env, binding);
    if (bound === undefined) return { ok: false, binding, detail: "binding is not set" };
    value = bound;
  } else {
    binding = "TENANT_REGISTRY";
    const kv = env.TENANT_REGISTRY;
    if (!kv) return { ok: false, binding, detail: `${info.refPath} is kv but TENANT_REGISTRY is not bound` };
    try {
      const stored = await storedSecret(kv, env, tenantId, source.kind, now);
      if (!stored.ok) return { ok: false, binding, detail: storedSecretFailureDetail(source.kind, stored.reason) };
      value = stored.value;
    } catch (error) {
      return { ok: false, binding, detail: "the tenant registry could not be read", error, readFailed: true };
    }
  }
  const problem = info.problem(value);
  return problem === undefined ? { ok: true, value } : { ok: false, binding, detail: `the ${info.label} ${problem}` };
}

/** Where the tenant's Stripe key is read from. */
export function stripeKeySource(config: TenantConfig): SecretSource {
  return config.stripe.secret_key_ref === "kv"
    ? { kind: "stripe_key", registry: true }
    : { kind: "stripe_key", binding: config.stripe.secret_key ?? "" };
}

/** Where the tenant's webhook signing secret is read from; undefined when it has none. */
export function webhookSecretSource(config: TenantConfig): SecretSource | undefined {
  if (config.stripe.webhook_secret_ref === "kv") return { kind: "webhook_secret", registry: true };
  return config.stripe.webhook_secret === undefined
    ? undefined
    : { kind: "webhook_secret", binding: config.stripe.webhook_secret };
}

/** Where an HS256 tenant's JWT secret is read from. */
export function jwtSecretSource(auth: Extract<BrowserAuthConfig, { type: "jwt" }>): SecretSource | undefined {
  if ("hs256_secret_ref" in auth) return { kind: "jwt_hs256_secret", registry: true };
  return "hs256_secret" in auth ? { kind: "jwt_hs256_secret", binding: auth.hs256_secret } : undefined;
}

/**
 * A secret the API path needs: a missing or unusable one answers `tenant_misconfigured` for this
 * tenant only (a registry that cannot be read: `internal_error`), and the log says where it looked.
 */
export async function requireTenantSecret(
  tenantId: string,
  source: SecretSource,
  env: Env,
  log: Logger,
  requestId: string,
  now: number,
): Promise<string> {
  const found = await lookupTenantSecret(tenantId, source, env, now);
  if (found.ok) return found.value;
  if (found.readFailed) {
    log.error("tenant_registry_read_failed", { request_id: requestId, tenant: tenantId, ...errorFields(found.error) });
    throw new ProxyError("internal_error", INTERNAL_ERROR_MESSAGE);
  }
  log.error("tenant_secret_missing", { request_id: requestId, tenant: tenantId, binding: found.binding, detail: found.detail });
  throw misconfigured();
}

/**
 * The tenant's Stripe secret key (see `requireTenantSecret`). A key that another tenant of
 * env.TENANTS also uses on the same account (`tenantSharingStripeKey`) answers `tenant_misconfigured`
 * and logs `tenant_stripe_credentials_shared`: the two tenants could read each other's sessions.
 */
export async function tenantSecretKey(
  tenantId: string,
  config: TenantConfig,
  env: Env,
  log: Logger,
  requestId: string,
  now: () => number = Date.now,
): Promise<string> {
  const key = await requireTenantSecret(tenantId, stripeKeySource(config), env, log, requestId, now());
  const other = tenantSharingStripeKey(tenantId, config, key, env);
  if (other !== undefined) {
    log.error("tenant_stripe_credentials_shared", {
      request_id: requestId,
      tenant: tenantId,
      detail: `tenant ${other} reaches the same Stripe account (${config.stripe.account ?? "no stripe.account"}) with the same key; give each its own key or its own stripe.account`,
    });
    throw misconfigured();
  }
  return key;
}
