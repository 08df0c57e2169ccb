/**
 * `POST /webhooks/stripe/{tenant_id}`: Stripe-signed Identity events invalidate the tenant's cached
 * lists; anything unverifiable answers 400 and changes nothing, without revealing which tenants exist.
 */
import { env as workerEnv } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { signPayload } from "../../dev/stub/webhooks.ts";
import { resetIsolateCaches } from "../../src/isolate-cache.ts";
import type { Env } from "../../src/env.ts";
import { createHarness, type Harness, PROXY_KEYS, SECRETS, WEBHOOK_SECRETS } from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const KV = (workerEnv as unknown as Env).LIST_CACHE as KVNamespace;
const OTHER_SECRET = "whsec_test_fake_attacker_0123456789";
const logs = useLogCapture({ secrets: [...SECRETS, OTHER_SECRET] });

beforeEach(async () => {
  resetIsolateCaches();
  const { keys } = await KV.list();
  await Promise.all(keys.map((k) => KV.delete(k.name)));
});

const listCalls = (h: Harness) => h.stub.requests.filter((r) => r.method === "GET" && r.path === SESSIONS).length;

async function listCache(h: Harness): Promise<string | null> {
  const res = await h.call(SESSIONS, { key: PROXY_KEYS.acme });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get("x-cache");
}

function event(type: string, id = "vs_1webhooktest"): string {
  return JSON.stringify({
    id: `evt_${crypto.randomUUID().replace(/-/g, "")}`,
    object: "event",
    api_version: "2026-07-29.dahlia",
    created: Math.floor(Date.now() / 1000),
    data: { object: { id, object: "identity.verification_session", status: "verified" } },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  });
}

async function deliver(h: Harness, payload: string, signature: string | null, tenant = "acme"): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8" };
  if (signature !== null) headers["Stripe-Signature"] = signature;
  return h.call(`/webhooks/stripe/${tenant}`, { method: "POST", headers, body: payload });
}

const now = () => Math.floor(Date.now() / 1000);

/** A cached list for acme, so an invalidation shows as the next list being a MISS. */
async function warm(h: Harness): Promise<void> {
  await listCache(h);
  expect(await listCache(h)).toBe("HIT");
}

describe("signed Identity events invalidate", () => {
  it("the stub's own signed deliveries drive invalidation end to end", async () => {
    const h = await createHarness({ listCache: true, webhooks: ["acme"] });
    const created = await h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme });
    const session = (await created.json()) as { id: string; client_secret: string; url: string };
    logs.secret(session.client_secret, session.url);
    await h.stub.flushWebhooks(); // identity.verification_session.created
    await warm(h);

    h.stub.setOutcome(session.id, "verified"); // the person finishes on the hosted page: Stripe-side change
    await h.stub.flushWebhooks();
    const deliveries = h.stub.webhookDeliveries.filter((d) => d.type !== "identity.verification_session.created");
    expect(deliveries.map((d) => d.type)).toEqual([
      "identity.verification_session.processing",
      "identity.verification_session.verified",
    ]);
    expect(deliveries.every((d) => d.status === 200)).toBe(true);

    const res = await h.call(SESSIONS, { key: PROXY_KEYS.acme });
    expect(res.headers.get("x-cache")).toBe("MISS");
    expect(await res.text()).toContain('"verified"');
    expect(listCalls(h)).toBe(2);
    const access = logs.records().filter((r) => r.event === "request" && r.operation === "webhook");
    expect(access.length).toBeGreaterThanOrEqual(3);
    expect(access.every((r) => r.tenant === "acme" && r.role === "webhook" && r.status === 200)).toBe(true);
  });

  it.each([
    "identity.verification_session.created",
    "identity.verification_session.processing",
    "identity.verification_session.verified",
    "identity.verification_session.requires_input",
    "identity.verification_session.canceled",
    "identity.verification_session.redacted",
  ])("%s invalidates the tenant's lists", async (type) => {
    const h = await createHarness({ listCache: true });
    await warm(h);
    const payload = event(type);
    const res = await deliver(h, payload, await signPayload(WEBHOOK_SECRETS.acme, payload, now()));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await listCache(h)).toBe("MISS");
  });

  it("other events are acknowledged and ignored", async () => {
    const h = await createHarness({ listCache: true });
    await warm(h);
    for (const type of ["charge.succeeded", "identity.verification_report.created", "identity.verification_sessionx.created"]) {
      const payload = event(type);
      const res = await deliver(h, payload, await signPayload(WEBHOOK_SECRETS.acme, payload, now()));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true });
    }
    expect(await listCache(h)).toBe("HIT");
    expect(await KV.get("gen:acme")).toBeNull();
  });

  it("several v1 signatures (a secret being rolled) are accepted when one matches", async () => {
    const h = await createHarness({ listCache: true });
    await warm(h);
    const payload = event("identity.verification_session.canceled");
    const t = now();
    const good = (await signPayload(WEBHOOK_SECRETS.acme, payload, t)).split("v1=")[1];
    const other = (await signPayload(OTHER_SECRET, payload, t)).split("v1=")[1];
    const res = await deliver(h, payload, `t=${t},v1=${other},v1=${good},v0=${other}`);
    expect(res.status).toBe(200);
    expect(await listCache(h)).toBe("MISS");
  });
});

