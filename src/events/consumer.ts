import * as v from "valibot";
import type { Deps } from "../deps.ts";
import type { Env } from "../env.ts";
import { createLogger, type EventFields, errorFields, type Logger } from "../log/logger.ts";
import { tenantDirectory } from "../tenancy/directory.ts";
import { lookupTenantSecret } from "../tenancy/tenant-secrets.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { deliveryBody, type EventMessage, EventMessageSchema } from "./event-message.ts";
import { eventsSecretSource, wantsEventType } from "./events-config.ts";
import { signDelivery } from "./signing.ts";
import { runtimeConfig } from "../config/runtime.ts";

/** A receiver that has not answered within this time counts as failed (the attempt is retried). */
export const DELIVERY_TIMEOUT_MS = 10_000;

export interface DeliveryOptions {
  /** Default DELIVERY_TIMEOUT_MS; tests shorten it. */
  timeoutMs?: number;
}

type Outcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; status: number; detail: string }
  | { kind: "dropped"; detail: string };

/**
 * The `EVENTS` queue consumer: each message is POSTed to its tenant's `events.url`, Standard Webhooks
 * style, and acknowledged on a 2xx; anything else (another status, a redirect, a timeout, a network
 * error, a tenant whose config or secret cannot be read right now) is retried with exponential
 * backoff until Queues moves it to the dead-letter queue. The tenant's config is read at delivery
 * time, so a changed url or secret applies to queued events; a removed tenant, or one that no longer
 * wants the event, drops it. Each attempt writes one log line: tenant, event id and type, status,
 * attempt, duration, outcome — never the payload, the url or the secret.
 */
export async function deliverEventBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  deps: Deps,
  options: DeliveryOptions = {},
): Promise<void> {
  const log = createLogger(runtimeConfig(env).logLevel, deps.logSink, deps.now);
  await Promise.all(batch.messages.map((message) => deliverMessage(message, env, deps, log, options)));
}

async function deliverMessage(message: Message<unknown>, env: Env, deps: Deps, log: Logger, options: DeliveryOptions) {
  const parsed = v.safeParse(EventMessageSchema, message.body);
  if (!parsed.success) {
    log.error("event_delivery", { attempt: message.attempts, outcome: "dropped", detail: "the queue message is not an event" });
    message.ack();
    return;
  }
  const event = parsed.output;
  const fields: EventFields = {
    tenant: event.tenant,
    event_id: event.event_id,
    event_type: event.type,
    attempt: message.attempts,
  };
  const started = deps.now();
  let outcome: Outcome;
  try {
    outcome = await attempt(event, message.id, env, deps, log, options);
  } catch (err) {
    // Nothing above should throw; if something does, the event is kept and retried.
    log.error("event_delivery_failed", { ...fields, ...errorFields(err) });
    outcome = { kind: "retry", status: 0, detail: "unexpected error" };
  }
  const line = { ...fields, duration_ms: deps.now() - started };
  switch (outcome.kind) {
    case "delivered":
      log.info("event_delivery", { ...line, status: outcome.status, outcome: "delivered" });
      message.ack();
      return;
    case "retry": {
      const delaySeconds = retryDelaySeconds(message.attempts);
      log.warn("event_delivery", {
        ...line,
        status: outcome.status,
        outcome: "retry",
        detail: `${outcome.detail}; next attempt in ${delaySeconds} s`,
      });
      message.retry({ delaySeconds });
      return;
    }
    case "dropped":
      log.warn("event_delivery", { ...line, outcome: "dropped", detail: outcome.detail });
      message.ack();
      return;
  }
}

async function attempt(
  event: EventMessage,
  messageId: string,
  env: Env,
  deps: Deps,
  log: Logger,
  options: DeliveryOptions,
): Promise<Outcome> {
  let record: Awaited<ReturnType<ReturnType<typeof tenantDirectory>["get"]>>;
  try {
    record = await tenantDirectory(env, log, `evq_${messageId}`, deps.now).get(event.tenant);
  } catch {
    return { kind: "retry", status: 0, detail: "the tenant config could not be read" }; // the directory logged why
  }
  if (!record) return { kind: "dropped", detail: "the tenant no longer exists" };
  if (!record.ok) return { kind: "retry", status: 0, detail: "the tenant config is invalid" };
  const events = record.config.events;
  if (!events) return { kind: "dropped", detail: "the tenant no longer has events configured" };
  if (!wantsEventType(events, event.type)) return { kind: "dropped", detail: "the tenant no longer wants this event type" };
  const secret = await lookupTenantSecret(event.tenant, eventsSecretSource(events), env, deps.now());
  if (!secret.ok) {
    log.error("tenant_secret_missing", { tenant: event.tenant, binding: secret.binding, detail: secret.detail });
    return { kind: "retry", status: 0, detail: "the events signing secret is not available" };
  }

  const body = deliveryBody(event);
  const timestamp = Math.floor(deps.now() / 1000);
  const request = new Request(events.url, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "identity-edge-events/1",
      "webhook-id": event.event_id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signDelivery(secret.value, event.event_id, timestamp, body),
    },
    body,
    // A redirect is a failure, never followed: the signed event goes to the configured url only.
    redirect: "manual",
    signal: AbortSignal.timeout(options.timeoutMs ?? DELIVERY_TIMEOUT_MS),
  });
  let response: Response;
  try {
    response = await deps.fetch(request);
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    return { kind: "retry", status: 0, detail: timedOut ? "no answer within the timeout" : "network error" };
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { kind: "delivered", status: response.status };
  return { kind: "retry", status: response.status, detail: `the receiver answered ${response.status}` };
}
