/**
 * The shared security suite: every route (all 8 operations) for both caller roles, against the same
 * attacks: missing and invalid credentials, another tenant's key or token, another tenant's ids,
 * cross-site requests, operations outside the caller's list, a Stripe key sent by the caller (refused,
 * never forwarded) and a caller-supplied Stripe-Account. Each refusal is checked to forward nothing;
 * each route also has a positive control, so a refusal cannot pass because the request was broken.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { signPayload } from "../../dev/stub/webhooks.ts";
import type { OperationName } from "../../src/stripe/operations.ts";
import { type BrowserInit, browserInit, userToken } from "../helpers/browser.ts";
import {
  ACME_HOST,
  type CallInit,
  createHarness,
  type Harness,
  PROXY_KEYS,
  SECRETS,
  STRIPE_KEYS,
  STUB_BASE,
  testTenants,
  WEBHOOK_SECRETS,
} from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";
import type { Json } from "../helpers/json.ts";
import { sha256Hex } from "../../src/encoding.ts";

const INITECH_HOST = "id.initech.test";
const INITECH_JWT_SECRET = "test-fake-initech-jwt-secret-0123456789ab";
const INITECH_STRIPE_KEY = "sk_test_fake_initech_0123456789abcdef";
/** A Stripe key a caller might send (its own, or one it found): never to reach upstream. */
const CALLER_STRIPE_KEY = "sk_test_fake_caller_supplied_0123456789";
const SUBJECT = "user_shared";

const logs = useLogCapture({ secrets: [...SECRETS, INITECH_JWT_SECRET, INITECH_STRIPE_KEY, CALLER_STRIPE_KEY] });

interface Ids {
  /** An acme session in requires_input, owned by the browser user SUBJECT. */
  session: string;
  /** An acme verification report. */
  report: string;
}

interface Route {
  op: OperationName;
  method: "GET" | "POST";
  path(ids: Ids): string;
  body?: string;
}

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";
const ROUTES: Route[] = [
  { op: "create", method: "POST", path: () => SESSIONS, body: "type=document" },
  { op: "retrieve", method: "GET", path: (ids) => `${SESSIONS}/${ids.session}` },
  { op: "update", method: "POST", path: (ids) => `${SESSIONS}/${ids.session}`, body: "type=document" },
  { op: "list", method: "GET", path: () => SESSIONS },
  { op: "cancel", method: "POST", path: (ids) => `${SESSIONS}/${ids.session}/cancel` },
  { op: "redact", method: "POST", path: (ids) => `${SESSIONS}/${ids.session}/redact` },
  { op: "report_retrieve", method: "GET", path: (ids) => `${REPORTS}/${ids.report}` },
  { op: "report_list", method: "GET", path: () => REPORTS },
];

/** acme's browser operations in the harness fixture. */
const BROWSER_OPS: readonly OperationName[] = ["create", "retrieve", "cancel"];
/** The `reporting` server key's operations in the harness fixture. */
const REPORTING_OPS: readonly OperationName[] = ["list", "retrieve", "report_list", "report_retrieve"];
const ID_OPS: readonly OperationName[] = ["retrieve", "update", "cancel", "redact", "report_retrieve"];

let h: Harness;
let ids: Ids;

async function json(res: Response): Promise<Json> {
  const body = (await res.json()) as Json;
  // A session's client_secret and url are secrets; a list's `url` is its path.
  if (body.object === "identity.verification_session") logs.secret(body.client_secret, body.url);
  return body;
}

async function token(subject = SUBJECT, options: Parameters<typeof userToken>[1] = {}): Promise<string> {
  const t = await userToken(subject, options);
  logs.secret(t);
  return t;
}

