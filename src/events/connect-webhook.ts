import { invalidateTenantLists } from "../cache/invalidation.ts";
import type { RequestState } from "../deps.ts";
import { readBinding } from "../env.ts";
import { INTERNAL_ERROR_MESSAGE, ProxyError } from "../errors.ts";
import { readBoundedText } from "../http/read-body.ts";
import { errorFields } from "../log/logger.ts";
import { tenantDirectory } from "../tenancy/directory.ts";
import { verifyStripeSignature } from "../webhooks/signature.ts";
import { decoySecret, describeFailure, MAX_WEBHOOK_BODY_BYTES, signatureInvalid } from "../routes/webhooks.ts";
import { tenantsForAccount } from "./connect-routing.ts";
import { parseStripeEvent } from "./event-message.ts";
import { enqueueTenantEvent } from "./producer.ts";

/** The binding holding the signing secret of the platform's Connect endpoint in Stripe. */
export const CONNECT_SECRET_BINDING = "STRIPE_CONNECT_WEBHOOK_SECRET";

const IDENTITY_EVENT_PREFIX = "identity.verification_session.";

const received = () => Response.json({ received: true }, { headers: { "Cache-Control": "no-store" } });

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
  if (!event.account || !event.type.startsWith(IDENTITY_EVENT_PREFIX)) {
    state.log.debug("webhook_ignored", { ...fields, detail: event.account ? "not an Identity event" : "no account" });
    return received();
  }
  const directory = tenantDirectory(state.env, state.log, state.requestId, state.deps.now);
  let tenants: Awaited<ReturnType<typeof tenantsForAccount>>;
  try {
    tenants = await tenantsForAccount(state.env, directory, event.account);
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
