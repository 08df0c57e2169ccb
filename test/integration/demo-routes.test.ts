/**
 * The dev-only demo routes (dev/demo/): only the dev entry (dev/worker.ts, what `npm start` runs)
 * adds them, and even there they answer only with DEV_MODE=1 on a loopback host; the page's
 * security headers, and the dev login: it signs only for a tenant that trusts the dev login's own
 * issuer, only for a same-origin page, and the token it mints is one the proxy accepts.
 */
import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { DEV_LOGIN_ISSUER, DEV_TOKEN_TTL_SECONDS } from "../../dev/demo/dev-token.ts";
import { handleDemoRequest } from "../../dev/demo/routes.ts";
import { ACME_JWT_AUDIENCE, ACME_JWT_ISSUER, createHarness, SECRETS } from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";

const HOST = "127.0.0.1:8787";
const ORIGIN = `https://${HOST}`;
const REAL_IDP_HOST = "localhost:8787";
const DEMO_SECRET = "test-fake-demo-jwt-secret-0123456789abcdef";
const AUDIENCE = "identity-edge-demo";

const logs = useLogCapture({ secrets: [...SECRETS, DEMO_SECRET] });

function tenants(): Record<string, unknown> {
  const stripe = { secret_key: "STRIPE_KEY_ACME", api_version: "2026-07-29.dahlia" };
  const verification = { session_types: ["document"], return_urls: [`${ORIGIN}/demo/`] };
  return {
    demo: {
      hosts: [HOST],
      stripe,
      verification,
      browser: {
        origins: [ORIGIN],
        auth: { type: "jwt", issuer: DEV_LOGIN_ISSUER, audience: AUDIENCE, hs256_secret: "DEMO_JWT_SECRET" },
      },
    },
    // Trusts a real identity provider: the dev login must never sign for it, even with its secret at hand.
    realidp: {
      hosts: [REAL_IDP_HOST],
      stripe: { ...stripe, account: "acct_1RealIdp" },
      verification,
      browser: { auth: { type: "jwt", issuer: ACME_JWT_ISSUER, audience: ACME_JWT_AUDIENCE, hs256_secret: "DEMO_JWT_SECRET" } },
    },
  };
}

/** The request path as dev/worker.ts wires it: the deployed router plus the demo's routes. */
async function harness(vars: Record<string, unknown> = { DEV_MODE: "1" }, devRoutes = handleDemoRequest) {
  return createHarness({ tenants: tenants(), vars: { DEMO_JWT_SECRET: DEMO_SECRET, ...vars }, devRoutes });
}

function login(
  h: Awaited<ReturnType<typeof harness>>,
  body: string,
  init: { host?: string; headers?: Record<string, string> } = {},
) {
  return h.call("/demo/login", {
    method: "POST",
    host: init.host ?? HOST,
    body,
    headers: { "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin", ...init.headers },
  });
}

describe("gating", () => {
  it("the deployed Worker serves no demo, even with DEV_MODE=1 on a loopback host", async () => {
    const h = await createHarness({ tenants: tenants(), vars: { DEMO_JWT_SECRET: DEMO_SECRET, DEV_MODE: "1" } });
    for (const path of ["/demo", "/demo/", "/demo/app.js", "/demo/demo.css", "/demo/favicon.svg"]) {
      const res = await h.call(path, { host: HOST, redirect: "manual" });
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^Unrecognized request URL/);
    }
    expect((await login(h, '{"user":"alice"}')).status).toBe(404);
    // The same request through the dev entry's routes is served: the 404 above is the entry, not the request.
    expect((await login(await harness(), '{"user":"alice"}')).status).toBe(200);
  });

  it("serves nothing without DEV_MODE=1", async () => {
    for (const vars of [{}, { DEV_MODE: "0" }, { DEV_MODE: "true" }]) {
      const h = await harness(vars);
      const page = await h.call("/demo/", { host: HOST });
      expect(page.status).toBe(404);
      // Stripe's unknown-URL 404: a message, no code (issue 15 point 10).
      expect(((await page.json()) as { error: { message: string } }).error.message).toMatch(/^Unrecognized request URL/);
      expect((await login(h, '{"user":"alice"}')).status).toBe(404);
    }
  });

  it("serves nothing on a host that is not loopback, even with DEV_MODE=1", async () => {
    const h = await harness();
    expect((await h.call("/demo/", { host: "app.acme.test" })).status).toBe(404);
    expect((await login(h, '{"user":"alice"}', { host: "demo.example.com" })).status).toBe(404);
  });

  it("answers only its own paths and methods", async () => {
    const h = await harness();
    expect((await h.call("/demo/nope", { host: HOST })).status).toBe(404);
    expect((await h.call("/demo/", { host: HOST, method: "POST" })).status).toBe(404);
    expect((await h.call("/demo/login", { host: HOST })).status).toBe(404);
    expect((await h.call("/demonstration", { host: HOST })).status).toBe(404);
  });
});

