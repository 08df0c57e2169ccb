/**
 * Events to tenants (src/events) through the real Worker code in workerd: a verified Stripe webhook is
 * acknowledged only once its event is queued; the Connect endpoint routes by account; the consumer
 * delivers Standard-Webhooks-signed POSTs (checked with the `standardwebhooks` package), retries with
 * backoff on 5xx / timeout / connection refused with the same webhook-id, and dead letters are stored
 * and replayed. No client_secret, url or secret reaches a payload or a log.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { beforeEach, describe, expect, it } from "vitest";
import { signPayload } from "../../dev/stub/webhooks.ts";
import { isolateCache } from "../../src/cache/isolate-state.ts";
import type { Deps } from "../../src/deps.ts";
import type { Env } from "../../src/env.ts";
import type { EventMessage } from "../../src/events/event-message.ts";
import { generateKekBase64, importKek, sealSecret } from "../../src/tenancy/key-encryption.ts";
import { secretKvKey } from "../../src/tenancy/registry-layout.ts";
import { DEFAULT_DEAD_LETTER_QUEUE, handleQueueBatch } from "../../src/events/queue-handler.ts";
import { createHarness, type Harness, PROXY_KEYS, SECRETS, testTenants, WEBHOOK_SECRETS } from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";

const EVENTS_SECRET = `whsec_${btoa("test-fake-events-acme-32-bytes!!")}`;
const CONNECT_SECRET = "whsec_test_fake_connect_platform_0123456789";
const ADMIN_KEY = "test-fake-events-admin-key-0123456789abcdef";
const RECEIVER = "https://backend.acme.test/identity-events";
const VERIFIED = "identity.verification_session.verified";
const SESSIONS = "/v1/identity/verification_sessions";
const DLQ_KV = (workerEnv as unknown as Env).EVENTS_DEAD_LETTERS as KVNamespace;

const SESSION_SECRET = "vs_1Events_secret_test_fake_0123456789";
const SESSION_URL = "https://verify.stripe.com/start/test_fake_0123456789";
const logs = useLogCapture({
  secrets: [...SECRETS, EVENTS_SECRET, CONNECT_SECRET, ADMIN_KEY, SESSION_SECRET, SESSION_URL],
});

beforeEach(async () => {
  const { keys } = await DLQ_KV.list();
  await Promise.all(keys.map((k) => DLQ_KV.delete(k.name)));
});

/** A queue binding that records what was sent, or fails every send. */
function fakeQueue(options: { fail?: boolean } = {}) {
  const sent: EventMessage[] = [];
  const binding = {
    async send(body: unknown) {
      // The failure names a secret, to prove the error text never reaches a response or a log.
      if (options.fail) throw new Error(`queue unavailable (${EVENTS_SECRET})`);
      sent.push(structuredClone(body) as EventMessage);
    },
    async sendBatch() {
      throw new Error("not used");
    },
  };
  return { sent, binding: binding as unknown as Queue<unknown> };
}

async function tenants(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const base = await testTenants();
  const acme = base.acme as Record<string, unknown>;
  return {
    ...base,
    acme: {
      ...acme,
      events: {
        url: RECEIVER,
        signing_secret: "EVENTS_SECRET_ACME",
        types: [VERIFIED, "identity.verification_session.requires_input"],
      },
    },
    ...extra,
  };
}

async function harness(
  options: { queue?: Queue<unknown>; tenants?: Record<string, unknown>; vars?: Record<string, unknown> } = {},
) {
  return createHarness({
    tenants: options.tenants ?? (await tenants()),
    listCache: true,
    vars: {
      EVENTS_SECRET_ACME: EVENTS_SECRET,
      STRIPE_CONNECT_WEBHOOK_SECRET: CONNECT_SECRET,
      EVENTS_ADMIN_KEY: ADMIN_KEY,
      ...(options.queue ? { EVENTS: options.queue } : {}),
      ...options.vars,
    },
  });
}

let counter = 0;
function stripeEvent(type: string, extra: Record<string, unknown> = {}): { id: string; payload: string } {
  const id = `evt_1Test${++counter}${crypto.randomUUID().slice(0, 8)}`;
  const payload = JSON.stringify({
    id,
    object: "event",
    api_version: "2026-07-29.dahlia",
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: "vs_1Events",
        object: "identity.verification_session",
        status: "verified",
        client_secret: SESSION_SECRET,
        url: SESSION_URL,
      },
    },
    livemode: false,
    type,
    ...extra,
  });
  return { id, payload };
}

