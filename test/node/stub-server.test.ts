/**
 * The stub over real HTTP on 127.0.0.1 (dev/stub/server.ts): requests and control endpoints, faults
 * that really drop the socket, signed webhooks to a real receiver, and stripe-node as a client.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type StubServer, startStubServer } from "../../dev/stub/server.ts";
import { readJson } from "../helpers/stub-client.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const KEY = "sk_test_fake_stub_server";
const WEBHOOK_SECRET = "whsec_fake_stub_server";

let server: StubServer;
let receiver: Server;
const received: { signature: string; payload: string }[] = [];

const auth = { Authorization: `Bearer ${KEY}` };
const form = { ...auth, "Content-Type": "application/x-www-form-urlencoded" };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let payload = "";
    req.on("data", (c: Buffer) => {
      payload += c.toString("utf8");
    });
    req.on("end", () => {
      received.push({ signature: String(req.headers["stripe-signature"]), payload });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe/demo`;
  server = await startStubServer({ port: 0, host: "127.0.0.1", webhooks: [{ url: hook, secret: WEBHOOK_SECRET }] });
});

afterEach(() => {
  server.app.reset();
  received.length = 0;
});

afterAll(async () => {
  await server.close();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe("the Node server", () => {
  it("listens on 127.0.0.1 and serves the API with session urls on its own origin", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}${SESSIONS}`, { method: "POST", headers: form, body: "type=document" });
    expect(res.status).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_/);
    const session = await readJson(res);
    expect(session.url.startsWith(`${server.url}/verify/${session.id}?cs=`)).toBe(true);
    const page = await fetch(session.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-outcome="verified"');
    const listed = await readJson(await fetch(`${server.url}${SESSIONS}?limit=1`, { headers: auth }));
    expect(listed.data[0].id).toBe(session.id);
    expect(server.app.requests.map((r) => r.method)).toEqual(["POST", "GET"]);
  });

  it("follows the hosted page to return_url and delivers signed webhooks over HTTP", async () => {
    const res = await fetch(`${server.url}${SESSIONS}`, {
      method: "POST",
      headers: form,
      body: "type=document&return_url=https://app.example.test/done",
    });
    const session = await readJson(res);
    const cs = new URL(session.url).searchParams.get("cs");
    const submit = await fetch(`${server.url}/verify/${session.id}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `cs=${cs}&outcome=verified`,
      redirect: "manual",
    });
    expect(submit.status).toBe(303);
    expect(submit.headers.get("location")).toBe("https://app.example.test/done");
    const flushed = await readJson(await fetch(`${server.url}/_stub/flush`, { method: "POST" }));
    expect(flushed.deliveries.map((d: { status: number }) => d.status)).toEqual([200, 200, 200]);
    expect(received.map((r) => JSON.parse(r.payload).type)).toEqual([
      "identity.verification_session.created",
      "identity.verification_session.processing",
      "identity.verification_session.verified",
    ]);
    for (const { signature, payload } of received) {
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
      expect(createHmac("sha256", WEBHOOK_SECRET).update(`${t}.${payload}`).digest("hex")).toBe(v1);
    }
  });

  it("drops the socket for reset faults, and the session of reset_after exists", async () => {
    const faults = await fetch(`${server.url}/_stub/faults`, {
      method: "POST",
      body: JSON.stringify({ faults: [{ kind: "reset_before" }, { kind: "reset_after" }] }),
    });
    expect(faults.status).toBe(200);
    const post = () =>
      fetch(`${server.url}${SESSIONS}`, {
        method: "POST",
        headers: { ...form, "Idempotency-Key": "srv-1" },
        body: "type=document",
      });
    await expect(post()).rejects.toThrow(TypeError);
    expect(server.app.countCreates()).toBe(0);
    await expect(post()).rejects.toThrow(TypeError);
    expect(server.app.countCreates()).toBe(1);
    const retry = await post();
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(server.app.countCreates()).toBe(1);
  });

  it("announces the full length and falls short for truncated bodies", async () => {
    server.app.injectFaults([{ kind: "truncated" }]);
    const res = await fetch(`${server.url}${SESSIONS}`, { method: "POST", headers: form, body: "type=document" });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("content-length"))).toBeGreaterThan(100);
    await expect(res.text()).rejects.toThrow();
    expect(server.app.countCreates()).toBe(1);
  });

  it("refuses oversized bodies with 413 and survives", async () => {
    const res = await fetch(`${server.url}${SESSIONS}`, {
      method: "POST",
      headers: form,
      body: `type=document&x=${"a".repeat(1_100_000)}`,
    });
    expect(res.status).toBe(413);
    expect((await fetch(`${server.url}${SESSIONS}`, { headers: auth })).status).toBe(200);
  });

  it("closes: nothing listens afterwards", async () => {
    const extra = await startStubServer({ port: 0 });
    expect((await fetch(`${extra.url}/_stub/requests`)).status).toBe(200);
    await extra.close();
    await expect(fetch(`${extra.url}/_stub/requests`)).rejects.toThrow(TypeError);
  });
});

describe("stripe-node against the stub server", () => {
  const sdk = (options: Stripe.StripeConfig = {}) => {
    const { port } = new URL(server.url);
    return new Stripe(KEY, { host: "127.0.0.1", port, protocol: "http", maxNetworkRetries: 0, ...options });
  };

  it("creates, retrieves, updates, lists with auto-pagination, cancels", async () => {
    const stripe = sdk();
    const created = await stripe.identity.verificationSessions.create({
      type: "document",
      options: { document: { allowed_types: ["passport"], require_matching_selfie: true } },
      metadata: { order: "o_1" },
    });
    expect(created.options?.document).toEqual({ allowed_types: ["passport"], require_matching_selfie: true });
    expect(created.lastResponse.requestId).toMatch(/^req_/);
    const seen = server.app.requests.at(-1);
    expect(seen?.headers.idempotencyKey).toBeTruthy(); // stripe-node adds one to POSTs
    expect(seen?.headers.stripeVersion).toBeTruthy();
    expect((await stripe.identity.verificationSessions.retrieve(created.id)).id).toBe(created.id);
    expect((await stripe.identity.verificationSessions.update(created.id, { metadata: { order: "o_2" } })).metadata).toEqual({
      order: "o_2",
    });
    for (let i = 0; i < 12; i++) await stripe.identity.verificationSessions.create({ type: "id_number" });
    const all: string[] = [];
    for await (const s of stripe.identity.verificationSessions.list({ limit: 5 })) all.push(s.id);
    expect(all).toHaveLength(13);
    expect(new Set(all).size).toBe(13);
    expect(all.at(-1)).toBe(created.id);
    expect((await stripe.identity.verificationSessions.cancel(created.id)).status).toBe("canceled");
  });

  it("raises the matching error classes", async () => {
    const stripe = sdk();
    await expect(stripe.identity.verificationSessions.retrieve("vs_doesnotexist")).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      statusCode: 404,
      code: "resource_missing",
      param: "id",
    });
    await expect(
      stripe.identity.verificationSessions.create({
        type: "document",
        colour: "blue",
      } as Stripe.Identity.VerificationSessionCreateParams),
    ).rejects.toMatchObject({ type: "StripeInvalidRequestError", code: "parameter_unknown", param: "colour" });
    await expect(
      new Stripe("sk_live_fake_stub_not_allowed", {
        host: "127.0.0.1",
        port: new URL(server.url).port,
        protocol: "http",
      }).identity.verificationSessions.list(),
    ).rejects.toMatchObject({
      type: "StripeAuthenticationError",
      statusCode: 401,
    });
    await stripe.identity.verificationSessions.create({ type: "document" }, { idempotencyKey: "sdk-1" });
    await expect(
      stripe.identity.verificationSessions.create({ type: "id_number" }, { idempotencyKey: "sdk-1" }),
    ).rejects.toMatchObject({
      type: "StripeIdempotencyError",
    });
  });

  it("retries a create through a dropped connection without creating twice", async () => {
    server.app.injectFaults([{ kind: "reset_after" }, { kind: "status", status: 503 }]);
    const stripe = sdk({ maxNetworkRetries: 3 });
    const created = await stripe.identity.verificationSessions.create({ type: "document" });
    expect(server.app.countCreates()).toBe(1);
    expect(server.app.sessions().map((s) => s.id)).toEqual([created.id]);
    const keys = server.app.requests.map((r) => r.headers.idempotencyKey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
  });
});