beforeEach(async () => {
  const tenants = await testTenants();
  tenants.initech = {
    hosts: [INITECH_HOST],
    stripe: { secret_key: "STRIPE_KEY_INITECH" },
    verification: { session_types: ["document"] },
    browser: {
      auth: { type: "jwt", issuer: "https://auth.initech.test", audience: "identity-edge", hs256_secret: "INITECH_JWT_SECRET" },
      operations: ["create", "retrieve", "cancel"],
    },
  };
  h = await createHarness({ tenants, vars: { STRIPE_KEY_INITECH: INITECH_STRIPE_KEY, INITECH_JWT_SECRET } });
  const owned = await h.call(
    `/identity${SESSIONS}`,
    browserInit({ method: "POST", body: "type=document", token: await token() }),
  );
  expect(owned.status).toBe(200);
  const forReport = await h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme });
  expect(forReport.status).toBe(200);
  const verified = h.stub.setOutcome((await json(forReport)).id, "verified");
  ids = { session: (await json(owned)).id, report: String(verified.last_verification_report) };
});

function serverCall(route: Route, init: CallInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (route.body !== undefined) headers.set("Content-Type", "application/x-www-form-urlencoded");
  return h.call(route.path(ids), {
    method: route.method,
    ...(route.body !== undefined ? { body: route.body } : {}),
    ...init,
    headers,
  });
}

function browserCall(route: Route, init: BrowserInit = {}, prefix = "/identity"): Promise<Response> {
  const body = route.body !== undefined ? { body: route.body } : {};
  return h.call(`${prefix}${route.path(ids)}`, browserInit({ method: route.method, ...body, ...init }));
}

/** Asserts a Stripe-shaped refusal with `status`/`code` that forwarded nothing upstream. */
async function expectRefused(res: Response, status: number, code: string, forwardedBefore: number): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Json;
  expect(body.error).toMatchObject({ code });
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  expect(h.stub.requests.length).toBe(forwardedBefore);
}

function neverForwarded(key: string): void {
  for (const r of h.stub.requests) {
    expect(r.headers.apiKey).not.toBe(key);
    expect(r.headers.authorization ?? "").not.toContain(key);
  }
}