async function deliver(h: Harness, path: string, payload: string, secret: string): Promise<Response> {
  const signature = await signPayload(secret, payload, Math.floor(Date.now() / 1000));
  return h.call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
    body: payload,
  });
}

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A tenant backend: answers each POST with the next behaviour ("ok", a status, "timeout", "refused"). */
function receiver(behaviours: ("ok" | number | "timeout" | "refused")[] = []) {
  const received: Received[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    received.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
    const next = behaviours.shift() ?? "ok";
    if (next === "refused") throw new TypeError("Network connection lost.");
    if (next === "timeout")
      return new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason)));
    return new Response(null, { status: next === "ok" ? 204 : next });
  };
  return { received, fetch };
}

function consumerDeps(fetch: (r: Request) => Promise<Response>): Deps {
  return { fetch, now: () => Date.now(), logSink: (line) => console.log(line) };
}

/**
 * Runs one batch of `message` (attempt number `attempts`) through the Worker's queue handler. The
 * result adds the delay of each retry (getQueueResult does not report it).
 */
async function consume(
  h: Harness,
  fetch: (r: Request) => Promise<Response>,
  message: EventMessage,
  attempts = 1,
  queue = "identity-edge-events",
) {
  const batch = createMessageBatch(queue, [{ id: `msg-${message.event_id}`, timestamp: Date.now(), attempts, body: message }]);
  const delays: (number | undefined)[] = [];
  const messages = batch.messages.map((m) => ({
    id: m.id,
    timestamp: m.timestamp,
    attempts: m.attempts,
    body: m.body,
    ack: () => m.ack(),
    retry: (options?: QueueRetryOptions) => {
      delays.push(options?.delaySeconds);
      m.retry(options);
    },
  }));
  const spied = {
    queue: batch.queue,
    messages,
    ackAll: () => batch.ackAll(),
    retryAll: (o?: QueueRetryOptions) => batch.retryAll(o),
  };
  const ctx = createExecutionContext();
  await handleQueueBatch(spied as unknown as MessageBatch<unknown>, h.env, consumerDeps(fetch), { timeoutMs: 50 });
  return { ...(await getQueueResult(batch, ctx)), delays };
}

function verify(delivery: Received | undefined): unknown {
  if (!delivery) throw new Error("no delivery");
  return new Webhook(EVENTS_SECRET).verify(delivery.body, delivery.headers);
}

async function queuedVerified(h: Harness, queue: ReturnType<typeof fakeQueue>): Promise<EventMessage> {
  const { payload } = stripeEvent(VERIFIED);
  expect((await deliver(h, "/webhooks/stripe/acme", payload, WEBHOOK_SECRETS.acme)).status).toBe(200);
  const message = queue.sent.at(-1);
  if (!message) throw new Error("nothing queued");
  return message;
}

