/**
 * Browser callers through a same-origin proxy: the tenant from Host + path prefix, the CSRF rules,
 * end-user tokens (HS256 secret, JWKS, cookie), ownership of sessions, the browser's view of a
 * session, CORS for listed extra origins, `auth: none` demo tenants and rate limits.
 */
import { env as workerEnv } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { BROWSER_SESSION_FIELDS } from "../../src/auth/browser-view.ts";
import type { RateLimiter } from "../../src/ratelimit/rate-limit.ts";
import { ACME_SESSIONS, ACME_ORIGIN, type BrowserInit, browserInit, userToken } from "../helpers/browser.ts";
import {
  ACME_EXTRA_ORIGIN,
  ACME_HOST,
  ACME_JWT_AUDIENCE,
  ACME_JWT_ISSUER,
  createHarness,
  type Harness,
  PROXY_KEYS,
  SECRETS,
  STRIPE_KEYS,
  testTenants,
} from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";
import type { Json } from "../helpers/json.ts";

const logs = useLogCapture({ secrets: SECRETS });
let h: Harness;

beforeEach(async () => {
  h = await createHarness();
});

/** A token for `subject`, registered as a secret of the current test. */
async function tokenFor(subject: string, options: Parameters<typeof userToken>[1] = {}): Promise<string> {
  const token = await userToken(subject, options);
  logs.secret(token);
  return token;
}

async function json(res: Response): Promise<Json> {
  const body = (await res.json()) as Json;
  // A session's client_secret and url are secrets; a list's `url` is its path.
  if (body.object === "identity.verification_session") logs.secret(body.client_secret, body.url);
  return body;
}

function browser(path: string, init: BrowserInit = {}): Promise<Response> {
  return h.call(path, browserInit(init));
}

async function createAs(token: string, body = "type=document"): Promise<Json> {
  const res = await browser(ACME_SESSIONS, { method: "POST", body, token });
  expect(res.status).toBe(200);
  return json(res);
}

function accessLine(): Json | undefined {
  return logs.records().findLast((r) => r.event === "request");
}

