import { newId } from "./ids.ts";
import type { JsonObject } from "./store.ts";

/**
 * Stripe events and their signed delivery. Deliveries run one after another on a single queue (so a
 * receiver sees `processing` before `verified`), never block the request that caused them, and are
 * awaitable through `flush()` for tests.
 */
export interface WebhookEndpoint {
  url: string;
  /** The endpoint's signing secret (`whsec_…`); its UTF-8 bytes are the HMAC key, as with Stripe. */
  secret: string;
}

export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  data: { object: JsonObject };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export interface WebhookDelivery {
  event: string;
  type: string;
  url: string;
  /** The receiver's HTTP status, or null when the request itself failed (see `error`). */
  status: number | null;
  error: string | null;
  /** Unix seconds, the `t` of the signature. */
  timestamp: number;
}

/** Stripe's `Stripe-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.payload")>`. */
export async function signPayload(secret: string, payload: string, timestamp: number): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${timestamp}.${payload}`)));
  const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${timestamp},v1=${hex}`;
}

export class WebhookSender {
  readonly events: StripeEvent[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  private queue: Promise<void> = Promise.resolve();
  /** Bumped by reset(): work queued before a reset is dropped instead of recorded. */
  private generation = 0;

  private readonly endpoints: readonly WebhookEndpoint[];
  private readonly send: (request: Request) => Promise<Response>;
  private readonly now: () => number;
  private readonly apiVersion: string;

  constructor(
    endpoints: readonly WebhookEndpoint[],
    send: (request: Request) => Promise<Response>,
    now: () => number,
    apiVersion: string,
  ) {
    this.endpoints = endpoints;
    this.send = send;
    this.now = now;
    this.apiVersion = apiVersion;
  }

  /** Records an event about `object` (already rendered, so later changes do not leak into it) and queues its delivery. */
  emit(type: string, object: JsonObject, request: StripeEvent["request"]): StripeEvent {
    const event: StripeEvent = {
      id: newId("evt"),
      object: "event",
      api_version: this.apiVersion,
      created: Math.floor(this.now() / 1000),
      data: { object },
      livemode: false,
      pending_webhooks: this.endpoints.length,
      request,
      type,
    };
    this.events.push(event);
    for (const endpoint of this.endpoints) this.schedule(() => this.deliver(event, endpoint));
    return event;
  }

  /** Queues work after everything already queued. A failing task never stops the queue. */
  schedule(task: () => void | Promise<void>): void {
    const generation = this.generation;
    this.queue = this.queue.then(async () => {
      if (generation !== this.generation) return;
      try {
        await task();
      } catch {
        // Background work must not take the stub down; deliveries record their own failures.
      }
    });
  }

  /** Resolves once everything queued so far (and anything it queued in turn) has run. */
  async flush(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  reset(): void {
    this.generation += 1;
    this.events.length = 0;
    this.deliveries.length = 0;
  }

  private async deliver(event: StripeEvent, endpoint: WebhookEndpoint): Promise<void> {
    const payload = JSON.stringify(event, null, 2);
    const timestamp = Math.floor(this.now() / 1000);
    const generation = this.generation;
    const record: WebhookDelivery = {
      event: event.id,
      type: event.type,
      url: endpoint.url,
      status: null,
      error: null,
      timestamp,
    };
    try {
      const response = await this.send(
        new Request(endpoint.url, {
          method: "POST",
          headers: {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": await signPayload(endpoint.secret, payload, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          },
          body: payload,
        }),
      );
      record.status = response.status;
      // Drain the body so keep-alive connections are released.
      await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      record.error = err instanceof Error ? `${err.name}: ${err.message}` : "delivery failed";
    }
    if (generation === this.generation) this.deliveries.push(record);
  }
}