describe("the page", () => {
  it("is static, with a strict CSP and no framing", async () => {
    const h = await harness();
    const res = await h.call("/demo/", { host: HOST });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain('<script src="/demo/app.js" defer></script>');
    expect(html).not.toMatch(/<script>|<style>|\son[a-z]+=/);

    const redirect = await h.call("/demo", { host: HOST, redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/demo/");
    const script = await h.call("/demo/app.js", { host: HOST });
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await h.call("/demo/demo.css", { host: HOST })).headers.get("content-type")).toBe("text/css; charset=utf-8");
    // The icon the page links is served from 'self' (the CSP's img-src), so the browser gets no 404.
    expect(html).toContain('<link rel="icon" href="/demo/favicon.svg" type="image/svg+xml">');
    const icon = await h.call("/demo/favicon.svg", { host: HOST });
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(await icon.text()).toMatch(/^<svg /);
    // The disabled start button says why.
    expect(html).toMatch(
      /<button id="start" type="submit" disabled aria-describedby="start-hint">[^<]*<\/button>\s*<span id="start-hint"[^>]*>Sign in first/,
    );
  });
});

describe("the dev login", () => {
  it("mints a short-lived HS256 token for the dev issuer that the proxy accepts as that user", async () => {
    const h = await harness();
    const res = await login(h, '{"user":"alice"}');
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { token: string; subject: string; expires_at: number };
    logs.secret(body.token);
    expect(body.subject).toBe("alice");
    const { payload, protectedHeader } = await jwtVerify(body.token, new TextEncoder().encode(DEMO_SECRET), {
      issuer: DEV_LOGIN_ISSUER,
      audience: AUDIENCE,
      algorithms: ["HS256"],
    });
    expect(protectedHeader).toEqual({ alg: "HS256", typ: "JWT" });
    expect(payload.sub).toBe("alice");
    expect(payload.exp).toBe(body.expires_at);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(DEV_TOKEN_TTL_SECONDS);

    const created = await h.call("/v1/identity/verification_sessions", {
      method: "POST",
      host: HOST,
      body: "type=document",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin",
        Authorization: `Bearer ${body.token}`,
      },
    });
    expect(created.status).toBe(200);
    const session = (await created.json()) as { id: string; client_secret: string; url: string };
    logs.secret(session.client_secret, session.url);
    expect(h.stub.sessions().find((s) => s.id === session.id)?.client_reference_id).toBe("alice");
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ event: "request", route: "/demo/login", tenant: "demo", status: 200 }),
    );
  });

  it("never signs for a tenant that trusts another issuer", async () => {
    const h = await harness();
    const res = await login(h, '{"user":"alice"}', { host: REAL_IDP_HOST });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("operation_not_allowed");
  });

  it("refuses cross-site callers, other media types and bad user names", async () => {
    const h = await harness();
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(await code(await login(h, '{"user":"a"}', { headers: { "Sec-Fetch-Site": "cross-site" } }))).toEqual([
      403,
      "origin_not_allowed",
    ]);
    expect(
      await code(await login(h, '{"user":"a"}', { headers: { "Sec-Fetch-Site": "", Origin: "https://evil.test" } })),
    ).toEqual([403, "origin_not_allowed"]);
    expect(
      await code(await login(h, "user=alice", { headers: { "Content-Type": "application/x-www-form-urlencoded" } })),
    ).toEqual([415, "unsupported_media_type"]);
    for (const body of [
      "not json",
      "{}",
      '{"user":""}',
      '{"user":"-x"}',
      '{"user":"a b"}',
      `{"user":"${"a".repeat(65)}"}`,
      '{"user":7}',
    ]) {
      expect(await code(await login(h, body))).toEqual([400, "parameter_invalid"]);
    }
    expect(await code(await login(h, JSON.stringify({ user: "a", pad: "x".repeat(2000) })))).toEqual([413, "body_too_large"]);
  });

  it("answers tenant_misconfigured when the secret binding is missing or too short", async () => {
    for (const secret of [undefined, "short"]) {
      const h = await harness({ DEV_MODE: "1", DEMO_JWT_SECRET: secret });
      const res = await login(h, '{"user":"alice"}');
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("tenant_misconfigured");
    }
  });
});
