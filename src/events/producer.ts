import type { TenantConfig } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { queueUnavailable } from "../errors.ts";
import { errorFields } from "../log/logger.ts";
import { eventMessage, type StripeEventFacts } from "./event-message.ts";
import { wantsEventType } from "./events-config.ts";

/**
 * Puts a verified Stripe event on the `EVENTS` queue for one tenant, when the tenant has an `events`
 * block that wants its type; otherwise does nothing. Resolves only once the queue accepted it: the
 * webhook is acknowledged to Stripe after that, so an event is never both acknowledged and lost. A
 * missing binding or a failed send throws `event_queue_unavailable` (503; Stripe retries), the cause
 * going to the log only.
 */
export async function enqueueTenantEvent(
  tenantId: string,
  config: TenantConfig,
  event: StripeEventFacts,
  state: RequestState,
): Promise<void> {
  const events = config.events;
  if (!events || !wantsEventType(events, event.type)) return;
  const fields = { request_id: state.requestId, tenant: tenantId, event_id: event.id, event_type: event.type };
  const queue = state.env.EVENTS;
  if (!queue) {
    state.log.error("event_queue_unbound", { ...fields, binding: "EVENTS" });
    throw queueUnavailable();
  }
  try {
    await queue.send(eventMessage(tenantId, event), { contentType: "json" });
  } catch (err) {
    state.log.error("event_enqueue_failed", { ...fields, ...errorFields(err) });
    throw queueUnavailable();
  }
  state.log.debug("event_queued", { ...fields, outcome: "queued" });
}
