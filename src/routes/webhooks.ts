import { invalidateTenantLists } from "../cache/invalidation.ts";
import { TenantIdSchema } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { ProxyError } from "../errors.ts";
import { relayTenantEvent } from "../events/relay.ts";
import { readBoundedText } from "../http/read-body.ts";
import { tenantDirectory } from "../tenancy/directory.ts";
import { lookupTenantSecret, webhookSecretSource } from "../tenancy/tenant-secrets.ts";
import { type SignatureFailure, verifyStripeSignature } from "../webhooks/signature.ts";
import * as v from "valibot";

/** Identity events are a few KB; Stripe's largest events are well under this. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

/** Events that change a tenant's sessions, and so its cached lists. */
const INVALIDATING_EVENT_PREFIX = "identity.verification_session.";

/** The one refusal every unverifiable delivery gets, whatever the cause (Stripe's SDK wording). */
export function signatureInvalid(): ProxyError {
  return new ProxyError("signature_invalid", "No signatures found matching the expected signature for payload.");
}

type SecretLookup = { ok: true; secret: string } | { ok: false; detail: string; known: boolean; binding?: string };

/**
 * `POST /webhooks/stripe/{tenant_id}`: verifies the `Stripe-Signature` with the tenant's
 * `webhook_secret`, then lets `identity.verification_session.*` events invalidate the tenant's list
 * cache; other events are acknowledged and ignored. Answers 200 `{"received":true}`.
 *
 * Every delivery that cannot be verified answers the same 400 `signature_invalid`: bad, missing,
 * expired or tampered signatures, and also an unknown tenant or one without a webhook secret, so the
 * endpoint does not reveal which tenants exist (an HMAC under a throwaway secret keeps the work the
 * same). The real reason goes to the log. The body is read (bounded at 64 KiB) before the tenant is
 * looked up, for the same reason. Nothing changes unless the signature verifies.
 */
export async function handleStripeWebhook(tenantParam: string, request: Request, state: RequestState): Promise<Response> {
  state.access.role = "webhook";
  state.access.operation = "webhook";
  state.access.route = "/webhooks/stripe/{tenant_id}";
  const payload = await readBoundedText(request.body, request.headers.get("content-length"), MAX_WEBHOOK_BODY_BYTES);
  const lookup = await webhookSecretFor(tenantParam, state);
  if (lookup.ok || lookup.known) state.access.tenant = tenantParam;
  const verdict = await verifyStripeSignature({
    payload,
    header: request.headers.get("stripe-signature"),
    secret: lookup.ok ? lookup.secret : decoySecret(),
    nowSeconds: Math.floor(state.deps.now() / 1000),
  });
  if (!lookup.ok) {
    const fields = { request_id: state.requestId, detail: lookup.detail, ...(lookup.known ? { tenant: tenantParam } : {}) };
    if (lookup.binding) state.log.error("webhook_secret_missing", { ...fields, binding: lookup.binding });
    else state.log.warn("webhook_refused", fields);
    throw signatureInvalid();
  }
  if (!verdict.ok) {
    state.log.warn("webhook_refused", {
      request_id: state.requestId,
      tenant: tenantParam,
      detail: describeFailure(verdict.reason),
    });
    throw signatureInvalid();
  }

  const type = eventType(payload);
  if (type === undefined) throw new ProxyError("parameter_invalid", "The webhook payload is not a Stripe event.");
  if (type.startsWith(INVALIDATING_EVENT_PREFIX)) invalidateTenantLists(tenantParam, state);
  else state.log.debug("webhook_ignored", { request_id: state.requestId, tenant: tenantParam, detail: type });
  // Acknowledged only once queued (src/events): a failed send answers 503 and Stripe redelivers.
  await relayTenantEvent(tenantParam, payload, state);
  return Response.json({ received: true }, { headers: { "Cache-Control": "no-store" } });
}

async function webhookSecretFor(tenantParam: string, state: RequestState): Promise<SecretLookup> {
  if (!v.is(TenantIdSchema, tenantParam)) return { ok: false, known: false, detail: "tenant id in the URL is malformed" };
  const tenant = await tenantDirectory(state.env, state.log, state.requestId, state.deps.now).get(tenantParam);
  if (!tenant) return { ok: false, known: false, detail: "no such tenant" };
  if (!tenant.ok) return { ok: false, known: true, detail: "tenant config is invalid" };
  const source = webhookSecretSource(tenant.config);
  if (!source) return { ok: false, known: true, detail: "tenant has no stripe.webhook_secret configured" };
  const found = await lookupTenantSecret(tenantParam, source, state.env, state.deps.now());
  if (!found.ok) return { ok: false, known: true, detail: found.detail, binding: found.binding };
  return { ok: true, secret: found.value };
}

let decoy: string | undefined;
/** A random secret no delivery can match, so refusing an unknown tenant costs what refusing a bad signature does. */
export function decoySecret(): string {
  decoy ??= `whsec_decoy_${crypto.randomUUID()}`;
  return decoy;
}

export function describeFailure(reason: SignatureFailure): string {
  switch (reason) {
    case "missing_header":
      return "no Stripe-Signature header";
    case "malformed_header":
      return "Stripe-Signature has no single t written as digits without leading zeros";
    case "no_v1_signature":
      return "Stripe-Signature has no v1 signature";
    case "signature_mismatch":
      return "no v1 signature matches the payload";
    case "timestamp_out_of_tolerance":
      return "signature timestamp outside the 300 s tolerance";
  }
}

function eventType(payload: string): string | undefined {
  try {
    const event: unknown = JSON.parse(payload);
    if (typeof event !== "object" || event === null) return undefined;
    const { object, type } = event as { object?: unknown; type?: unknown };
    return object === "event" && typeof type === "string" ? type : undefined;
  } catch {
    return undefined;
  }
}
