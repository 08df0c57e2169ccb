import * as v from "valibot";
import { LIST_ITEM_SECRET_FIELDS } from "../stripe/list-view.ts";
import { TenantIdSchema } from "../config/schema.ts";

/**
 * What travels on the `EVENTS` queue, and what a tenant receives. Pure. The session object loses its
 * `client_secret` and `url` before it is queued (as in cached lists), so neither reaches the queue,
 * a dead letter or a tenant's backend: the backend needs the outcome, not a way into the session.
 */

/** The parts of a verified Stripe event the relay uses. */
export interface StripeEventFacts {
  id: string;
  type: string;
  /** Unix seconds when Stripe created the event. */
  created: number;
  /** The connected account the event is about (Connect platform endpoints only). */
  account?: string;
  object: Record<string, unknown>;
}

const StripeEventSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^evt_[A-Za-z0-9_]{1,250}$/)),
  object: v.literal("event"),
  type: v.pipe(v.string(), v.maxLength(200)),
  created: v.pipe(v.number(), v.integer(), v.minValue(0)),
  account: v.optional(v.pipe(v.string(), v.regex(/^acct_[A-Za-z0-9]{1,250}$/))),
  data: v.object({ object: v.record(v.string(), v.unknown()) }),
});

/** The facts of a Stripe event (signature already verified), or undefined when the JSON is not one. */
export function parseStripeEvent(payload: string): StripeEventFacts | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const parsed = v.safeParse(StripeEventSchema, raw);
  if (!parsed.success) return undefined;
  const { id, type, created, account, data } = parsed.output;
  return { id, type, created, ...(account ? { account } : {}), object: data.object };
}

/** Version 1 of the queue message; a message of another shape is dropped with a log, never delivered. */
export const EventMessageSchema = v.object({
  v: v.literal(1),
  tenant: TenantIdSchema,
  event_id: v.pipe(v.string(), v.regex(/^evt_[A-Za-z0-9_]{1,250}$/)),
  type: v.pipe(v.string(), v.maxLength(200)),
  created: v.pipe(v.number(), v.integer(), v.minValue(0)),
  object: v.record(v.string(), v.unknown()),
});
export type EventMessage = v.InferOutput<typeof EventMessageSchema>;

/** The object as a tenant may see it: without the session's secrets. */
export function withoutSessionSecrets(object: Record<string, unknown>): Record<string, unknown> {
  const out = { ...object };
  for (const field of LIST_ITEM_SECRET_FIELDS) delete out[field];
  return out;
}

/** The queue message for one tenant: the event's facts, the object already without its secrets. */
export function eventMessage(tenant: string, event: StripeEventFacts): EventMessage {
  return {
    v: 1,
    tenant,
    event_id: event.id,
    type: event.type,
    created: event.created,
    object: withoutSessionSecrets(event.object),
  };
}

/**
 * The body POSTed to the tenant (Standard Webhooks shape): `timestamp` is when Stripe created the
 * event (ISO 8601), the same on every attempt. The object is stripped again: a message written by an
 * older version or replayed from storage must not carry a secret either.
 */
export function deliveryBody(message: EventMessage): string {
  return JSON.stringify({
    type: message.type,
    timestamp: new Date(message.created * 1000).toISOString(),
    data: { tenant: message.tenant, event_id: message.event_id, object: withoutSessionSecrets(message.object) },
  });
}
