/**
 * The pure parts of the event relay (src/events): Standard Webhooks signing, checked with the
 * `standardwebhooks` package a tenant would use; delivery URLs; type filtering; payload shaping
 * (no client_secret or url ever); backoff; and the `events` block of the tenant config schema.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parseTenantConfig } from "../../src/config/schema.ts";
import { EVENTS_MAX_RETRIES, RETRY_MAX_DELAY_SECONDS, retryDelaySeconds } from "../../src/events/backoff.ts";
import { deliveryBody, eventMessage, parseStripeEvent } from "../../src/events/event-message.ts";
import { deliveryUrlProblem } from "../../src/events/delivery-rules.ts";
import { eventsSecretSource, wantsEventType } from "../../src/events/events-config.ts";
import { signDelivery, signingSecretProblem } from "../../src/events/signing.ts";

const SECRET = `whsec_${btoa("test-fake-events-secret-32-bytes")}`;
const OTHER = `whsec_${btoa("test-fake-other-secret-32-bytes!")}`;

const session = {
  id: "vs_1Test",
  object: "identity.verification_session",
  status: "verified",
  client_secret: "vs_1Test_secret_test_fake_abcdef",
  url: "https://verify.stripe.com/start/test_fake_abcdef",
  metadata: { order: "42" },
};

function stripeEvent(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: "evt_1Test",
    object: "event",
    type: "identity.verification_session.verified",
    created: 1_800_000_000,
    data: { object: session },
    ...overrides,
  });
}

describe("signDelivery", () => {
  it("produces a signature the standardwebhooks package accepts, for the exact id, timestamp and body", async () => {
    const body = '{"type":"identity.verification_session.verified"}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      "webhook-id": "evt_1Test",
      "webhook-timestamp": String(ts),
      "webhook-signature": await signDelivery(SECRET, "evt_1Test", ts, body),
    };
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    // Any change is refused: body, id, timestamp, secret.
    expect(() => new Webhook(SECRET).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(SECRET).verify(body, { ...headers, "webhook-id": "evt_2Other" })).toThrow();
    expect(() => new Webhook(SECRET).verify(body, { ...headers, "webhook-timestamp": String(ts + 1) })).toThrow();
    expect(() => new Webhook(OTHER).verify(body, headers)).toThrow();
  });

  it("refuses secrets that are not whsec_<base64> of 24-64 bytes, without echoing them", () => {
    expect(signingSecretProblem(SECRET)).toBeUndefined();
    for (const bad of [
      "",
      "whsec_",
      "whsec_not base64!",
      `whsec_${btoa("short")}`,
      btoa("x".repeat(32)),
      `whsec_${btoa("x".repeat(65))}`,
    ]) {
      const problem = signingSecretProblem(bad);
      expect(problem).toBeDefined();
      if (bad.length > 6) expect(problem).not.toContain(bad);
    }
  });
});

describe("deliveryUrlProblem", () => {
  it.each([
    ["https://backend.tenant.example/identity-events", undefined],
    ["http://localhost:8789/events", undefined],
    ["http://127.0.0.1/events", undefined],
    ["http://backend.tenant.example/events", "must be https (http only for localhost/127.0.0.1)"],
    ["http://localhost.evil.example/events", "must be https (http only for localhost/127.0.0.1)"],
    ["ftp://backend.tenant.example/", "must be https (http only for localhost/127.0.0.1)"],
    ["https://user:pass@backend.tenant.example/", "must not contain a user name or password"],
    ["https://backend.tenant.example/#x", "must not contain a fragment"],
    ["/relative", "must be an absolute URL"],
  ])("%s", (url, problem) => {
    expect(deliveryUrlProblem(url)).toBe(problem);
  });
});

describe("events config", () => {
  const base = { stripe: { secret_key: "STRIPE_KEY" }, verification: { session_types: ["document"] } };

  it("accepts the documented block, types optional", () => {
    const parsed = parseTenantConfig({
      ...base,
      events: { url: "https://backend.tenant.example/identity-events", signing_secret: "EVENTS_SECRET_ACME" },
    });
    expect(parsed.ok).toBe(true);
  });

  it.each([
    [{ url: "http://backend.tenant.example/", signing_secret: "S" }, "events.url", "must be https"],
    [{ url: "https://b.example/", signing_secret: "whsec+pasted/secret=" }, "events.signing_secret", "Worker secret"],
    [{ url: "https://b.example/", signing_secret: "S", types: ["identity.verification_session.verifed"] }, "events.types.0", ""],
    [{ url: "https://b.example/", signing_secret: "S", types: [] }, "events.types", "at least one"],
    [{ url: "https://b.example/", signing_secret: "S", retries: 3 }, "events.retries", "not a field"],
    [{ url: "https://b.example/" }, "events.signing_secret", ""],
  ])("refuses %j", (events, path, message) => {
    const parsed = parseTenantConfig({ ...base, events });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.issues.map((i) => i.path)).toContain(path);
    expect(parsed.issues.find((i) => i.path === path)?.message).toContain(message);
  });

  it("filters by type, defaulting to every verification-session event and nothing else", () => {
    const all = { url: "https://b.example/", signing_secret: "S" };
    expect(wantsEventType(all, "identity.verification_session.verified")).toBe(true);
    expect(wantsEventType(all, "identity.verification_session.redacted")).toBe(true);
    expect(wantsEventType(all, "charge.succeeded")).toBe(false);
    const some = { ...all, types: ["identity.verification_session.verified" as const] };
    expect(wantsEventType(some, "identity.verification_session.verified")).toBe(true);
    expect(wantsEventType(some, "identity.verification_session.requires_input")).toBe(false);
  });

  it('reads the secret from the named binding, or from the registry for "kv"', () => {
    expect(eventsSecretSource({ url: "https://b.example/", signing_secret: "EVENTS_ACME" })).toEqual({
      kind: "events_secret",
      binding: "EVENTS_ACME",
    });
    expect(eventsSecretSource({ url: "https://b.example/", signing_secret: "kv" })).toEqual({
      kind: "events_secret",
      registry: true,
    });
  });
});

describe("payload shaping", () => {
  it("queues and delivers the session without client_secret and url, in the Standard Webhooks body shape", () => {
    const event = parseStripeEvent(stripeEvent({ account: "acct_1Connected" }));
    expect(event).toMatchObject({ id: "evt_1Test", account: "acct_1Connected", created: 1_800_000_000 });
    if (!event) return;
    const message = eventMessage("acme", event);
    expect(JSON.stringify(message)).not.toMatch(/client_secret|verify\.stripe\.com/);
    const body = JSON.parse(deliveryBody(message));
    expect(body).toEqual({
      type: "identity.verification_session.verified",
      timestamp: "2027-01-15T08:00:00.000Z",
      data: {
        tenant: "acme",
        event_id: "evt_1Test",
        object: { id: "vs_1Test", object: "identity.verification_session", status: "verified", metadata: { order: "42" } },
      },
    });
    // A message from elsewhere (an older version, a replay) is stripped again on delivery.
    expect(deliveryBody({ ...message, object: session })).not.toMatch(/client_secret|verify\.stripe\.com/);
  });

  it("reads only Stripe events", () => {
    expect(parseStripeEvent("not json")).toBeUndefined();
    expect(parseStripeEvent(stripeEvent({ object: "charge" }))).toBeUndefined();
    expect(parseStripeEvent(stripeEvent({ id: "evt_bad id" }))).toBeUndefined();
    expect(parseStripeEvent(stripeEvent({ data: { object: "x" } }))).toBeUndefined();
    expect(parseStripeEvent(stripeEvent({ account: "not-an-account" }))).toBeUndefined();
  });
});

describe("retryDelaySeconds", () => {
  it("doubles from 30 s and stops at the cap; the whole schedule ends within a working day", () => {
    expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([30, 60, 120, 240]);
    expect(retryDelaySeconds(50)).toBe(RETRY_MAX_DELAY_SECONDS);
    expect(retryDelaySeconds(0)).toBe(30);
    let total = 0;
    for (let attempt = 1; attempt <= EVENTS_MAX_RETRIES; attempt++) total += retryDelaySeconds(attempt);
    expect(total).toBeGreaterThan(4 * 3600);
    expect(total).toBeLessThan(8 * 3600);
  });
});
