/**
 * End to end under `wrangler dev` (Miniflare's local queues), as `npm start` runs it: a session the
 * person finishes on the stub's hosted page reaches the demo tenant's backend (dev/events-receiver.ts)
 * as Standard-Webhooks-signed events, verified with `standardwebhooks`, through the real EVENTS queue
 * and the Worker's own `queue` handler.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENTS_SECRET, DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET } from "../../dev/demo-tenant.ts";
import { type DevStack, startDevStack } from "../../dev/stack.ts";

let stack: DevStack;
let stripe: Stripe;
const clientSecrets: string[] = [];

beforeAll(async () => {
  stack = await startDevStack();
  const { port } = new URL(stack.proxyUrl);
  stripe = new Stripe(DEMO_PROXY_KEY, { host: "127.0.0.1", port: Number(port), protocol: "http", maxNetworkRetries: 0 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  const out = stack?.output() ?? "";
  for (const secret of [DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET, DEMO_EVENTS_SECRET, ...clientSecrets])
    expect(out.includes(secret), "a secret appeared in wrangler dev's output").toBe(false);
});

async function until<T>(read: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("events under wrangler dev", () => {
  it("delivers the verified outcome to the tenant's backend, signed, without the session's secrets", async () => {
    const session = await stripe.identity.verificationSessions.create({ type: "document" });
    if (session.client_secret) clientSecrets.push(session.client_secret);
    stack.stub.app.setOutcome(session.id, "verified");
    await stack.stub.app.flushWebhooks();
    const verified = await until(
      () => stack.events.received.find((e) => e.sessionId === session.id && e.type === "identity.verification_session.verified"),
      20_000,
    );
    expect(verified).toMatchObject({ status: "verified", verified: true });
    expect(verified.id).toMatch(/^evt_/);
    expect(verified.fields).toEqual(expect.arrayContaining(["id", "object", "status"]));
    expect(verified.fields).not.toContain("client_secret");
    expect(verified.fields).not.toContain("url");
    // Every relayed event of this session arrived once per webhook-id, each verified by the receiver.
    const mine = stack.events.received.filter((e) => e.sessionId === session.id);
    expect(mine.map((e) => e.type)).toEqual(
      expect.arrayContaining(["identity.verification_session.created", "identity.verification_session.verified"]),
    );
    // The Worker logs the attempt after the receiver answered: wait for wrangler to print it.
    const logged = await until(() => /"event":"event_delivery"[^\n]*"outcome":"delivered"/.exec(stack.output())?.[0], 10_000);
    expect(logged).toContain(`"tenant":"demo"`);
    expect(logged).not.toMatch(/127\.0\.0\.1|identity-events/); // the delivery URL is never logged
  }, 60_000);
});
