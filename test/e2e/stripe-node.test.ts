/**
 * End to end: the real `wrangler dev` serving the proxy, the Stripe stub over real HTTP, and
 * stripe-node 23 pointed at the proxy with a proxy key, as a tenant's backend would use it.
 */
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET } from "../../dev/demo-tenant.ts";
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
  // Whatever the Worker logged (wrangler dev prints it) holds none of the secrets used here.
  const out = stack?.output() ?? "";
  for (const secret of [DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET, ...clientSecrets]) {
    expect(out.includes(secret), "a secret appeared in wrangler dev's output").toBe(false);
  }
});

describe("stripe-node through the proxy", () => {
  it("creates a session with the tenant's policy applied", async () => {
    const session = await stripe.identity.verificationSessions.create({ type: "document" });
    if (session.client_secret) clientSecrets.push(session.client_secret);
    expect(session.id).toMatch(/^vs_/);
    expect(session.status).toBe("requires_input");
    expect(session.options?.document).toMatchObject({
      allowed_types: ["passport", "id_card", "driving_license"],
      require_live_capture: true,
    });
    // The stub saw the demo tenant's Stripe key, never the proxy key.
    const seen = stack.stub.app.requests.at(-1);
    expect(seen?.headers.authorization).toBe(`Bearer ${DEMO_STRIPE_KEY}`);
  });

  it("retrieves, updates, cancels and redacts", async () => {
    const created = await stripe.identity.verificationSessions.create({ type: "document", metadata: { order: "o_1" } });
    if (created.client_secret) clientSecrets.push(created.client_secret);
    const retrieved = await stripe.identity.verificationSessions.retrieve(created.id);
    expect(retrieved.id).toBe(created.id);
    const updated = await stripe.identity.verificationSessions.update(created.id, { metadata: { order: "o_2" } });
    expect(updated.metadata).toEqual({ order: "o_2" });
    const canceled = await stripe.identity.verificationSessions.cancel(created.id);
    expect(canceled.status).toBe("canceled");

    const other = await stripe.identity.verificationSessions.create({ type: "id_number" });
    if (other.client_secret) clientSecrets.push(other.client_secret);
    const redacted = await stripe.identity.verificationSessions.redact(other.id);
    expect(redacted.redaction?.status).toMatch(/processing|redacted/);
  });

  it("auto-paginates a list over several pages, without client secrets", async () => {
    for (let i = 0; i < 23; i++) {
      const s = await stripe.identity.verificationSessions.create({ type: "document" });
      if (s.client_secret) clientSecrets.push(s.client_secret);
    }
    const ids = new Set<string>();
    for await (const s of stripe.identity.verificationSessions.list({ limit: 10 })) {
      expect(s.client_secret ?? null).toBeNull();
      expect(s.url ?? null).toBeNull();
      ids.add(s.id);
    }
    expect(ids.size).toBeGreaterThanOrEqual(25);
  });

  it("lists reports", async () => {
    const reports = await stripe.identity.verificationReports.list({ limit: 3 });
    expect(reports.object).toBe("list");
  });

  it("maps an unknown parameter to StripeInvalidRequestError with its param", async () => {
    const err = await stripe.identity.verificationSessions
      .create({
        type: "document",
        options: { document: { allowed_types: ["passport"] } },
        bogus: "x",
      } as Stripe.Identity.VerificationSessionCreateParams)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((err as Stripe.errors.StripeInvalidRequestError).param).toBe("bogus");
    expect((err as Stripe.errors.StripeInvalidRequestError).code).toBe("parameter_unknown");
  });

  it("maps a policy refusal to StripeInvalidRequestError with the offending param", async () => {
    const err = await stripe.identity.verificationSessions
      .create({ type: "document", options: { document: { require_live_capture: false } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((err as Stripe.errors.StripeInvalidRequestError).code).toBe("policy_violation");
    expect((err as Stripe.errors.StripeInvalidRequestError).param).toBe("options[document][require_live_capture]");
  });

  it("maps a bad key to StripeAuthenticationError", async () => {
    const { port } = new URL(stack.proxyUrl);
    const bad = new Stripe(`iek_${"x".repeat(43)}`, {
      host: "127.0.0.1",
      port: Number(port),
      protocol: "http",
      maxNetworkRetries: 0,
    });
    await expect(bad.identity.verificationSessions.list()).rejects.toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
  });

  it("maps a missing session to StripeInvalidRequestError (404 passes through from Stripe)", async () => {
    const err = await stripe.identity.verificationSessions.retrieve("vs_doesnotexist000").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((err as Stripe.errors.StripeInvalidRequestError).statusCode).toBe(404);
  });
});