describe("create and retrieve through the tenant's host and path prefix", () => {
  it("creates a session bound to the signed-in user, with the tenant's key and policy", async () => {
    const token = await tokenFor("user_alice");
    const session = await createAs(token);
    expect(Object.keys(session).every((k) => (BROWSER_SESSION_FIELDS as readonly string[]).includes(k))).toBe(true);
    expect(session).toMatchObject({ object: "identity.verification_session", status: "requires_input", type: "document" });
    expect(session.client_secret).toEqual(expect.any(String));
    expect(session.url).toEqual(expect.any(String));
    expect(session).not.toHaveProperty("client_reference_id");
    expect(session).not.toHaveProperty("metadata");

    const seen = h.stub.requests.at(-1);
    expect(seen?.headers.apiKey).toBe(STRIPE_KEYS.acme);
    expect(seen?.headers.stripeAccount).toBe("acct_1AcmeTest");
    expect(seen?.params).toMatchObject({
      client_reference_id: "user_alice",
      return_url: "https://app.acme.test/identity/done",
      options: { document: { allowed_types: ["passport", "id_card"], require_live_capture: "true" } },
    });
    expect(accessLine()).toMatchObject({ role: "browser", tenant: "acme", operation: "create", status: 200 });
  });

  it("accepts a JSON body and an explicit client_reference_id equal to the subject", async () => {
    const token = await tokenFor("user_alice");
    const res = await browser(ACME_SESSIONS, {
      method: "POST",
      token,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "document", client_reference_id: "user_alice" }),
    });
    expect(res.status).toBe(200);
    await json(res);
    expect(h.stub.requests.at(-1)?.params).toMatchObject({ client_reference_id: "user_alice" });
  });

  it("retrieves the user's own session as the browser view", async () => {
    const token = await tokenFor("user_alice");
    const created = await createAs(token);
    const res = await browser(`${ACME_SESSIONS}/${created.id}`, { token });
    expect(res.status).toBe(200);
    const got = await json(res);
    expect(got.id).toBe(created.id);
    expect(got.client_secret).toBe(created.client_secret);
    expect(Object.keys(got).sort()).toEqual(Object.keys(created).sort());
    expect(h.stub.requests.filter((r) => r.method === "GET")).toHaveLength(1);
  });

  it("never shows verified outputs, provided details, metadata or the report, even once verified", async () => {
    const token = await tokenFor("user_alice");
    const created = await createAs(token);
    h.stub.setOutcome(created.id, "verified");
    const text = await (await browser(`${ACME_SESSIONS}/${created.id}`, { token })).text();
    const got = JSON.parse(text) as Json;
    expect(got.status).toBe("verified");
    for (const field of [
      "verified_outputs",
      "provided_details",
      "metadata",
      "last_verification_report",
      "client_reference_id",
      "related_customer",
    ]) {
      expect(got).not.toHaveProperty(field);
    }
    expect(text).not.toContain("vr_");
  });

  it("keeps a server caller a server caller on the tenant's host (a proxy key wins)", async () => {
    const res = await h.post(ACME_SESSIONS, "type=document&metadata[order]=42", { key: PROXY_KEYS.acme, host: ACME_HOST });
    expect(res.status).toBe(200);
    const session = await json(res);
    expect(session.metadata).toEqual({ order: "42" });
    expect(accessLine()).toMatchObject({ role: "server" });
  });

  it("answers 401 on a host no tenant serves and on the tenant's host outside its prefix", async () => {
    const token = await tokenFor("user_alice");
    for (const [host, path] of [
      ["evil.acme.test", ACME_SESSIONS],
      ["app.acme.test.evil.test", ACME_SESSIONS],
      ["app.acme.test:8443", ACME_SESSIONS],
      [ACME_HOST, "/v1/identity/verification_sessions"],
      [ACME_HOST, "/identityx/v1/identity/verification_sessions"],
    ] as const) {
      const res = await h.call(path, browserInit({ method: "POST", body: "type=document", token, host }));
      expect(res.status, `${host}${path}`).toBe(401);
      expect((await res.json()) as Json).toMatchObject({ error: { code: "authentication_required" } });
    }
    expect(h.stub.requests).toHaveLength(0);
  });

  it("refuses browser callers for a tenant without a browser section", async () => {
    const token = await tokenFor("user_alice");
    const res = await h.call(
      "/v1/identity/verification_sessions",
      browserInit({ method: "POST", body: "type=document", token, host: "id.globex.test" }),
    );
    expect(res.status).toBe(401);
    expect(h.stub.requests).toHaveLength(0);
  });
});