describe("producer: the per-tenant webhook", () => {
  it("queues a wanted event before acknowledging, without client_secret or url, and still invalidates lists", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const { id, payload } = stripeEvent(VERIFIED);
    const before = isolateCache.generations.get("acme")?.generation;
    const res = await deliver(h, "/webhooks/stripe/acme", payload, WEBHOOK_SECRETS.acme);
    expect(res.status).toBe(200);
    expect(queue.sent).toEqual([
      {
        v: 1,
        tenant: "acme",
        event_id: id,
        type: VERIFIED,
        created: expect.any(Number),
        object: { id: "vs_1Events", object: "identity.verification_session", status: "verified" },
      },
    ]);
    expect(isolateCache.generations.get("acme")?.generation).not.toBe(before);
  });

  it("answers 503 (so Stripe retries) when the queue refuses the event, with no exception text", async () => {
    const h = await harness({ queue: fakeQueue({ fail: true }).binding });
    const res = await deliver(h, "/webhooks/stripe/acme", stripeEvent(VERIFIED).payload, WEBHOOK_SECRETS.acme);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("event_queue_unavailable");
    expect(body.error.message).not.toMatch(/queue unavailable|whsec/);
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "event_enqueue_failed", tenant: "acme" }));
  });

  it("answers 503 when a tenant wants events and EVENTS is not bound", async () => {
    const h = await harness({ vars: { EVENTS: undefined } });
    const res = await deliver(h, "/webhooks/stripe/acme", stripeEvent(VERIFIED).payload, WEBHOOK_SECRETS.acme);
    expect(res.status).toBe(503);
  });

  it("queues nothing for an unwanted type, a tenant without events, or a non-Identity event", async () => {
    const queue = fakeQueue({ fail: true }); // any send would turn the answer into a 503
    const noEvents = await testTenants();
    (noEvents.globex as { stripe: Record<string, unknown> }).stripe.webhook_secret = "STRIPE_WHSEC_ACME";
    const h = await harness({ queue: queue.binding, tenants: { ...(await tenants()), globex: noEvents.globex } });
    for (const type of ["identity.verification_session.processing", "charge.succeeded"])
      expect((await deliver(h, "/webhooks/stripe/acme", stripeEvent(type).payload, WEBHOOK_SECRETS.acme)).status).toBe(200);
    expect((await deliver(h, "/webhooks/stripe/globex", stripeEvent(VERIFIED).payload, WEBHOOK_SECRETS.acme)).status).toBe(200);
  });

  it("works with the real queue binding from wrangler.toml", async () => {
    const h = await harness();
    expect(typeof (h.env.EVENTS as Queue<unknown> | undefined)?.send).toBe("function");
    expect((await deliver(h, "/webhooks/stripe/acme", stripeEvent(VERIFIED).payload, WEBHOOK_SECRETS.acme)).status).toBe(200);
  });

  it("end to end: the stub's signed webhook becomes a signed delivery the tenant verifies", async () => {
    const queue = fakeQueue();
    const h = await createHarness({
      tenants: await tenants(),
      webhooks: ["acme"],
      vars: { EVENTS: queue.binding, EVENTS_SECRET_ACME: EVENTS_SECRET },
    });
    const created = (await (await h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme })).json()) as {
      id: string;
      client_secret: string;
      url: string;
    };
    logs.secret(created.client_secret, created.url);
    h.stub.setOutcome(created.id, "verified");
    await h.stub.flushWebhooks();
    expect(queue.sent.map((m) => m.type)).toEqual([VERIFIED]); // created/processing are not in acme's types
    const backend = receiver();
    const result = await consume(h, backend.fetch, queue.sent[0] as EventMessage);
    expect(result.explicitAcks).toHaveLength(1);
    const payload = verify(backend.received[0]) as {
      type: string;
      data: { tenant: string; object: { id: string; status: string } };
    };
    expect(payload).toMatchObject({ type: VERIFIED, data: { tenant: "acme", object: { id: created.id, status: "verified" } } });
    const sent = backend.received[0]?.body ?? "";
    expect(sent).not.toContain(created.client_secret);
    expect(sent).not.toContain("client_secret");
    expect(sent).not.toMatch(/"url"/);
  });
});