for (const route of ROUTES) {
  describe(`${route.op}: ${route.method} ${route.path({ session: "{id}", report: "{id}" })}`, () => {
    describe("server callers", () => {
      it("positive control: the tenant's own key succeeds", async () => {
        const res = await serverCall(route, { key: PROXY_KEYS.acme });
        expect(res.status).toBe(200);
        await json(res);
      });

      for (const [name, authorization] of [
        ["no credentials", undefined],
        ["an unknown proxy key", `Bearer iek_${"Z".repeat(43)}`],
        ["a proxy key that is too short", "Bearer iek_short"],
        ["a malformed Authorization header", "Token abc"],
        ["a Bearer scheme without a credential", "Bearer"],
        ["an unknown key in Basic auth", `Basic ${btoa(`iek_${"Z".repeat(43)}:`)}`],
      ] as const) {
        it(`refuses ${name} (401)`, async () => {
          const before = h.stub.requests.length;
          const res = await serverCall(route, authorization === undefined ? {} : { headers: { Authorization: authorization } });
          await expectRefused(res, 401, "authentication_required", before);
        });
      }

      for (const [name, authorization] of [
        ["as Bearer", `Bearer ${CALLER_STRIPE_KEY}`],
        ["in Basic auth (curl -u)", `Basic ${btoa(`${CALLER_STRIPE_KEY}:`)}`],
        ["as a restricted key", `Bearer rk_test_fake_caller_0123456789`],
        ["equal to the tenant's own Stripe key", `Bearer ${STRIPE_KEYS.acme}`],
      ] as const) {
        it(`refuses a Stripe key sent ${name}, and never forwards it`, async () => {
          const before = h.stub.requests.length;
          const res = await serverCall(route, { headers: { Authorization: authorization } });
          await expectRefused(res, 401, "authentication_required", before);
          neverForwarded(CALLER_STRIPE_KEY);
        });
      }

      it("refuses a caller-supplied Stripe-Account (403)", async () => {
        const before = h.stub.requests.length;
        const res = await serverCall(route, { key: PROXY_KEYS.acme, headers: { "Stripe-Account": "acct_1Victim" } });
        await expectRefused(res, 403, "operation_not_allowed", before);
      });

      it(
        REPORTING_OPS.includes(route.op)
          ? "allows it to a key narrowed to it"
          : "refuses it to a key narrowed to other operations (403)",
        async () => {
          const before = h.stub.requests.length;
          const res = await serverCall(route, { key: PROXY_KEYS.acmeReadOnly });
          if (REPORTING_OPS.includes(route.op)) {
            expect(res.status).toBe(200);
            await json(res);
          } else {
            await expectRefused(res, 403, "operation_not_allowed", before);
          }
        },
      );

      it("keeps another tenant's key inside that tenant", async () => {
        const res = await serverCall(route, { key: PROXY_KEYS.globex, host: ACME_HOST });
        if (ID_OPS.includes(route.op)) {
          expect(res.status).toBe(404);
          expect(((await res.json()) as Json).error).toMatchObject({ code: "resource_missing" });
        } else {
          expect(res.status).toBe(200);
          const body = await json(res);
          if (body.object === "list") {
            expect((body.data as Json[]).map((d) => d.id)).not.toContain(ids.session);
            expect((body.data as Json[]).map((d) => d.id)).not.toContain(ids.report);
          }
        }
        // Whatever reached Stripe went with globex's key, never acme's.
        expect(h.stub.requests.at(-1)?.headers.apiKey).toBe(STRIPE_KEYS.globex);
      });
    });

    describe("browser callers", () => {
      const allowed = BROWSER_OPS.includes(route.op);

      it(allowed ? "positive control: the owner's token succeeds" : "refuses it even with a valid token (403)", async () => {
        const before = h.stub.requests.length;
        const res = await browserCall(route, { token: await token() });
        if (allowed) {
          expect(res.status).toBe(200);
          await json(res);
        } else {
          await expectRefused(res, 403, "operation_not_allowed", before);
        }
      });

      for (const [name, make] of [
        ["no token", async () => undefined],
        ["a token with a bad signature", async () => `${(await token()).slice(0, -4)}AAAA`],
        ["an expired token", () => token(SUBJECT, { expiresIn: -600 })],
        ["another tenant's token", () => token(SUBJECT, { secret: INITECH_JWT_SECRET, issuer: "https://auth.initech.test" })],
        ["a token for another audience", () => token(SUBJECT, { audience: "another-api" })],
      ] as const) {
        it(`refuses ${name} (401)`, async () => {
          const t = await make();
          const before = h.stub.requests.length;
          await expectRefused(
            await browserCall(route, t === undefined ? {} : { token: t }),
            401,
            "authentication_required",
            before,
          );
        });
      }

      it("refuses acme's token on another tenant's host (401)", async () => {
        const before = h.stub.requests.length;
        const res = await browserCall(route, { token: await token(), host: INITECH_HOST }, "");
        await expectRefused(res, 401, "authentication_required", before);
      });

      it("does not reach another tenant's sessions and reports with the same subject", async () => {
        const initechToken = await token(SUBJECT, { secret: INITECH_JWT_SECRET, issuer: "https://auth.initech.test" });
        const before = h.stub.requests.length;
        const res = await browserCall(route, { token: initechToken, host: INITECH_HOST }, "");
        if (!allowed) {
          await expectRefused(res, 403, "operation_not_allowed", before);
        } else if (ID_OPS.includes(route.op)) {
          expect(res.status).toBe(404);
          expect(((await res.json()) as Json).error).toMatchObject({ code: "resource_missing" });
          expect(h.stub.sessions().find((s) => s.id === ids.session)?.status).toBe("requires_input");
        } else {
          expect(res.status).toBe(200);
          await json(res);
        }
        expect(h.stub.requests.slice(before).every((r) => r.headers.apiKey === INITECH_STRIPE_KEY)).toBe(true);
      });

      for (const [name, site, origin] of [
        ["Sec-Fetch-Site: cross-site", "cross-site", "https://evil.test"],
        ["Sec-Fetch-Site: same-site from a sibling", "same-site", "https://evil.acme.test"],
        ["Origin: null (sandboxed frame)", null, "null"],
        ["a lookalike origin", null, "https://app.acme.test.evil.test"],
      ] as const) {
        it(`refuses a cross-site request: ${name} (403)`, async () => {
          const before = h.stub.requests.length;
          await expectRefused(
            await browserCall(route, { token: await token(), site, origin }),
            403,
            "origin_not_allowed",
            before,
          );
        });
      }

      it("refuses a Stripe key from a browser, and never forwards it", async () => {
        const before = h.stub.requests.length;
        await expectRefused(await browserCall(route, { token: CALLER_STRIPE_KEY }), 401, "authentication_required", before);
        neverForwarded(CALLER_STRIPE_KEY);
      });

      it("refuses a caller-supplied Stripe-Account (403)", async () => {
        const before = h.stub.requests.length;
        const res = await browserCall(route, { token: await token(), headers: { "Stripe-Account": "acct_1Victim" } });
        await expectRefused(res, 403, "operation_not_allowed", before);
      });

      if (allowed && ID_OPS.includes(route.op)) {
        it("answers another user's session as missing (404)", async () => {
          const res = await browserCall(route, { token: await token("user_other") });
          expect(res.status).toBe(404);
          expect(((await res.json()) as Json).error).toMatchObject({ code: "resource_missing", param: "id" });
          expect(h.stub.requests.filter((r) => r.method === "POST" && r.path.includes(ids.session))).toHaveLength(0);
        });
      }
    });
  });
}