describe("end-user tokens", () => {
  const bad: [string, () => Promise<string>][] = [
    ["expired", () => userToken("user_alice", { expiresIn: -3600 })],
    ["signed with another secret", () => userToken("user_alice", { secret: "another-secret-that-is-long-enough-000" })],
    ["for another issuer", () => userToken("user_alice", { issuer: "https://auth.evil.test" })],
    ["for another audience", () => userToken("user_alice", { audience: "another-api" })],
    [
      "alg none",
      async () =>
        `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${btoa(JSON.stringify({ sub: "user_alice" })).replace(/=+$/, "")}.`,
    ],
    ["garbage shaped like a JWT", async () => "not.a.token"],
    ["oversized", () => userToken("user_alice", { claims: { pad: "x".repeat(9000) } })],
  ];
  for (const [name, make] of bad) {
    it(`answers a generic 401 to a token ${name}, without echoing it or forwarding anything`, async () => {
      const token = await make();
      if (token.length >= 6) logs.secret(token);
      const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token });
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: {
          type: "invalid_request_error",
          code: "authentication_required",
          message: "The end-user token is missing, invalid or expired. Sign in again.",
        },
      });
      expect(text).not.toContain(token.slice(0, 20));
      expect(h.stub.requests).toHaveLength(0);
    });
  }

  // Issue 15 point 8: a bearer that is neither a proxy key nor a JWT is a server caller's wrong key.
  it("answers a bearer that is neither a proxy key nor a JWT as a wrong API key (401), on a browser host too", async () => {
    for (const token of ["notakey", "not-a-token", "sk-ish_123"]) {
      const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json).error).toEqual({
        type: "invalid_request_error",
        code: "authentication_required",
        message: "Invalid API key provided.",
      });
    }
    expect(h.stub.requests).toHaveLength(0);
  });

  it("answers 401 without a token", async () => {
    const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document" });
    expect(res.status).toBe(401);
  });

  it("refuses a Stripe key from a browser and never forwards it", async () => {
    const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token: STRIPE_KEYS.acme });
    expect(res.status).toBe(401);
    expect(h.stub.requests).toHaveLength(0);
  });

  it("reads the token from the tenant's cookie, and allows credentials in CORS only then", async () => {
    const tenants = await testTenants();
    const acme = tenants.acme as Json;
    acme.browser = { ...acme.browser, auth: { ...acme.browser.auth, cookie: "acme_id" } };
    h = await createHarness({ tenants });
    const token = await tokenFor("user_cookie");
    const res = await browser(ACME_SESSIONS, {
      method: "POST",
      body: "type=document",
      origin: ACME_EXTRA_ORIGIN,
      site: "same-site",
      headers: { Cookie: `theme=dark; acme_id=${token}` },
    });
    expect(res.status).toBe(200);
    await json(res);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(h.stub.requests.at(-1)?.params).toMatchObject({ client_reference_id: "user_cookie" });
  });

  it("verifies RS256 tokens against the tenant's JWKS, fetched through the Worker's fetch and cached", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwksUrl = "https://auth.jwks-tenant.test/.well-known/jwks.json";
    let jwksFetches = 0;
    const tenants = await testTenants();
    const acme = tenants.acme as Json;
    acme.browser = {
      ...acme.browser,
      auth: { type: "jwt", issuer: ACME_JWT_ISSUER, audience: ACME_JWT_AUDIENCE, jwks_url: jwksUrl },
    };
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    h = await createHarness({
      tenants,
      upstream: (stub) => async (r) => {
        if (r.url !== jwksUrl) return stub(r);
        jwksFetches++;
        return Response.json({ keys: [jwk] });
      },
    });
    const sign = (alg: "RS256" | "HS256", key: CryptoKey | Uint8Array) =>
      new SignJWT({ sub: "user_jwks" })
        .setProtectedHeader({ alg, kid: "k1" })
        .setIssuer(ACME_JWT_ISSUER)
        .setAudience(ACME_JWT_AUDIENCE)
        .setExpirationTime("5m")
        .sign(key);
    const token = await sign("RS256", privateKey);
    logs.secret(token);
    await createAs(token);
    await createAs(token);
    expect(jwksFetches).toBe(1);
    // HS/RS confusion: the public key's JSON as an HMAC secret.
    const confused = await sign("HS256", new TextEncoder().encode(JSON.stringify(jwk)));
    logs.secret(confused);
    expect((await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token: confused })).status).toBe(401);
  });

  it("answers 502 when the JWKS cannot be fetched, and says nothing about the token", async () => {
    const jwksUrl = "https://auth.jwks-down.test/.well-known/jwks.json";
    const tenants = await testTenants();
    const acme = tenants.acme as Json;
    acme.browser = {
      ...acme.browser,
      auth: { type: "jwt", issuer: ACME_JWT_ISSUER, audience: ACME_JWT_AUDIENCE, jwks_url: jwksUrl },
    };
    h = await createHarness({
      tenants,
      upstream: (stub) => async (r) => (r.url === jwksUrl ? new Response("down", { status: 503 }) : stub(r)),
    });
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ACME_JWT_ISSUER)
      .setAudience(ACME_JWT_AUDIENCE)
      .setExpirationTime("5m")
      .sign(privateKey);
    logs.secret(token);
    const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token });
    expect(res.status).toBe(502);
    expect(((await res.json()) as Json).error.code).toBe("upstream_unavailable");
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "jwks_unavailable", tenant: "acme" }));
  });

  it("answers tenant_misconfigured when the HS256 secret binding is missing or too short, naming only the binding", async () => {
    for (const value of [undefined, "short"]) {
      h = await createHarness({ vars: { ACME_JWT_SECRET: value } });
      const token = await tokenFor("user_alice");
      const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token });
      expect(res.status).toBe(500);
      expect(((await res.json()) as Json).error.code).toBe("tenant_misconfigured");
      expect(logs.records()).toContainEqual(
        expect.objectContaining({ event: "tenant_secret_missing", binding: "ACME_JWT_SECRET" }),
      );
    }
  });
});