describe("producer: the Connect platform endpoint", () => {
  it("routes by account to the tenant whose stripe.account matches", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const { id, payload } = stripeEvent(VERIFIED, { account: "acct_1AcmeTest" });
    const res = await deliver(h, "/webhooks/stripe/connect", payload, CONNECT_SECRET);
    expect(res.status).toBe(200);
    expect(queue.sent.map((m) => [m.tenant, m.event_id])).toEqual([["acme", id]]);
  });

  it("refuses a delivery signed with a tenant's secret or unsigned, and changes nothing", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const { payload } = stripeEvent(VERIFIED, { account: "acct_1AcmeTest" });
    expect((await deliver(h, "/webhooks/stripe/connect", payload, WEBHOOK_SECRETS.acme)).status).toBe(400);
    const unsigned = await h.call("/webhooks/stripe/connect", { method: "POST", body: payload });
    expect(unsigned.status).toBe(400);
    expect(queue.sent).toEqual([]);
  });

  it("refuses everything when STRIPE_CONNECT_WEBHOOK_SECRET is not set", async () => {
    const h = await harness({ queue: fakeQueue().binding, vars: { STRIPE_CONNECT_WEBHOOK_SECRET: undefined } });
    const { payload } = stripeEvent(VERIFIED, { account: "acct_1AcmeTest" });
    expect((await deliver(h, "/webhooks/stripe/connect", payload, CONNECT_SECRET)).status).toBe(400);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ event: "webhook_secret_missing", binding: "STRIPE_CONNECT_WEBHOOK_SECRET" }),
    );
  });

  it("acknowledges an unknown account with a warning, so Stripe does not retry forever", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const res = await deliver(
      h,
      "/webhooks/stripe/connect",
      stripeEvent(VERIFIED, { account: "acct_1Nobody" }).payload,
      CONNECT_SECRET,
    );
    expect(res.status).toBe(200);
    expect(queue.sent).toEqual([]);
    expect(logs.records()).toContainEqual(expect.objectContaining({ level: "warn", event: "connect_account_unknown" }));
  });

  it("relays nothing when two tenants claim the account, and logs an error naming them", async () => {
    const queue = fakeQueue();
    const base = await tenants();
    // Another key on the same account (one key and account may serve only one tenant).
    const acme = base.acme as { stripe: Record<string, unknown> };
    const twin = {
      ...acme,
      hosts: ["twin.acme.test"],
      server_keys: [],
      stripe: { ...acme.stripe, secret_key: "STRIPE_KEY_GLOBEX" },
    };
    const h = await harness({ queue: queue.binding, tenants: { ...base, twin } });
    const res = await deliver(
      h,
      "/webhooks/stripe/connect",
      stripeEvent(VERIFIED, { account: "acct_1AcmeTest" }).payload,
      CONNECT_SECRET,
    );
    expect(res.status).toBe(200);
    expect(queue.sent).toEqual([]);
    const ambiguous = logs.records().find((r) => r.event === "connect_account_ambiguous");
    expect(ambiguous?.detail).toMatch(/acme, twin/);
  });

  it("routes to a registry tenant through the account index, confirmed by its config", async () => {
    const queue = fakeQueue();
    const registry = (workerEnv as unknown as Env).TENANT_REGISTRY as KVNamespace;
    const base = await tenants();
    const kvTenant = {
      ...(base.acme as Record<string, unknown>),
      hosts: ["kv.acme.test"],
      server_keys: [],
      stripe: { secret_key: "STRIPE_KEY_ACME", account: "acct_1KvTenant" },
    };
    await registry.put("tenant:kvco", JSON.stringify(kvTenant));
    await registry.put("account:acct_1KvTenant", JSON.stringify(["kvco"]));
    // A stale index entry that the named tenant's config does not confirm routes nowhere.
    await registry.put("account:acct_1Stale", JSON.stringify(["kvco"]));
    try {
      const h = await harness({ queue: queue.binding });
      const ok = stripeEvent(VERIFIED, { account: "acct_1KvTenant" });
      expect((await deliver(h, "/webhooks/stripe/connect", ok.payload, CONNECT_SECRET)).status).toBe(200);
      const stale = stripeEvent(VERIFIED, { account: "acct_1Stale" });
      expect((await deliver(h, "/webhooks/stripe/connect", stale.payload, CONNECT_SECRET)).status).toBe(200);
      expect(queue.sent.map((m) => [m.tenant, m.event_id])).toEqual([["kvco", ok.id]]);
    } finally {
      await Promise.all(["tenant:kvco", "account:acct_1KvTenant", "account:acct_1Stale"].map((k) => registry.delete(k)));
    }
  });
});