/**
 * The second pass (docs/security.md): each attack below was reproduced against the proxy before its
 * fix, and each has a positive control, the same request without the attack, that succeeds.
 */
describe("second pass: attacks beyond the route matrix", () => {
  const SHARED_KEY = "sk_test_fake_shared_platform_0123456789";
  const B_JWT_SECRET = "test-fake-tenant-b-jwt-secret-0123456789ab";
  const A_HOST = "a.shared.test";
  const B_HOST = "b.shared.test";

  /** Tenants a and b on one Stripe key binding (or two bindings holding one key), with the given accounts. */
  async function sharedKeyHarness(accounts: { a?: string; b?: string }, bBinding = "STRIPE_KEY_SHARED") {
    const tenant = async (host: string, binding: string, account: string | undefined, jwt: string, key: string) => ({
      hosts: [host],
      stripe: { secret_key: binding, ...(account ? { account } : {}) },
      verification: { session_types: ["document"] },
      browser: {
        auth: { type: "jwt", issuer: `https://auth.${host}`, audience: "identity-edge", hs256_secret: jwt },
        operations: ["create", "retrieve", "cancel"],
      },
      server_keys: [{ name: "backend", sha256: await sha256Hex(key) }],
    });
    const tenants = {
      a: await tenant(A_HOST, "STRIPE_KEY_SHARED", accounts.a, "ACME_JWT_SECRET", PROXY_KEYS.acme),
      b: await tenant(B_HOST, bBinding, accounts.b, "B_JWT_SECRET", PROXY_KEYS.globex),
    };
    logs.secret(SHARED_KEY, B_JWT_SECRET);
    return createHarness({
      tenants,
      vars: { STRIPE_KEY_SHARED: SHARED_KEY, STRIPE_KEY_SHARED_ALIAS: SHARED_KEY, B_JWT_SECRET },
    });
  }

  describe("finding 1: two tenants on one Stripe account with one key", () => {
    for (const [name, accounts, binding] of [
      ["the same binding, no account", {}, "STRIPE_KEY_SHARED"],
      ["the same binding and account", { a: "acct_1Same", b: "acct_1Same" }, "STRIPE_KEY_SHARED"],
      ["two bindings holding the same key", {}, "STRIPE_KEY_SHARED_ALIAS"],
    ] as const) {
      it(`refuses both tenants (${name}): B's key never reads A's session`, async () => {
        const hs = await sharedKeyHarness(accounts, binding);
        // A session of A's, made on the shared account directly (A itself is refused too).
        const made = await hs.stub.fetch(
          new Request(`${STUB_BASE}${SESSIONS}`, {
            method: "POST",
            headers: {
              Authorization: `Bearer ${SHARED_KEY}`,
              "Content-Type": "application/x-www-form-urlencoded",
              ...("a" in accounts && accounts.a ? { "Stripe-Account": accounts.a } : {}),
            },
            body: "type=document&client_reference_id=user_a",
          }),
        );
        const sessionId = ((await made.json()) as Json).id as string;
        const before = hs.stub.requests.length;
        for (const key of [PROXY_KEYS.globex, PROXY_KEYS.acme]) {
          const res = await hs.call(`${SESSIONS}/${sessionId}`, { key });
          expect(res.status).toBe(500);
          expect(((await res.json()) as Json).error.code).toBe("tenant_misconfigured");
        }
        const browser = await hs.call(
          `${SESSIONS}/${sessionId}`,
          browserInit({ host: B_HOST, token: await token("user_a", { secret: B_JWT_SECRET, issuer: `https://auth.${B_HOST}` }) }),
        );
        expect(browser.status).toBe(500);
        expect(hs.stub.requests.length).toBe(before);
        expect(logs.records()).toContainEqual(
          expect.objectContaining({
            event: "tenant_stripe_credentials_shared",
            tenant: "b",
            detail: expect.stringContaining("tenant a"),
          }),
        );
      });
    }

    it("positive control: Connect tenants on one platform key, each with its own account, work and stay isolated", async () => {
      const hs = await sharedKeyHarness({ a: "acct_1TenantA", b: "acct_1TenantB" });
      const created = await hs.call(
        SESSIONS,
        browserInit({
          host: A_HOST,
          method: "POST",
          body: "type=document",
          token: await token("user_same", { issuer: `https://auth.${A_HOST}` }),
        }),
      );
      expect(created.status).toBe(200);
      const sessionId = (await json(created)).id as string;
      expect(hs.stub.requests.at(-1)?.headers.stripeAccount).toBe("acct_1TenantA");
      // A's own key and A's user reach it.
      expect((await hs.call(`${SESSIONS}/${sessionId}`, { key: PROXY_KEYS.acme })).status).toBe(200);
      // B's server key, and B's browser user with the same subject, do not.
      const byKey = await hs.call(`${SESSIONS}/${sessionId}`, { key: PROXY_KEYS.globex });
      expect(byKey.status).toBe(404);
      const bToken = await token("user_same", { secret: B_JWT_SECRET, issuer: `https://auth.${B_HOST}` });
      const byUser = await hs.call(`${SESSIONS}/${sessionId}`, browserInit({ host: B_HOST, token: bToken }));
      expect(byUser.status).toBe(404);
      const list = await json(await hs.call(SESSIONS, { key: PROXY_KEYS.globex }));
      expect((list.data as Json[]).map((s) => s.id)).not.toContain(sessionId);
      expect(hs.stub.requests.at(-1)?.headers.stripeAccount).toBe("acct_1TenantB");
    });
  });

  describe("finding 2: a subject that is not well-formed Unicode", () => {
    it("refuses a lone surrogate that would reach Stripe as U+FFFD, i.e. as another user", async () => {
      const victim = await token("user\ufffdb");
      const created = await h.call(`/identity${SESSIONS}`, browserInit({ method: "POST", body: "type=document", token: victim }));
      expect(created.status).toBe(200);
      const id = (await json(created)).id as string;
      // Positive control: the owner reads it.
      expect((await h.call(`/identity${SESSIONS}/${id}`, browserInit({ token: victim }))).status).toBe(200);
      const before = h.stub.requests.length;
      const attacker = await token("user\ud800b");
      await expectRefused(
        await h.call(`/identity${SESSIONS}/${id}`, browserInit({ token: attacker })),
        401,
        "authentication_required",
        before,
      );
      await expectRefused(
        await h.call(`/identity${SESSIONS}`, browserInit({ method: "POST", body: "type=document", token: attacker })),
        401,
        "authentication_required",
        before,
      );
    });
  });

  describe("finding 3: a hostile Host with the tenant registry bound", () => {
    it("answers a 510-character Host with 401, not 500, and logs no error", async () => {
      expect(h.env.TENANT_REGISTRY).toBeDefined();
      const host = `${"h".repeat(62)}.`.repeat(8).concat("evil.test");
      const before = h.stub.requests.length;
      await expectRefused(
        await h.call(`/identity${SESSIONS}`, browserInit({ host, method: "POST", body: "type=document", token: await token() })),
        401,
        "authentication_required",
        before,
      );
      expect(logs.records().filter((r) => r.level === "error")).toEqual([]);
      // Positive control: the same request on the tenant's host.
      expect(
        (await h.call(`/identity${SESSIONS}`, browserInit({ method: "POST", body: "type=document", token: await token() })))
          .status,
      ).toBe(200);
    });
  });

  describe("finding 5: a body that breaks off", () => {
    const broken = (text: string) => {
      let sent = false;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) controller.error(new TypeError("Network connection lost."));
          else controller.enqueue(new TextEncoder().encode(text));
          sent = true;
        },
      });
    };

    it("answers 400 parameter_invalid on the API, forwards nothing, and logs no unhandled exception", async () => {
      const before = h.stub.requests.length;
      const res = await h.call(SESSIONS, {
        key: PROXY_KEYS.acme,
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: broken("type=doc"),
      });
      await expectRefused(res, 400, "parameter_invalid", before);
      expect(logs.records().filter((r) => r.event === "unhandled_exception")).toEqual([]);
      // Positive control: the whole body.
      expect((await h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme })).status).toBe(200);
    });

    it("answers 400 on the webhook path too", async () => {
      const res = await h.call("/webhooks/stripe/acme", {
        method: "POST",
        headers: { "Stripe-Signature": `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}` },
        body: broken('{"object":"event"'),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error.code).toBe("parameter_invalid");
      expect(logs.records().filter((r) => r.event === "unhandled_exception")).toEqual([]);
    });
  });

  describe("finding 6: cookie tossing", () => {
    async function cookieHarness() {
      const tenants = await testTenants();
      const acme = tenants.acme as { browser: { auth: Record<string, unknown> } };
      acme.browser.auth = { ...acme.browser.auth, cookie: "idtok" };
      return createHarness({ tenants });
    }

    it("refuses a request whose token cookie appears twice (401), whichever comes first", async () => {
      const hc = await cookieHarness();
      const [attacker, victim] = [await token("user_attacker"), await token("user_victim")];
      const create = (cookie: string) =>
        hc.call(`/identity${SESSIONS}`, browserInit({ method: "POST", body: "type=document", headers: { Cookie: cookie } }));
      for (const cookie of [
        `idtok=${attacker}; idtok=${victim}`,
        `idtok=${victim}; other=1; idtok=${attacker}`,
        `idtok=${victim}; idtok=${victim}`,
      ]) {
        const res = await create(cookie);
        expect(res.status, cookie).toBe(401);
        expect(((await res.json()) as Json).error.code).toBe("authentication_required");
      }
      expect(hc.stub.requests).toHaveLength(0);
      // Positive control: one token cookie (beside unrelated cookies) works.
      const ok = await create(`other=1; idtok=${victim}`);
      expect(ok.status).toBe(200);
      await json(ok);
      expect(hc.stub.requests.at(-1)?.params).toMatchObject({ client_reference_id: "user_victim" });
    });
  });

  describe("finding 8: token lifetime", () => {
    it("refuses a token issued in the future beyond the clock skew", async () => {
      const before = h.stub.requests.length;
      const future = await token(SUBJECT, { issuedIn: 3600 });
      await expectRefused(await browserCall(ROUTES[1] as Route, { token: future }), 401, "authentication_required", before);
      expect((await browserCall(ROUTES[1] as Route, { token: await token() })).status).toBe(200);
    });

    it("refuses a token older than the tenant's max_token_age_seconds, whatever its exp", async () => {
      const tenants = await testTenants();
      const acme = tenants.acme as { browser: { auth: Record<string, unknown> } };
      acme.browser.auth = { ...acme.browser.auth, max_token_age_seconds: 600 };
      const hm = await createHarness({ tenants });
      const old = await token(SUBJECT, { expiresIn: 10 * 365 * 86_400, issuedIn: -3600 });
      const res = await hm.call(`/identity${SESSIONS}`, browserInit({ method: "POST", body: "type=document", token: old }));
      expect(res.status).toBe(401);
      expect(hm.stub.requests).toHaveLength(0);
      const fresh = await hm.call(
        `/identity${SESSIONS}`,
        browserInit({ method: "POST", body: "type=document", token: await token() }),
      );
      expect(fresh.status).toBe(200);
      await json(fresh);
    });
  });

  describe("finding 10: the webhook timestamp as Stripe writes it", () => {
    it("refuses t=00<ts> carrying a valid signature over <ts>", async () => {
      const payload = JSON.stringify({ id: "evt_1", object: "event", type: "identity.verification_session.verified" });
      const signed = await signPayload(WEBHOOK_SECRETS.acme, payload, Math.floor(Date.now() / 1000));
      const deliver = (header: string) =>
        h.call("/webhooks/stripe/acme", { method: "POST", headers: { "Stripe-Signature": header }, body: payload });
      const padded = await deliver(signed.replace("t=", "t=00"));
      expect(padded.status).toBe(400);
      expect(((await padded.json()) as Json).error.code).toBe("signature_invalid");
      // Positive control: the header as signed.
      expect((await deliver(signed)).status).toBe(200);
    });
  });
});