describe("ownership", () => {
  /** A missing session's answer, with the id replaced, for byte-for-byte comparison. */
  async function normalized(res: Response, id: string) {
    const headerNames = [...res.headers.keys()].filter((k) => k !== "request-id").sort();
    return { status: res.status, headers: headerNames, body: (await res.text()).split(id).join("vs_ID") };
  }

  it("answers someone else's session exactly like a missing one (retrieve)", async () => {
    const alice = await tokenFor("user_alice");
    const mallory = await tokenFor("user_mallory");
    const session = await createAs(alice);
    const missingId = "vs_1NoSuchSessionAtAll000000";

    const foreign = await browser(`${ACME_SESSIONS}/${session.id}`, { token: mallory });
    const missing = await browser(`${ACME_SESSIONS}/${missingId}`, { token: mallory });
    expect(foreign.status).toBe(404);
    const a = await normalized(foreign, session.id);
    const b = await normalized(missing, missingId);
    expect(a).toEqual(b);
    expect(JSON.parse(a.body)).toMatchObject({
      error: { code: "resource_missing", param: "id", type: "invalid_request_error" },
    });
  });

  it("answers a session created by the tenant's server (no owner) as missing", async () => {
    const server = await json(await h.post(ACME_SESSIONS, "type=document", { key: PROXY_KEYS.acme, host: ACME_HOST }));
    const res = await browser(`${ACME_SESSIONS}/${server.id}`, { token: await tokenFor("user_alice") });
    expect(res.status).toBe(404);
  });

  it("cancels only the user's own sessions: retrieve first, cancel only if owned", async () => {
    const alice = await tokenFor("user_alice");
    const mallory = await tokenFor("user_mallory");
    const session = await createAs(alice);

    const before = h.stub.requests.length;
    const foreign = await browser(`${ACME_SESSIONS}/${session.id}/cancel`, { method: "POST", token: mallory });
    expect(foreign.status).toBe(404);
    const missingId = "vs_1NoSuchSessionAtAll000000";
    const missing = await browser(`${ACME_SESSIONS}/${missingId}/cancel`, { method: "POST", token: mallory });
    expect(await normalized(foreign, session.id)).toEqual(await normalized(missing, missingId));
    expect(h.stub.requests.slice(before).map((r) => r.method)).toEqual(["GET", "GET"]);
    expect(h.stub.sessions().find((s) => s.id === session.id)?.status).toBe("requires_input");

    const own = await browser(`${ACME_SESSIONS}/${session.id}/cancel`, { method: "POST", token: alice });
    expect(own.status).toBe(200);
    expect((await json(own)).status).toBe("canceled");
    expect(h.stub.requests.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/identity/verification_sessions/${session.id}`,
      `POST /v1/identity/verification_sessions/${session.id}/cancel`,
    ]);
  });

  it("refuses a client_reference_id that is not the subject, forwarding nothing", async () => {
    const res = await browser(ACME_SESSIONS, {
      method: "POST",
      body: "type=document&client_reference_id=user_bob",
      token: await tokenFor("user_alice"),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: "policy_violation", param: "client_reference_id" });
    expect(h.stub.requests).toHaveLength(0);
  });

  for (const [param, body] of [
    ["metadata", "type=document&metadata[plan]=pro"],
    ["expand", "type=document&expand[0]=verified_outputs"],
    ["related_customer", "type=document&related_customer=cus_123"],
    ["related_customer_account", "type=document&related_customer_account=acct_1Other"],
    ["related_person", "type=document&related_person[account]=acct_1Other&related_person[person]=person_1"],
    ["provided_details", "type=document&provided_details[email]=someone@example.com"],
  ] as const) {
    it(`refuses ${param} from a browser`, async () => {
      const res = await browser(ACME_SESSIONS, { method: "POST", body, token: await tokenFor("user_alice") });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error).toMatchObject({ code: "policy_violation", param });
      expect(h.stub.requests).toHaveLength(0);
    });
  }

  it("refuses expand on retrieve", async () => {
    const alice = await tokenFor("user_alice");
    const session = await createAs(alice);
    const res = await browser(`${ACME_SESSIONS}/${session.id}?expand[0]=verified_outputs`, { token: alice });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: "policy_violation", param: "expand" });
  });

  it("still applies the tenant's policy to browsers", async () => {
    const res = await browser(ACME_SESSIONS, { method: "POST", body: "type=id_number", token: await tokenFor("user_alice") });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: "policy_violation", param: "type" });
  });
});

describe("CSRF", () => {
  const post = (init: BrowserInit) => browser(ACME_SESSIONS, { method: "POST", body: "type=document", ...init });

  const refused: [string, BrowserInit][] = [
    ["neither Sec-Fetch-Site nor Origin", { site: null }],
    ["Sec-Fetch-Site: cross-site", { site: "cross-site" }],
    ["Sec-Fetch-Site: same-site", { site: "same-site" }],
    ["Sec-Fetch-Site: none", { site: "none" }],
    ["Origin: null", { site: null, origin: "null" }],
    ["Origin: null, cross-site", { site: "cross-site", origin: "null" }],
    ["a prefix lookalike", { site: null, origin: "https://app.acme.test.evil.test" }],
    ["a suffix lookalike", { site: null, origin: "https://evilapp.acme.test" }],
    ["http instead of https", { site: null, origin: "http://app.acme.test" }],
    ["another port", { site: null, origin: "https://app.acme.test:8443" }],
    ["a trailing dot", { site: null, origin: "https://app.acme.test." }],
    ["uppercase", { site: null, origin: "https://APP.ACME.TEST" }],
    ["an unlisted site, cross-site", { site: "cross-site", origin: "https://evil.test" }],
  ];
  for (const [name, init] of refused) {
    it(`refuses a POST with ${name}, before looking at the token`, async () => {
      const res = await post({ ...init, token: await tokenFor("user_alice") });
      expect(res.status).toBe(403);
      expect(((await res.json()) as Json).error.code).toBe("origin_not_allowed");
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect(h.stub.requests).toHaveLength(0);
    });
  }

  const accepted: [string, BrowserInit][] = [
    ["Sec-Fetch-Site: same-origin", {}],
    ["its own Origin and no Sec-Fetch-Site", { site: null, origin: ACME_ORIGIN }],
    ["a listed extra origin", { site: "same-site", origin: ACME_EXTRA_ORIGIN }],
  ];
  for (const [name, init] of accepted) {
    it(`accepts a POST with ${name}`, async () => {
      const res = await post({ ...init, token: await tokenFor("user_alice") });
      expect(res.status).toBe(200);
      await json(res);
    });
  }

  it("refuses a cross-site GET (an <img> or <script> on another site)", async () => {
    const alice = await tokenFor("user_alice");
    const session = await createAs(alice);
    const res = await browser(`${ACME_SESSIONS}/${session.id}`, { token: alice, site: "cross-site" });
    expect(res.status).toBe(403);
  });
});

describe("CORS for listed extra origins", () => {
  function preflight(origin: string, method = "POST", headers = "authorization, content-type") {
    return h.call(ACME_SESSIONS, {
      method: "OPTIONS",
      host: ACME_HOST,
      headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers },
    });
  }

  it("answers a preflight from a listed origin with exact headers", async () => {
    const res = await preflight(ACME_EXTRA_ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(ACME_EXTRA_ORIGIN);
    expect(res.headers.get("Access-Control-Allow-Methods")).toBe("POST, GET");
    expect(res.headers.get("Access-Control-Allow-Headers")).toBe("Authorization, Content-Type, Idempotency-Key");
    expect(res.headers.get("Vary")).toContain("Origin");
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(accessLine()).toMatchObject({ role: "browser", tenant: "acme", operation: "preflight", status: 204 });
  });

  for (const [name, origin, method, headers] of [
    ["an unlisted origin", "https://evil.test", "POST", "authorization"],
    ["a lookalike origin", "https://www.acme.test.evil.test", "POST", "authorization"],
    ["Origin: null", "null", "POST", "authorization"],
    ["a method no browser operation uses", ACME_EXTRA_ORIGIN, "DELETE", "authorization"],
    ["the Stripe-Account header", ACME_EXTRA_ORIGIN, "POST", "authorization, stripe-account"],
  ] as const) {
    it(`refuses a preflight with ${name}, reflecting nothing`, async () => {
      const res = await preflight(origin, method, headers);
      expect(res.status).toBe(403);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    });
  }

  it("refuses preflights on hosts no tenant serves for browsers", async () => {
    const res = await h.call("/v1/identity/verification_sessions", {
      method: "OPTIONS",
      host: "id.globex.test",
      headers: { Origin: "https://id.globex.test", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(403);
    const unknown = await h.call("/v1/identity/verification_sessions", {
      method: "OPTIONS",
      headers: { Origin: "https://x.test" },
    });
    expect(unknown.status).toBe(404);
  });

  it("puts CORS headers on the response to a listed origin, errors included, and only Vary on same-origin ones", async () => {
    const ok = await browser(ACME_SESSIONS, {
      method: "POST",
      body: "type=document",
      token: await tokenFor("user_alice"),
      site: "cross-site",
      origin: ACME_EXTRA_ORIGIN,
    });
    expect(ok.status).toBe(200);
    await json(ok);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(ACME_EXTRA_ORIGIN);
    expect(ok.headers.get("Vary")).toBe("Origin");

    const unauthorized = await browser(ACME_SESSIONS, {
      method: "POST",
      body: "type=document",
      site: "cross-site",
      origin: ACME_EXTRA_ORIGIN,
    });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("Access-Control-Allow-Origin")).toBe(ACME_EXTRA_ORIGIN);

    const same = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token: await tokenFor("user_alice") });
    await json(same);
    expect(same.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(same.headers.get("Vary")).toBe("Origin");
  });
});

describe("auth: none (demo tenants)", () => {
  const DEMO_HOST = "demo.identity.test";
  const DEMO_SESSIONS = "/v1/identity/verification_sessions";

  beforeEach(async () => {
    const tenants = await testTenants();
    tenants.demo = {
      hosts: [DEMO_HOST],
      stripe: { secret_key: "STRIPE_KEY_ACME" },
      verification: { session_types: ["document"], return_urls: [`https://${DEMO_HOST}/done`] },
      browser: { auth: { type: "none" }, operations: ["create", "retrieve", "cancel", "list"] },
    };
    h = await createHarness({ tenants });
  });
  const demo = (path: string, init: BrowserInit = {}) => h.call(path, browserInit({ host: DEMO_HOST, ...init }));

  it("creates without a token (with client_secret and url) and retrieves without them", async () => {
    const res = await demo(DEMO_SESSIONS, { method: "POST", body: "type=document" });
    expect(res.status).toBe(200);
    const created = await json(res);
    expect(created.client_secret).toEqual(expect.any(String));
    expect(h.stub.requests.at(-1)?.params).not.toHaveProperty("client_reference_id");

    const got = await demo(`${DEMO_SESSIONS}/${created.id}`);
    expect(got.status).toBe(200);
    const view = await json(got);
    expect(view).toMatchObject({ id: created.id, status: "requires_input" });
    expect(view).not.toHaveProperty("client_secret");
    expect(view).not.toHaveProperty("url");
  });

  it("keeps every other rule: origin, parameters, operations", async () => {
    expect((await demo(DEMO_SESSIONS, { method: "POST", body: "type=document", site: "cross-site" })).status).toBe(403);
    const withRef = await demo(DEMO_SESSIONS, { method: "POST", body: "type=document&client_reference_id=user_1" });
    expect(((await withRef.json()) as Json).error).toMatchObject({ code: "policy_violation", param: "client_reference_id" });
    const withMeta = await demo(DEMO_SESSIONS, { method: "POST", body: "type=document&metadata[a]=b" });
    expect(((await withMeta.json()) as Json).error).toMatchObject({ code: "policy_violation", param: "metadata" });
    // cancel and list are configured, but without a user no ownership can be checked.
    expect((await demo(`${DEMO_SESSIONS}/vs_1Something/cancel`, { method: "POST" })).status).toBe(403);
    expect((await demo(DEMO_SESSIONS)).status).toBe(403);
    expect(h.stub.requests).toHaveLength(0);
  });

  it("refuses a token it has no way to check", async () => {
    const res = await demo(DEMO_SESSIONS, { method: "POST", body: "type=document", token: await tokenFor("user_alice") });
    expect(res.status).toBe(401);
  });
});

