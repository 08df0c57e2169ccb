/**
 * `npm start`: what it runs, decided from flags and environment (dev/start-config.ts, pure: no Stripe
 * call), its refusals before anything starts, the readable dev log lines, and .dev.vars.example.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { DEMO_PROXY_KEY_SHA256, demoTenants, demoVars } from "../../dev/demo-tenant.ts";
import { prettyLogLine } from "../../dev/pretty-log.ts";
import { planStart } from "../../dev/start-config.ts";
import { checkTenants } from "../../scripts/lib/tenant-checks.ts";
import { runScript } from "../helpers/run-script.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("planStart", () => {
  it("runs the stub on the default ports with no key", () => {
    expect(planStart({ env: {} })).toEqual({
      ok: true,
      plan: { port: 8787, upstream: { kind: "stub", port: 12111 }, vars: {} },
    });
  });

  it("takes --port over PORT, and PORT over the default", () => {
    const fromEnv = planStart({ env: { PORT: "9000", STUB_PORT: "9001" } });
    expect(fromEnv.ok && fromEnv.plan).toMatchObject({ port: 9000, upstream: { port: 9001 } });
    const fromFlag = planStart({ port: "9100", env: { PORT: "9000" } });
    expect(fromFlag.ok && fromFlag.plan.port).toBe(9100);
  });

  it("refuses a port that is not one, naming where it came from", () => {
    expect(planStart({ env: { PORT: "80a" } })).toEqual({ ok: false, message: 'PORT needs a port number (1-65535), not "80a"' });
    expect(planStart({ port: "70000", env: {} })).toMatchObject({ ok: false, message: expect.stringMatching(/^--port /) });
    expect(planStart({ port: "9000", stubPort: "9000", env: {} })).toMatchObject({ ok: false });
  });

  it("with STRIPE_SECRET_KEY=sk_test_…: no stub, Stripe as upstream, the key as the demo tenant's", () => {
    const r = planStart({ env: { STRIPE_SECRET_KEY: "sk_test_fake123" } });
    expect(r).toEqual({
      ok: true,
      plan: {
        port: 8787,
        upstream: { kind: "stripe", apiBase: "https://api.stripe.com" },
        vars: { STRIPE_API_BASE: "https://api.stripe.com", STRIPE_KEY_DEMO: "sk_test_fake123" },
      },
    });
    // What the Worker gets: the demo's variables with these on top (dev/start.ts).
    const vars = { ...demoVars(8787, "https://api.stripe.com"), ...(r.ok ? r.plan.vars : {}) };
    expect(vars).toMatchObject({ STRIPE_API_BASE: "https://api.stripe.com", STRIPE_KEY_DEMO: "sk_test_fake123", DEV_MODE: "1" });
    expect(JSON.parse(vars.TENANTS ?? "")).toEqual(demoTenants(8787));
  });

  it("takes STRIPE_API_BASE in test mode (e.g. stripe-mock) and restricted test keys", () => {
    const r = planStart({ env: { STRIPE_SECRET_KEY: "rk_test_fake123", STRIPE_API_BASE: "http://127.0.0.1:12111/" } });
    expect(r.ok && r.plan.upstream).toEqual({ kind: "stripe", apiBase: "http://127.0.0.1:12111" });
  });

  it("refuses a live key (the demo proxy key is published) and anything not a test key", () => {
    for (const key of ["sk_live_fake123", "rk_live_fake123"])
      expect(planStart({ env: { STRIPE_SECRET_KEY: key } })).toMatchObject({
        ok: false,
        message: expect.stringMatching(/live key/),
      });
    expect(planStart({ env: { STRIPE_SECRET_KEY: "pk_test_fake" } })).toMatchObject({ ok: false });
    expect(planStart({ env: { STRIPE_SECRET_KEY: "sk_test_x; rm -rf" } })).toMatchObject({ ok: false });
  });

  it("passes the registry's KEK through, so sealed tenant secrets open under npm start", () => {
    const r = planStart({ env: { TENANT_KEK: "a2V5", TENANT_KEK_ID: "2026-11", OTHER: "x" } });
    expect(r.ok && r.plan.vars).toEqual({ TENANT_KEK: "a2V5", TENANT_KEK_ID: "2026-11" });
  });
});

describe("npm start refuses before starting anything", () => {
  it("a live key: one line, exit 2", async () => {
    const r = await runScript("dev/start.ts", [], { STRIPE_SECRET_KEY: "sk_live_fake123" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("live key");
    expect(r.stderr + r.stdout).not.toContain("sk_live_fake123");
  });

  it("a busy port: one line naming the port and the way out, exit 1, no stack trace", async () => {
    const server: Server = createServer();
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runScript("dev/start.ts", ["--port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(
        `npm start: port ${port} (the proxy) is in use, perhaps by another npm start; stop it or pick another with --port N or PORT=N`,
      );
      expect(r.stdout).toBe("");
    } finally {
      server.close();
    }
  });
});

describe("dev log lines", () => {
  const access =
    '{"level":"info","time":"2026-12-02T00:54:56.123Z","event":"request","request_id":"req_edge_1","tenant":"demo","role":"server","operation":"create","method":"POST","route":"/v1/identity/verification_sessions","status":200,"duration_ms":83,"cache":"MISS","policy":"injected:allowed_types"}';

  it("turn the JSON access line into one short line", () => {
    expect(prettyLogLine(access)).toBe(
      "00:54:56 200 POST /v1/identity/verification_sessions tenant=demo server create 83ms cache=MISS policy=injected:allowed_types req_edge_1",
    );
  });

  it("drop wrangler's own per-request line, which would repeat it", () => {
    expect(prettyLogLine("[wrangler:info] POST /v1/identity/verification_sessions 200 OK (85ms)")).toBeNull();
    expect(prettyLogLine("[wrangler:info] Ready on http://127.0.0.1:8787")).toBe(
      "[wrangler:info] Ready on http://127.0.0.1:8787",
    );
  });

  it("show warnings with their fields and pass other text through", () => {
    expect(
      prettyLogLine(
        '{"level":"warn","time":"2026-12-02T01:00:00.000Z","event":"tenant_secret_missing","tenant":"acme","binding":"STRIPE_KEY_ACME"}',
      ),
    ).toBe("01:00:00 WARN tenant_secret_missing tenant=acme binding=STRIPE_KEY_ACME");
    expect(prettyLogLine("not { json }")).toBe("not { json }");
    expect(prettyLogLine('{"no":"event"}')).toBe('{"no":"event"}');
  });
});

describe(".dev.vars.example", () => {
  const vars = parseEnv(readFileSync(resolve(root, ".dev.vars.example"), "utf8"));

  it("holds the demo tenant for localhost:8787 as single-quoted JSON that the Worker accepts", () => {
    const tenants = JSON.parse(vars.TENANTS ?? "") as unknown;
    expect(tenants).toEqual(demoTenants(8787));
    expect(checkTenants(tenants)).toEqual([]);
    expect(readFileSync(resolve(root, ".dev.vars.example"), "utf8")).toMatch(/^TENANTS='\{/m);
  });

  it("points at Stripe test mode with a placeholder test key, and names every secret the demo tenant reads", () => {
    expect(vars.STRIPE_API_BASE).toBe("https://api.stripe.com");
    expect(vars.STRIPE_KEY_DEMO).toMatch(/^sk_test_/);
    const demo = demoTenants(8787).demo as { stripe: Record<string, string>; browser: { auth: { hs256_secret: string } } };
    for (const name of [
      demo.stripe.secret_key,
      demo.stripe.webhook_secret,
      demo.browser.auth.hs256_secret,
      "CACHE_ENCRYPTION_KEY",
      "DEV_MODE",
    ])
      expect(vars, String(name)).toHaveProperty(String(name));
    expect(DEMO_PROXY_KEY_SHA256).toMatch(/^[0-9a-f]{64}$/);
  });
});