/* ------------------------------------------------------------------------------------------------
 * Issue 16 point 4: a browser cannot tell someone else's session from a missing one, whatever the
 * upstream's 404 looks like (the stub's, or real Stripe's: pretty-printed, keys sorted, request_log_url).
 * ---------------------------------------------------------------------------------------------- */

/** Real Stripe's 404 as it is written: pretty-printed, keys alphabetical, doc_url and request_log_url. */
async function asRealStripe404(res: Response): Promise<Response> {
  if (res.status !== 404) return res;
  const { error } = (await res.json()) as Json;
  const requestId = res.headers.get("Request-Id") ?? "req_x";
  const body = {
    error: {
      code: "resource_missing",
      doc_url: "https://stripe.com/docs/error-codes/resource-missing",
      message: error.message,
      param: "id",
      request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}?t=1764633600`,
      type: "invalid_request_error",
    },
  };
  const headers = new Headers(res.headers);
  headers.set("Stripe-Should-Retry", "false");
  return new Response(`${JSON.stringify(body, null, 2)}\n`, { status: 404, headers });
}

/** Everything a browser can observe of an answer, with `id` in the body replaced by a placeholder. */
async function observable(res: Response, id: string) {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  const headers = [...res.headers.entries()].filter(([k]) => k !== "request-id");
  return {
    status: res.status,
    headers,
    requestIdShape: (res.headers.get("Request-Id") ?? "").replace(/[A-Za-z0-9]/g, "x"),
    length: bytes.byteLength,
    body: text.split(id).join("<id>"),
  };
}

describe("16.4: someone else's session vs a missing one, for a browser", () => {
  for (const upstream of ["the stub's 404", "real Stripe's 404 format"] as const) {
    describe(`with ${upstream}`, () => {
      let hh: Harness;
      let owned: string;
      beforeEach(async () => {
        hh = await createHarness(
          upstream === "the stub's 404"
            ? {}
            : { upstream: (stubFetch) => async (r: Request) => asRealStripe404(await stubFetch(r)) },
        );
        const res = await hh.call(
          `/identity${SESSIONS}`,
          browserInit({ method: "POST", body: "type=document", token: await token() }),
        );
        expect(res.status).toBe(200);
        owned = (await json(res)).id;
      });

      for (const [op, method, suffix] of [
        ["retrieve", "GET", ""],
        ["cancel", "POST", "/cancel"],
      ] as const) {
        it(`${op}: status, headers, Request-Id format, length and body bytes are identical`, async () => {
          const missing = `vs_${"0".repeat(owned.length - 3)}`;
          const other = await token("user_other");
          const ask = (id: string) => hh.call(`/identity${SESSIONS}/${id}${suffix}`, browserInit({ method, token: other }));
          const foreign = await observable(await ask(owned), owned);
          const absent = await observable(await ask(missing), missing);
          expect(foreign.status).toBe(404);
          expect(foreign).toEqual(absent);
          expect(JSON.parse(foreign.body).error).toMatchObject({ code: "resource_missing", param: "id" });
          // Nothing was cancelled.
          expect(hh.stub.requests.filter((r) => r.method === "POST" && r.path.includes(owned))).toHaveLength(0);
        });
      }

      it("positive controls: the owner reads its session; a server caller gets Stripe's own 404 unchanged", async () => {
        const mine = await hh.call(`/identity${SESSIONS}/${owned}`, browserInit({ token: await token() }));
        expect(mine.status).toBe(200);
        await json(mine);
        const missing = `vs_${"0".repeat(owned.length - 3)}`;
        const server = await hh.call(`${SESSIONS}/${missing}`, { key: PROXY_KEYS.acme });
        expect(server.status).toBe(404);
        const text = await server.text();
        // The upstream's format differs from the browser's answer in this run, so the equality above
        // is the renderer's doing, not an accident of matching formats.
        if (upstream === "real Stripe's 404 format") expect(text).toContain("request_log_url");
        expect(server.headers.get("Request-Id")).toMatch(/^req_/);
      });
    });
  }
});

/* ------------------------------------------------------------------------------------------------
 * Issue 16 point 9: the key that is validated is the key that is forwarded.
 * ---------------------------------------------------------------------------------------------- */

describe("16.9: encoded brackets in a key", () => {
  it("metadata[a%5Bb] is refused, never forwarded as another key", async () => {
    const before = h.stub.requests.length;
    for (const body of [
      "type=document&metadata[a%5Bb]=1",
      "type=document&metadata[a%5Bb%5D]=1",
      "type=document&metadata[a]b]=1",
    ]) {
      const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme });
      expect(res.status, body).toBe(400);
    }
    const asJson = await h.call(SESSIONS, {
      key: PROXY_KEYS.acme,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ type: "document", metadata: { "a[b": "1" } }),
    });
    expect(asJson.status).toBe(400);
    expect(h.stub.requests.length).toBe(before);
  });

  it("encoded brackets that spell the policy's own parameter are that parameter: no bypass", async () => {
    const before = h.stub.requests.length;
    const res = await h.post(SESSIONS, "type=document&options%5Bdocument%5D%5Brequire_live_capture%5D=false", {
      key: PROXY_KEYS.acme,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: "policy_violation" });
    expect(h.stub.requests.length).toBe(before);
  });

  it("positive control: a plain metadata key is forwarded as sent", async () => {
    const res = await h.post(SESSIONS, "type=document&metadata[a_b]=1", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(200);
    await json(res);
    expect(h.stub.requests.at(-1)?.params?.metadata).toEqual({ a_b: "1" });
  });
});
