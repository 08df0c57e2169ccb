import { invalidateTenantLists } from "../cache/invalidation.ts";
import { TenantIdSchema } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { INTERNAL_ERROR_MESSAGE, ProxyError, signatureInvalid } from "../errors.ts";
import { tenantsForAccount } from "../events/connect-routing.ts";
import { parseStripeEvent } from "../events/event-message.ts";
import { enqueueTenantEvent } from "../events/producer.ts";
import { relayTenantEvent } from "../events/relay.ts";
import { readBinding } from "../env.ts";
import { readBoundedText } from "../http/read-body.ts";
import { errorFields } from "../log/logger.ts";
import { lookupTenantSecret, webhookSecretSource } from "../tenancy/tenant-secrets.ts";
import { type SignatureFailure, verifyStripeSignature } from "../webhooks/signature.ts";
import * as v from "valibot";

/** Identity events are a few KB; Stripe's largest events are well under this. */
const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

/** Events that change a tenant's sessions, and so its cached lists; the only ones the Connect endpoint relays. */
const SESSION_EVENT_PREFIX = "identity.verification_session.";

/** The binding holding the signing secret of the platform's Connect endpoint in Stripe. */
const CONNECT_SECRET_BINDING = "STRIPE_CONNECT_WEBHOOK_SECRET";

/** Stripe's acknowledgement of a delivery. */
const received = () => Response.json({ received: true }, { headers: { "Cache-Control": "no-store" } });

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
  if (type.startsWith(SESSION_EVENT_PREFIX)) invalidateTenantLists(tenantParam, state);
  else state.log.debug("webhook_ignored", { request_id: state.requestId, tenant: tenantParam, detail: type });
  // Acknowledged only once queued (src/events): a failed send answers 503 and Stripe redelivers.
  await relayTenantEvent(tenantParam, payload, state);
  return received();
}

/**
 * `POST /webhooks/stripe/connect`: the one endpoint a Connect platform registers with Stripe for its
 * connected accounts' events. Verified with STRIPE_CONNECT_WEBHOOK_SECRET (a bad delivery answers the
 * same 400 as the per-tenant endpoint), then routed by the event's `account` to the tenant whose
 * `stripe.account` it is: its list cache is invalidated and the event queued for its backend, before
 * Stripe gets its 200. Events no tenant can take are acknowledged (a retry would not change that)
 * and logged: no `account` (the platform's own events), an unknown account, or an account that
 * several tenants name (ambiguous: their caches are invalidated, nothing is relayed, an error is logged).
 */
export async function handleConnectWebhook(request: Request, state: RequestState): Promise<Response> {
  state.access.role = "webhook";
  state.access.operation = "webhook_connect";
  state.access.route = "/webhooks/stripe/connect";
  const payload = await readBoundedText(request.body, request.headers.get("content-length"), MAX_WEBHOOK_BODY_BYTES);
  const secret = readBinding(state.env, CONNECT_SECRET_BINDING);
  const verdict = await verifyStripeSignature({
    payload,
    header: request.headers.get("stripe-signature"),
    secret: secret ?? decoySecret(),
    nowSeconds: Math.floor(state.deps.now() / 1000),
  });
  if (secret === undefined) {
    state.log.error("webhook_secret_missing", { request_id: state.requestId, binding: CONNECT_SECRET_BINDING });
    throw signatureInvalid();
  }
  if (!verdict.ok) {
    state.log.warn("webhook_refused", { request_id: state.requestId, detail: describeFailure(verdict.reason) });
    throw signatureInvalid();
  }

  const event = parseStripeEvent(payload);
  if (!event) throw new ProxyError("parameter_invalid", "The webhook payload is not a Stripe event.");
  const fields = { request_id: state.requestId, event_id: event.id, event_type: event.type };
  if (!event.account || !event.type.startsWith(SESSION_EVENT_PREFIX)) {
    state.log.debug("webhook_ignored", { ...fields, detail: event.account ? "not an Identity event" : "no account" });
    return received();
  }
  let tenants: Awaited<ReturnType<typeof tenantsForAccount>>;
  try {
    tenants = await tenantsForAccount(state.env, state.tenants, event.account);
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    state.log.error("tenant_registry_read_failed", { ...fields, ...errorFields(err) });
    throw new ProxyError("internal_error", INTERNAL_ERROR_MESSAGE);
  }
  const [only] = tenants;
  if (!only) {
    state.log.warn("connect_account_unknown", { ...fields, detail: `no tenant has stripe.account ${event.account}` });
    return received();
  }
  for (const tenant of tenants) invalidateTenantLists(tenant.id, state);
  if (tenants.length > 1) {
    state.log.error("connect_account_ambiguous", {
      ...fields,
      detail: `tenants ${tenants.map((t) => t.id).join(", ")} all have stripe.account ${event.account}; not relayed`,
    });
    return received();
  }
  state.access.tenant = only.id;
  await enqueueTenantEvent(only.id, only.config, event, state);
  return received();
}

async function webhookSecretFor(tenantParam: string, state: RequestState): Promise<SecretLookup> {
  if (!v.is(TenantIdSchema, tenantParam)) return { ok: false, known: false, detail: "tenant id in the URL is malformed" };
  const tenant = await state.tenants.get(tenantParam);
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
function decoySecret(): string {
  decoy ??= `whsec_decoy_${crypto.randomUUID()}`;
  return decoy;
}

function describeFailure(reason: SignatureFailure): string {
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
