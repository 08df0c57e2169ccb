// biome-ignore-all lint/suspicious/noExplicitAny: these tests read arbitrary Stripe JSON bodies and log records field by field.
/**
 * The proxy spine for server callers: every operation reaches the stub with the tenant's credentials,
 * Stripe's encoding and the pinned version; everything malformed is refused at the edge with a
 * Stripe-shaped error and never forwarded.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { type Harness, createHarness, PROXY_KEYS, SECRETS, STRIPE_KEYS } from "../helpers/harness.ts";
import type { Json } from "../helpers/json.ts";
import { useLogCapture } from "../helpers/log-capture.ts";

let h: Harness;
const logs = useLogCapture({ secrets: SECRETS });

beforeEach(async () => {
  h = await createHarness();
});

const SESSIONS = "/v1/identity/verification_sessions";

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

async function create(body = "type=document"): Promise<Json> {
  const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme });
  expect(res.status).toBe(200);
  const session = await json(res);
  logs.secret(session.client_secret, session.url);
  return session;
}

describe("server callers reach every operation", () => {
  it("create injects the tenant key, account, pinned version, an idempotency key and the policy", async () => {
    const session = await create();
    expect(session.object).toBe("identity.verification_session");
    const seen = h.stub.requests.at(-1);
    expect(seen?.method).toBe("POST");
    expect(seen?.headers.apiKey).toBe(STRIPE_KEYS.acme);
    expect(seen?.headers.stripeAccount).toBe("acct_1AcmeTest");
    expect(seen?.headers.stripeVersion).toBe("2026-07-29.dahlia");
    expect(seen?.headers.idempotencyKey).toMatch(/^iedge_/);
    expect(seen?.params).toMatchObject({
      type: "document",
      return_url: "https://app.acme.test/identity/done",
      options: {
        document: { allowed_types: ["passport", "id_card"], require_live_capture: "true", require_matching_selfie: "true" },
      },
    });
  });

  it("a JSON body is forwarded in Stripe's form encoding", async () => {
    const res = await h.call(SESSIONS, {
      key: PROXY_KEYS.acme,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        type: "document",
        metadata: { order: "42" },
        options: { document: { allowed_types: ["passport"] } },
      }),
    });
    expect(res.status).toBe(200);
    logs.secret((await json(res)).client_secret);
    const seen = h.stub.requests.at(-1);
    expect(seen?.headers.contentType).toBe("application/x-www-form-urlencoded");
    expect(seen?.params).toMatchObject({ metadata: { order: "42" }, options: { document: { allowed_types: ["passport"] } } });
  });

  it("the caller's Idempotency-Key is forwarded unchanged and comes back", async () => {
    const res = await h.post(SESSIONS, "type=document", {
      key: PROXY_KEYS.acme,
      headers: { "Idempotency-Key": "order-42-attempt" },
    });
    expect(res.status).toBe(200);
    logs.secret((await json(res)).client_secret);
    expect(h.stub.requests.at(-1)?.headers.idempotencyKey).toBe("order-42-attempt");
    expect(res.headers.get("Idempotency-Key")).toBe("order-42-attempt");
  });

  it("retrieve, update, cancel, redact, list and reports pass through", async () => {
    const a = await create();
    const got = await h.call(`${SESSIONS}/${a.id}`, { key: PROXY_KEYS.acme });
    expect(got.status).toBe(200);
    expect((await json(got)).id).toBe(a.id);

    const updated = await h.post(`${SESSIONS}/${a.id}`, "metadata[order]=7", { key: PROXY_KEYS.acme });
    expect(updated.status).toBe(200);
    expect((await json(updated)).metadata).toEqual({ order: "7" });

    const canceled = await h.post(`${SESSIONS}/${a.id}/cancel`, "", { key: PROXY_KEYS.acme });
    expect((await json(canceled)).status).toBe("canceled");

    const b = await create();
    const redacted = await h.post(`${SESSIONS}/${b.id}/redact`, "", { key: PROXY_KEYS.acme });
    expect(redacted.status).toBe(200);
    expect((await json(redacted)).redaction).not.toBeNull();

    const list = await h.call(`${SESSIONS}?limit=2`, { key: PROXY_KEYS.acme });
    expect(list.status).toBe(200);
    const page = await json(list);
    expect(page.object).toBe("list");
    expect(page.data).toHaveLength(2);
    expect(h.stub.requests.at(-1)?.query).toBe("limit=2");

    const reports = await h.call("/v1/identity/verification_reports?limit=1", { key: PROXY_KEYS.acme });
    expect(reports.status).toBe(200);
    expect((await json(reports)).object).toBe("list");
  });

  it("a report is retrieved by id", async () => {
    const s = await create();
    h.stub.setOutcome(s.id, "verified");
    const list = await json(
      await h.call(`/v1/identity/verification_reports?verification_session=${s.id}`, { key: PROXY_KEYS.acme }),
    );
    const reportId = list.data[0].id as string;
    const res = await h.call(`/v1/identity/verification_reports/${reportId}`, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(200);
    expect((await json(res)).object).toBe("identity.verification_report");
  });

  it("lists never carry client_secret or url", async () => {
    await create();
    const page = await json(await h.call(SESSIONS, { key: PROXY_KEYS.acme }));
    expect(page.data.length).toBeGreaterThan(0);
    for (const item of page.data) {
      // Issue 15 point 3: the keys stay (Stripe's schema has them), emptied to null.
      expect(item).toHaveProperty("client_secret", null);
      expect(item).toHaveProperty("url", null);
    }
  });

  it("the tenant prefix is accepted for server callers too", async () => {
    const res = await h.call(`/identity${SESSIONS}?limit=1`, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(200);
  });

  it("Basic auth with the proxy key as user name works like curl -u", async () => {
    const res = await h.call(SESSIONS, { headers: { Authorization: `Basic ${btoa(`${PROXY_KEYS.acme}:`)}` } });
    expect(res.status).toBe(200);
  });
});

describe("authentication and tenant selection", () => {
  it.each([
    ["no Authorization", {}],
    ["an unknown proxy key", { Authorization: `Bearer iek_${"z".repeat(43)}` }],
    ["a truncated proxy key", { Authorization: `Bearer ${PROXY_KEYS.acme.slice(0, 30)}` }],
    ["a malformed header", { Authorization: "Token abc def" }],
  ])("%s → 401 authentication_required", async (_name, headers) => {
    const res = await h.call(SESSIONS, { headers });
    expect(res.status).toBe(401);
    expect((await json(res)).error.code).toBe("authentication_required");
    expect(h.stub.requests).toHaveLength(0);
  });

  it.each([
    ["Bearer sk_test", `Bearer ${STRIPE_KEYS.acme}`],
    ["Bearer rk_live", "Bearer rk_live_fake_restricted_0000"],
    ["Basic sk_live", `Basic ${btoa("sk_live_fake_0000:")}`],
  ])("a Stripe key (%s) is refused and never forwarded", async (_name, authorization) => {
    const res = await h.call(SESSIONS, { headers: { Authorization: authorization } });
    expect(res.status).toBe(401);
    const body = await json(res);
    expect(body.error.code).toBe("authentication_required");
    expect(JSON.stringify(body)).not.toContain("sk_");
    expect(h.stub.requests).toHaveLength(0);
  });

  it("the key selects the tenant, whatever the Host", async () => {
    const res = await h.post(SESSIONS, "type=id_number", { key: PROXY_KEYS.globex, host: "app.acme.test" });
    expect(res.status).toBe(200);
    logs.secret((await json(res)).client_secret);
    expect(h.stub.requests.at(-1)?.headers.apiKey).toBe(STRIPE_KEYS.globex);
  });

  it("a tenant never sees another tenant's session", async () => {
    const a = await create();
    const res = await h.call(`${SESSIONS}/${a.id}`, { key: PROXY_KEYS.globex });
    expect(res.status).toBe(404);
  });

  it("a caller-supplied Stripe-Account is refused with 403", async () => {
    const res = await h.call(SESSIONS, { key: PROXY_KEYS.acme, headers: { "Stripe-Account": "acct_someoneelse" } });
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe("operation_not_allowed");
    expect(h.stub.requests).toHaveLength(0);
  });

  it("a key narrowed to read operations cannot create", async () => {
    const res = await h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acmeReadOnly });
    expect(res.status).toBe(403);
    expect((await json(res)).error.code).toBe("operation_not_allowed");
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.acmeReadOnly })).status).toBe(200);
  });

  it("a tenant whose secret binding is missing answers tenant_misconfigured, and only that tenant", async () => {
    const res = await h.call(SESSIONS, { key: PROXY_KEYS.broken });
    expect(res.status).toBe(500);
    expect((await json(res)).error.code).toBe("tenant_misconfigured");
    const line = logs.records().find((r: any) => r.event === "tenant_secret_missing") as any;
    expect(line?.binding).toBe("STRIPE_KEY_BROKEN_MISSING");
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.acme })).status).toBe(200);
  });

  it("a tenant whose config is invalid answers tenant_misconfigured while the others keep working", async () => {
    const tenants = (await import("../helpers/harness.ts")).testTenants;
    const config = await tenants();
    (config.globex as any).verification.require_live_captur = true;
    const h2 = await createHarness({ tenants: config });
    const bad = await h2.call(SESSIONS, { key: PROXY_KEYS.globex });
    expect(bad.status).toBe(500);
    expect((await json(bad)).error.code).toBe("tenant_misconfigured");
    expect((await h2.call(SESSIONS, { key: PROXY_KEYS.acme })).status).toBe(200);
  });

  it("a TENANTS value that cannot be read answers every caller 500 tenant_misconfigured, whatever its credential", async () => {
    const h2 = await createHarness({ vars: { TENANTS: "{not json" } });
    const credentials = [
      undefined, // none: a browser
      `Bearer ${PROXY_KEYS.acme}`,
      "Bearer sk_test_fake_caller_supplied_0123456789", // a Stripe key: refused before any lookup otherwise
      "Bearer not-a-proxy-key",
      "Token abc", // malformed
    ];
    for (const authorization of credentials) {
      const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
      for (const res of [await h2.call(SESSIONS, { headers }), await h2.post("/v1/cache/purge", "", { headers })]) {
        expect(res.status, authorization).toBe(500);
        expect((await json(res)).error.code).toBe("tenant_misconfigured");
      }
    }
    expect(h2.stub.requests).toHaveLength(0);
    expect(logs.records().some((r: any) => r.event === "tenants_config_invalid")).toBe(true);
    expect((await h2.call("/healthz")).status).toBe(200);
  });
});

describe("parameters are Stripe's, checked at the edge", () => {
  it.each([
    ["type=document&bogus=1", "bogus"],
    ["type=document&options[document][foo]=1", "options[document][foo]"],
    ["type=document&options[selfie]=1", "options[selfie]"],
    // Issue 15 point 9: a prototype-named key is a parameter like any other, not dropped by the parser.
    ["type=document&__proto__[x]=1&zzz=1", "__proto__"],
    ["type=document&constructor=1", "constructor"],
  ])("%s → 400 parameter_unknown (param %s), not forwarded", async (body, param) => {
    const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(400);
    const err = (await json(res)).error;
    expect(err).toMatchObject({ type: "invalid_request_error", code: "parameter_unknown", param });
    expect(h.stub.requests).toHaveLength(0);
  });

  it("an unknown query parameter on a list is refused", async () => {
    const res = await h.call(`${SESSIONS}?limit=3&sort=asc`, { key: PROXY_KEYS.acme });
    expect((await json(res)).error).toMatchObject({ code: "parameter_unknown", param: "sort" });
  });

  it.each([
    ["limit=abc", "limit"],
    ["created[gte]=yesterday", "created[gte]"],
    ["status=bogus", "status"],
  ])("invalid list parameter %s → 400 parameter_invalid", async (query, param) => {
    const res = await h.call(`${SESSIONS}?${query}`, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "parameter_invalid", param });
  });

  it("indexed, [] and repeated-key arrays all reach Stripe as indexed arrays", async () => {
    const both = ["last_verification_report", "verified_outputs"];
    for (const body of [
      "type=document&expand[0]=last_verification_report&expand[1]=verified_outputs",
      "type=document&expand[1]=verified_outputs&expand[0]=last_verification_report",
      "type=document&expand[]=last_verification_report&expand[]=verified_outputs",
      "type=document&expand=last_verification_report&expand=verified_outputs",
    ]) {
      const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme });
      expect(res.status, body).toBe(200);
      logs.secret((await json(res)).client_secret);
      expect(h.stub.requests.at(-1)?.params?.expand, body).toEqual(both);
    }
  });

  it("a single value for an array parameter is refused, as Stripe does", async () => {
    const res = await h.post(SESSIONS, "type=document&expand=last_verification_report", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "parameter_invalid", param: "expand" });
  });

  it("a repeated scalar is ambiguous and refused", async () => {
    const res = await h.post(SESSIONS, "type=document&client_reference_id=a&client_reference_id=b", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "parameter_invalid", param: "client_reference_id" });
  });

  it.each([
    ["text/plain", "type=document", 415],
    ["multipart/form-data; boundary=x", "--x--", 415],
    ["application/x-www-form-urlencoded; charset=latin1", "type=document", 415],
    ["application/json", "{not json", 400],
    ["application/json", "[1,2]", 400],
    ["application/json", '{"type":null}', 400],
    ["application/x-www-form-urlencoded", "type=%E0%A4%A", 400],
    ["application/x-www-form-urlencoded", `${"a[".repeat(20)}x${"]".repeat(20)}=1`, 400],
  ])("Content-Type %s with %s → %i", async (contentType, body, status) => {
    const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme, headers: { "Content-Type": contentType } });
    expect(res.status).toBe(status);
    const err = (await json(res)).error;
    expect(err.type).toBe("invalid_request_error");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(h.stub.requests).toHaveLength(0);
  });

  it("a body without Content-Type is refused", async () => {
    const res = await h.call(SESSIONS, { key: PROXY_KEYS.acme, method: "POST", body: new Blob(["type=document"]) });
    expect(res.status).toBe(415);
  });

  it("bodies over 64 KiB → 413, by Content-Length and by streamed bytes", async () => {
    const big = `type=document&client_reference_id=${"x".repeat(70 * 1024)}`;
    const declared = await h.post(SESSIONS, big, { key: PROXY_KEYS.acme });
    expect(declared.status).toBe(413);
    expect((await json(declared)).error.code).toBe("body_too_large");

    const chunk = new TextEncoder().encode("a".repeat(8 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 10) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await h.call(SESSIONS, {
      key: PROXY_KEYS.acme,
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: stream,
      // @ts-expect-error: workerd needs duplex for a streamed request body
      duplex: "half",
    });
    expect(streamed.status).toBe(413);
    expect(h.stub.requests).toHaveLength(0);
  });

  it("parameters in a POST query string are refused (they would bypass the body's policy)", async () => {
    const res = await h.post(`${SESSIONS}?options[document][require_live_capture]=false`, "type=document", {
      key: PROXY_KEYS.acme,
    });
    expect(res.status).toBe(400);
    expect(h.stub.requests).toHaveLength(0);
  });

  it.each(["vs_a%2F..%2Fcancel", "vs_../x", "vs_", "vs_%00", "vr_123", "vs_ü"])(
    "session id %s → 404, never forwarded",
    async (id) => {
      const res = await h.call(`${SESSIONS}/${id}`, { key: PROXY_KEYS.acme });
      expect(res.status).toBe(404);
      expect((await json(res)).error.type).toBe("invalid_request_error");
      expect(h.stub.requests).toHaveLength(0);
    },
  );

  // Issue 15 point 6: an id of the wrong shape is answered as Stripe answers it: an object that does not exist.
  it.each([
    [`${SESSIONS}/cus_123`, "GET", "verification_session", "cus_123"],
    [`${SESSIONS}/abc`, "GET", "verification_session", "abc"],
    [`${SESSIONS}/abc/cancel`, "POST", "verification_session", "abc"],
    ["/v1/identity/verification_reports/vs_1", "GET", "verification_report", "vs_1"],
  ])("%s (%s) → Stripe's 404 resource_missing on id, never forwarded", async (path, method, kind, id) => {
    const res = await h.call(path, { key: PROXY_KEYS.acme, method });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toEqual({
      type: "invalid_request_error",
      code: "resource_missing",
      doc_url: "https://docs.stripe.com/error-codes/resource-missing",
      message: `No such ${kind}: '${id}'`,
      param: "id",
    });
    expect(h.stub.requests).toHaveLength(0);
  });
});

describe("every response leaves with the request's Request-Id", () => {
  it("completes a response the Worker built in place, and copies one whose headers are immutable", async () => {
    const own = await createHarness({
      devRoutes: async (request) => {
        const path = new URL(request.url).pathname;
        // A redirect's headers are immutable, like those of a fetched response.
        if (path === "/immutable") return Response.redirect("https://example.test/elsewhere", 302);
        if (path === "/built") return new Response("ok", { headers: { "X-Own": "1" } });
        return undefined;
      },
    });
    const immutable = await own.call("/immutable", { redirect: "manual" });
    expect(immutable.status).toBe(302);
    expect(immutable.headers.get("Location")).toBe("https://example.test/elsewhere");
    expect(immutable.headers.get("Request-Id")).toMatch(/^req_edge_[0-9a-f]{24}$/);
    const built = await own.call("/built");
    expect(await built.text()).toBe("ok");
    expect(built.headers.get("X-Own")).toBe("1");
    expect(built.headers.get("Request-Id")).toMatch(/^req_edge_[0-9a-f]{24}$/);
    expect(built.headers.get("Request-Id")).not.toBe(immutable.headers.get("Request-Id"));
  });
});

describe("routing and the error contract", () => {
  it.each([
    ["GET", "/v1/customers"],
    ["DELETE", SESSIONS],
    ["PUT", `${SESSIONS}/vs_123`],
    ["GET", "/"],
    ["GET", "/v1/identity/verification_sessions/vs_1/cancel/more"],
  ])("%s %s → Stripe-shaped 404", async (method, path) => {
    const res = await h.call(path, { key: PROXY_KEYS.acme, method });
    expect(res.status).toBe(404);
    const body = await json(res);
    // Issue 15 point 10: Stripe's answer to an unknown URL has a type and a message, no code.
    expect(Object.keys(body.error).sort()).toEqual(["message", "type"]);
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("Unrecognized request URL");
    expect(res.headers.get("Request-Id")).toMatch(/^req_edge_/);
  });

  it("upstream Stripe errors pass through unchanged, with Stripe's request id", async () => {
    const direct = await h.stub.fetch(
      new Request("https://stub.stripe.test/v1/identity/verification_sessions/vs_missing000", {
        headers: { Authorization: `Bearer ${STRIPE_KEYS.acme}`, "Stripe-Account": "acct_1AcmeTest" },
      }),
    );
    const directBody = (await direct.json()) as { error: Record<string, unknown> };
    const res = await h.call(`${SESSIONS}/vs_missing000`, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(404);
    // Equal but for request_log_url, which names each request's own id (as Stripe's does).
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect({ ...body.error, request_log_url: null }).toEqual({ ...directBody.error, request_log_url: null });
    expect(body.error.request_log_url).toContain(res.headers.get("Request-Id"));
    expect(res.headers.get("Request-Id")).toMatch(/^req_/);
    expect(res.headers.get("Request-Id")).not.toMatch(/^req_edge_/);
  });

  it("only allow-listed upstream headers come back", async () => {
    const h2 = await createHarness({
      upstream: (stubFetch) => async (r) => {
        const res = await stubFetch(r);
        const out = new Response(res.body, res);
        out.headers.set("Set-Cookie", "stripe_internal=1");
        out.headers.set("X-Stripe-Internal", "debug");
        return out;
      },
    });
    const res = await h2.call(SESSIONS, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(200);
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(res.headers.get("X-Stripe-Internal")).toBeNull();
    expect(res.headers.get("Request-Id")).toMatch(/^req_/);
  });

  it("an upstream that never answers → 504 upstream_timeout", async () => {
    const h2 = await createHarness({
      timings: { attemptTimeoutMs: 50, deadlineMs: 200, maxRetries: 1, backoffBaseMs: 1, backoffCapMs: 5 },
      upstream: () => (r) => new Promise((_resolve, reject) => r.signal.addEventListener("abort", () => reject(r.signal.reason))),
    });
    const res = await h2.call(SESSIONS, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(504);
    expect((await json(res)).error).toMatchObject({ type: "api_error", code: "upstream_timeout" });
    expect(res.headers.get("Stripe-Should-Retry")).toBe("true");
  });

  it("an unreachable upstream → 502 upstream_unavailable; a POST without caller key is not safe to retry", async () => {
    const h2 = await createHarness({
      timings: { maxRetries: 2, backoffBaseMs: 1, backoffCapMs: 2 },
      upstream: () => async () => {
        throw new TypeError("Network connection lost.");
      },
    });
    const res = await h2.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(502);
    const body = await json(res);
    expect(body.error).toMatchObject({ type: "api_error", code: "upstream_unavailable" });
    expect(JSON.stringify(body)).not.toContain("Network connection lost");
    expect(res.headers.get("Stripe-Should-Retry")).toBe("false");
  });

  it("an unexpected exception becomes a generic internal_error, its message only in the scrubbed log", async () => {
    const h2 = await createHarness({
      upstream: () => () => {
        throw new RangeError(`boom with ${STRIPE_KEYS.acme}`);
      },
    });
    // A synchronous throw from fetch is treated like a network failure by the upstream client...
    const res = await h2.call(SESSIONS, { key: PROXY_KEYS.acme });
    expect([500, 502]).toContain(res.status);
    expect(JSON.stringify(await json(res))).not.toContain("boom");
  });

  it("/healthz answers without credentials", async () => {
    const res = await h.call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("every request writes one access-log line with the route template, not the id", async () => {
    const s = await create();
    await h.call(`${SESSIONS}/${s.id}`, { key: PROXY_KEYS.acme });
    const access = logs.records().filter((r: any) => r.event === "request") as any[];
    const last = access.at(-1);
    expect(last).toMatchObject({
      tenant: "acme",
      role: "server",
      operation: "retrieve",
      route: `${SESSIONS}/{id}`,
      status: 200,
      upstream_status: 200,
    });
    expect(JSON.stringify(access)).not.toContain(s.id);
  });
});

describe("STRIPE_API_BASE (parsed once per isolate, config/runtime.ts)", () => {
  it("a value that is not an http(s) URL fails closed as misconfigured and reaches nothing", async () => {
    for (const bad of ["ftp://api.stripe.com", "not a url"]) {
      const bent = await createHarness({ vars: { STRIPE_API_BASE: bad } });
      for (let i = 0; i < 2; i++) {
        const res = await bent.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme });
        expect(res.status).toBe(500);
        expect((await json(res)).error.code).toBe("internal_error");
      }
      expect(bent.stub.requests).toHaveLength(0);
      expect(logs.records().filter((r) => r.event === "stripe_api_base_invalid").length).toBeGreaterThanOrEqual(2);
    }
  });
});