describe("consumer", () => {
  it("delivers once per 2xx, signed over the exact body, with the Stripe event id as webhook-id", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    const backend = receiver();
    const result = await consume(h, backend.fetch, message);
    expect(result.explicitAcks).toEqual([`msg-${message.event_id}`]);
    expect(result.retryMessages).toEqual([]);
    expect(backend.received[0]?.headers["webhook-id"]).toBe(message.event_id);
    expect(verify(backend.received[0])).toMatchObject({ type: VERIFIED, data: { event_id: message.event_id } });
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        event: "event_delivery",
        tenant: "acme",
        event_id: message.event_id,
        event_type: VERIFIED,
        status: 204,
        attempt: 1,
        outcome: "delivered",
        duration_ms: expect.any(Number),
      }),
    );
  });

  it.each([
    ["a 5xx", 503, 503],
    ["a 4xx", 400, 400],
    ["a redirect (never followed)", 302, 302],
    ["a timeout", "timeout", 0],
    ["connection refused", "refused", 0],
  ] as const)("retries on %s with backoff and the same webhook-id", async (_name, behaviour, status) => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    const backend = receiver([behaviour]);
    const result = await consume(h, backend.fetch, message, 3);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([`msg-${message.event_id}`]);
    expect(result.delays).toEqual([120]);
    expect(backend.received).toHaveLength(1);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ event: "event_delivery", outcome: "retry", status, attempt: 3 }),
    );
  });

  it("loses nothing across a receiver outage: retried until it recovers, every attempt with one webhook-id", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    const backend = receiver(["refused", 503, "timeout", 500]);
    const delays: (number | undefined)[] = [];
    let attempts = 0;
    for (;;) {
      attempts++;
      const result = await consume(h, backend.fetch, message, attempts);
      if (result.explicitAcks.length > 0) break;
      delays.push(...result.delays);
      expect(attempts).toBeLessThan(10);
    }
    expect(delays).toEqual([30, 60, 120, 240]);
    expect(backend.received).toHaveLength(5);
    expect(new Set(backend.received.map((r) => r.headers["webhook-id"]))).toEqual(new Set([message.event_id]));
    expect(verify(backend.received[4])).toMatchObject({ data: { event_id: message.event_id } });
  });

  it("reads the tenant at delivery time: a new url applies, a removed tenant or dropped type is acknowledged and logged", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    const moved = await tenants();
    (moved.acme as { events: { url: string } }).events.url = "https://new.acme.test/events";
    const backend = receiver();
    const h2 = await harness({ tenants: moved });
    await consume(h2, backend.fetch, message);
    expect(backend.received).toHaveLength(1);
    expect(verify(backend.received[0])).toBeDefined();

    const { acme: _gone, ...withoutAcme } = await tenants();
    const h3 = await harness({ tenants: withoutAcme });
    expect((await consume(h3, backend.fetch, message)).explicitAcks).toHaveLength(1);
    const narrowed = await tenants();
    (narrowed.acme as { events: { types: string[] } }).events.types = ["identity.verification_session.canceled"];
    const h4 = await harness({ tenants: narrowed });
    expect((await consume(h4, backend.fetch, message)).explicitAcks).toHaveLength(1);
    expect(backend.received).toHaveLength(1);
    expect(logs.records().filter((r) => r.event === "event_delivery" && r.outcome === "dropped")).toHaveLength(2);
  });

  it('signs with a secret sealed in the tenant registry (signing_secret: "kv"), opened under TENANT_KEK', async () => {
    const registry = (workerEnv as unknown as Env).TENANT_REGISTRY as KVNamespace;
    const kekBase64 = generateKekBase64();
    const kek = await importKek("test-events", kekBase64);
    const base = await tenants();
    const sealedCo = {
      ...(base.acme as Record<string, unknown>),
      hosts: ["sealed.acme.test"],
      server_keys: [],
      events: { url: RECEIVER, signing_secret: "kv" },
    };
    await registry.put("tenant:sealedco", JSON.stringify(sealedCo));
    await registry.put(
      secretKvKey("sealedco", "events_secret"),
      JSON.stringify(await sealSecret(EVENTS_SECRET, { tenant: "sealedco", purpose: "events_signing_secret" }, kek)),
    );
    try {
      const h = await harness({ vars: { TENANT_KEK: kekBase64, TENANT_KEK_ID: "test-events" } });
      const message: EventMessage = {
        v: 1,
        tenant: "sealedco",
        event_id: "evt_1Sealed",
        type: VERIFIED,
        created: 1_800_000_000,
        object: { id: "vs_1S" },
      };
      const backend = receiver();
      expect((await consume(h, backend.fetch, message)).explicitAcks).toHaveLength(1);
      expect(verify(backend.received[0])).toMatchObject({ data: { tenant: "sealedco", event_id: "evt_1Sealed" } });
    } finally {
      await Promise.all(["tenant:sealedco", secretKvKey("sealedco", "events_secret")].map((k) => registry.delete(k)));
    }
  });

  it("retries (never delivers unsigned) while the signing secret is missing", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    const h2 = await harness({ vars: { EVENTS_SECRET_ACME: undefined } });
    const backend = receiver();
    const result = await consume(h2, backend.fetch, message);
    expect(result.retryMessages).toHaveLength(1);
    expect(backend.received).toEqual([]);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ event: "tenant_secret_missing", binding: "EVENTS_SECRET_ACME" }),
    );
  });

  it("drops a message that is not an event, with a log", async () => {
    const h = await harness();
    const batch = createMessageBatch("identity-edge-events", [
      { id: "m1", timestamp: Date.now(), attempts: 1, body: { hello: 1 } },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, h.env, consumerDeps(receiver().fetch));
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
  });
});