describe("unverifiable deliveries answer 400 and change nothing", () => {
  const cases: [string, (payload: string) => Promise<{ payload: string; signature: string | null }>][] = [
    ["missing signature", async (payload) => ({ payload, signature: null })],
    ["empty signature", async (payload) => ({ payload, signature: "" })],
    ["malformed signature", async (payload) => ({ payload, signature: "garbage" })],
    ["wrong secret", async (payload) => ({ payload, signature: await signPayload(OTHER_SECRET, payload, now()) })],
    [
      "tampered payload",
      async (payload) => ({
        payload: payload.replace("verified", "canceled"),
        signature: await signPayload(WEBHOOK_SECRETS.acme, payload, now()),
      }),
    ],
    [
      "replayed, older than 300 s",
      async (payload) => ({ payload, signature: await signPayload(WEBHOOK_SECRETS.acme, payload, now() - 301) }),
    ],
    [
      "timestamp from the future",
      async (payload) => ({ payload, signature: await signPayload(WEBHOOK_SECRETS.acme, payload, now() + 3600) }),
    ],
    [
      "old signature with a fresh timestamp",
      async (payload) => {
        const old = await signPayload(WEBHOOK_SECRETS.acme, payload, now() - 3600);
        return { payload, signature: old.replace(/^t=\d+/, `t=${now()}`) };
      },
    ],
    [
      "v0 only",
      async (payload) => ({
        payload,
        signature: (await signPayload(WEBHOOK_SECRETS.acme, payload, now())).replace("v1=", "v0="),
      }),
    ],
  ];

  it.each(cases)("%s", async (_name, make) => {
    const h = await createHarness({ listCache: true });
    await warm(h);
    const { payload, signature } = await make(event("identity.verification_session.verified"));
    const res = await deliver(h, payload, signature);
    expect(res.status).toBe(400);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "signature_invalid", type: "invalid_request_error" });
    expect(await listCache(h)).toBe("HIT");
    expect(await KV.get("gen:acme")).toBeNull();
    expect(logs.records().some((r) => r.event === "webhook_refused" && r.tenant === "acme")).toBe(true);
  });

  it("unknown tenants, tenants without a webhook secret and malformed ids get the very same answer", async () => {
    const h = await createHarness({ listCache: true });
    const payload = event("identity.verification_session.verified");
    const signature = await signPayload(WEBHOOK_SECRETS.acme, payload, now());
    const bad = await deliver(h, payload, await signPayload(OTHER_SECRET, payload, now()), "acme");
    const expected = { status: bad.status, body: await bad.text() };
    expect(expected.status).toBe(400);
    for (const tenant of ["nosuchtenant", "globex", "Bad..Id", "ACME", "a%20b", "a".repeat(200)]) {
      const res = await deliver(h, payload, signature, tenant);
      expect({ status: res.status, body: await res.text() }, tenant).toEqual(expected);
    }
    const refusals = logs.records().filter((r) => r.event === "webhook_refused");
    expect(refusals.find((r) => r.detail === "no such tenant")).not.toHaveProperty("tenant");
    expect(refusals.find((r) => r.tenant === "globex")?.detail).toContain("no stripe.webhook_secret");
  });

  it("a tenant whose webhook secret binding is missing answers the same, and the operator is told which binding", async () => {
    const h = await createHarness({ listCache: true, vars: { STRIPE_WHSEC_ACME: undefined } });
    await warm(h);
    const payload = event("identity.verification_session.verified");
    const res = await deliver(h, payload, await signPayload(WEBHOOK_SECRETS.acme, payload, now()));
    expect(res.status).toBe(400);
    expect(await listCache(h)).toBe("HIT");
    expect(logs.records().find((r) => r.event === "webhook_secret_missing")).toMatchObject({
      tenant: "acme",
      binding: "STRIPE_WHSEC_ACME",
    });
  });

  it("bodies over 64 KiB are refused (413) before anything else", async () => {
    const h = await createHarness({ listCache: true });
    const payload = JSON.stringify({ object: "event", type: "identity.verification_session.verified", pad: "x".repeat(70_000) });
    const res = await deliver(h, payload, await signPayload(WEBHOOK_SECRETS.acme, payload, now()));
    expect(res.status).toBe(413);
  });

  it("a correctly signed body that is not an event is refused", async () => {
    const h = await createHarness({ listCache: true });
    await warm(h);
    for (const payload of ["not json", "[]", '{"type":"identity.verification_session.verified"}']) {
      const res = await deliver(h, payload, await signPayload(WEBHOOK_SECRETS.acme, payload, now()));
      expect(res.status).toBe(400);
    }
    expect(await listCache(h)).toBe("HIT");
  });

  it("only POST is served", async () => {
    const h = await createHarness();
    expect((await h.call("/webhooks/stripe/acme")).status).toBe(404);
  });
});