describe("rate limits", () => {
  /** A fake limiter: allows `budget` requests per key. */
  function fakeLimiter(budget: number): RateLimiter & { keys: string[] } {
    const counts = new Map<string, number>();
    const keys: string[] = [];
    return {
      keys,
      async limit({ key }) {
        keys.push(key);
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        return { success: n <= budget };
      },
    };
  }

  it("limits a browser per end user, answering Stripe's 429 with Retry-After", async () => {
    const limiter = fakeLimiter(2);
    h = await createHarness({ vars: { RATE_LIMITER: limiter } });
    const alice = await tokenFor("user_alice");
    const bob = await tokenFor("user_bob");
    await createAs(alice);
    await createAs(alice);
    const before = h.stub.requests.length;
    const limited = await browser(ACME_SESSIONS, { method: "POST", body: "type=document", token: alice });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect((await limited.json()) as Json).toEqual({
      error: {
        type: "invalid_request_error",
        code: "rate_limit",
        doc_url: "https://docs.stripe.com/error-codes/rate-limit",
        message: expect.stringContaining("Too many requests"),
      },
    });
    expect(h.stub.requests.length).toBe(before);
    await createAs(bob);
    expect(new Set(limiter.keys).size).toBe(2);
    for (const key of limiter.keys) {
      expect(key).toMatch(/^acme:browser:sub:[0-9a-f]{32}$/);
      expect(key).not.toContain("user_");
    }
  });

  it("limits an anonymous browser per client IP", async () => {
    const limiter = fakeLimiter(1);
    const tenants = await testTenants();
    tenants.demo = {
      hosts: ["demo.identity.test"],
      stripe: { secret_key: "STRIPE_KEY_ACME" },
      verification: { session_types: ["document"] },
      browser: { auth: { type: "none" } },
    };
    h = await createHarness({ tenants, vars: { RATE_LIMITER: limiter } });
    const from = (ip: string) =>
      h.call(
        "/v1/identity/verification_sessions/vs_1Abc",
        browserInit({ host: "demo.identity.test", headers: { "CF-Connecting-IP": ip } }),
      );
    expect((await from("203.0.113.7")).status).toBe(404);
    expect((await from("203.0.113.7")).status).toBe(429);
    expect((await from("203.0.113.8")).status).toBe(404);
    expect(limiter.keys).toEqual(["demo:browser:ip:203.0.113.7", "demo:browser:ip:203.0.113.7", "demo:browser:ip:203.0.113.8"]);
  });

  it("limits a server caller per proxy key with its own binding", async () => {
    const limiter = fakeLimiter(1);
    h = await createHarness({ vars: { SERVER_RATE_LIMITER: limiter } });
    expect((await h.call("/v1/identity/verification_sessions/vs_1Abc", { key: PROXY_KEYS.acme })).status).toBe(404);
    const limited = await h.call("/v1/identity/verification_sessions/vs_1Abc", { key: PROXY_KEYS.acme });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(limiter.keys).toEqual(["acme:server:backend", "acme:server:backend"]);
  });

  it("lets requests through when the limiter fails, and logs it", async () => {
    h = await createHarness({ vars: { RATE_LIMITER: { limit: async () => Promise.reject(new Error("limiter down")) } } });
    await createAs(await tokenFor("user_alice"));
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "rate_limiter_failed", binding: "RATE_LIMITER" }));
  });

  it("works with the real Rate Limiting binding from wrangler.toml (60 a minute per user)", async () => {
    const real = (workerEnv as unknown as Record<string, unknown>).RATE_LIMITER;
    expect(real).toBeDefined();
    h = await createHarness({ vars: { RATE_LIMITER: real } });
    const token = await tokenFor(`user_real_${crypto.randomUUID()}`);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) {
      statuses.push((await browser(`${ACME_SESSIONS}/vs_1NoSuchSession`, { token })).status);
    }
    expect(statuses.slice(0, 60).every((s) => s === 404)).toBe(true);
    expect(statuses[60]).toBe(429);
  });
});