describe("dead letters", () => {
  const admin = (h: Harness, path: string, method = "GET", key = ADMIN_KEY) =>
    h.call(path, { method, headers: { Authorization: `Bearer ${key}` } });

  async function deadLetter(h: Harness, message: EventMessage): Promise<void> {
    const result = await consume(h, receiver().fetch, message, 11, DEFAULT_DEAD_LETTER_QUEUE);
    expect(result.explicitAcks).toHaveLength(1);
  }

  it("are stored sealed (no payload in clear), listed, and replayed with the same webhook-id", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding });
    const message = await queuedVerified(h, queue);
    await deadLetter(h, message);
    const stored = await DLQ_KV.get(`dead:acme:${message.event_id}`);
    expect(stored).not.toBeNull();
    expect(stored).not.toContain("vs_1Events");

    const listed = (await (await admin(h, "/admin/events/dead-letters?tenant=acme")).json()) as { data: { event_id: string }[] };
    expect(listed.data).toEqual([
      expect.objectContaining({ tenant: "acme", event_id: message.event_id, type: VERIFIED, attempts: 11, replayable: true }),
    ]);
    expect(((await (await admin(h, "/admin/events/dead-letters?tenant=globex")).json()) as { data: unknown[] }).data).toEqual([]);

    queue.sent.length = 0;
    const replay = (await (await admin(h, "/admin/events/dead-letters/replay", "POST")).json()) as { replayed: string[] };
    expect(replay.replayed).toEqual([message.event_id]);
    expect(queue.sent).toEqual([message]);
    expect(await DLQ_KV.get(`dead:acme:${message.event_id}`)).toBeNull();

    const backend = receiver();
    await consume(h, backend.fetch, queue.sent[0] as EventMessage);
    expect(backend.received[0]?.headers["webhook-id"]).toBe(message.event_id);
    expect(verify(backend.received[0])).toMatchObject({ data: { object: { id: "vs_1Events" } } });
  });

  it("without CACHE_ENCRYPTION_KEY keep only the summary, and are not replayed", async () => {
    const queue = fakeQueue();
    const h = await harness({ queue: queue.binding, vars: { CACHE_ENCRYPTION_KEY: undefined } });
    const message = await queuedVerified(h, queue);
    await deadLetter(h, message);
    queue.sent.length = 0;
    const replay = (await (await admin(h, "/admin/events/dead-letters/replay", "POST")).json()) as {
      skipped: { reason: string }[];
    };
    expect(replay.skipped).toEqual([
      expect.objectContaining({ event_id: message.event_id, reason: "stored without its payload" }),
    ]);
    expect(queue.sent).toEqual([]);
  });

  it("the admin endpoint: 404 without EVENTS_ADMIN_KEY, 401 for a wrong key, 400 for a bad tenant", async () => {
    const off = await harness({ vars: { EVENTS_ADMIN_KEY: undefined } });
    expect((await admin(off, "/admin/events/dead-letters")).status).toBe(404);
    const h = await harness();
    expect((await admin(h, "/admin/events/dead-letters", "GET", "wrong")).status).toBe(401);
    expect((await h.call("/admin/events/dead-letters")).status).toBe(401);
    expect((await admin(h, "/admin/events/dead-letters?tenant=../x")).status).toBe(400);
    expect((await admin(h, "/admin/events/dead-letters/replay", "GET")).status).toBe(404);
    expect((await admin(h, "/admin/events/dead-lettersx")).status).toBe(404);
  });
});
