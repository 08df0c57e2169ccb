import type { RequestState } from "../deps.ts";
import { parseStripeEvent } from "./event-message.ts";
import { enqueueTenantEvent } from "./producer.ts";

/**
 * The per-tenant webhook's relay step (`/webhooks/stripe/{tenant_id}`, after the signature verified):
 * queues the event for the tenant's backend when its config asks for it. The tenant is read through
 * the directory again (a cache hit: the signature check just read it). Throws
 * `event_queue_unavailable` when the event should be relayed but cannot be queued.
 */
export async function relayTenantEvent(tenantId: string, payload: string, state: RequestState): Promise<void> {
  const event = parseStripeEvent(payload);
  if (!event) return;
  const tenant = await state.tenants.get(tenantId);
  if (!tenant?.ok) return;
  await enqueueTenantEvent(tenantId, tenant.config, event, state);
}
