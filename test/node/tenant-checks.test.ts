import { describe, expect, it } from "vitest";
import { checkTenants, findSharedStripeCredentials, formatPath } from "../../scripts/lib/tenant-checks.ts";
import { buildRegistry } from "../../src/config/load.ts";
import { parseTenantConfig } from "../../src/config/schema.ts";

const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);

/** A valid tenant; `patch` replaces top-level fields, `verification` merges into the policy. */
function tenant(patch: Record<string, unknown> = {}, verification: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hosts: ["app.acme.test"],
    path_prefix: "/identity",
    stripe: { secret_key: "STRIPE_KEY_ACME" },
    verification: {
      session_types: ["document"],
      return_urls: ["https://app.acme.test/identity/done"],
      default_return_url: "https://app.acme.test/identity/done",
      ...verification,
    },
    browser: { origins: ["https://app.acme.test"], auth: { type: "none" } },
    server_keys: [{ name: "backend", sha256: HASH_A }],
    ...patch,
  };
}

function paths(raw: unknown): string[] {
  return checkTenants(raw).map((i) => i.path);
}

describe("checkTenants: valid configs", () => {
  it.each([
    ["an empty object", {}],
    ["an empty string (unset)", ""],
    ["undefined", undefined],
    ["one tenant", { acme: tenant() }],
    ["the same config as a JSON string", JSON.stringify({ acme: tenant() })],
    [
      "local http return URLs and origins",
      {
        acme: tenant(
          { browser: { origins: ["http://localhost:8787", "http://127.0.0.1:8787"], auth: { type: "none" } } },
          { return_urls: ["http://localhost:8787/demo/"], default_return_url: "http://localhost:8787/demo/" },
        ),
      },
    ],
    [
      "a default_return_url below an entry",
      { acme: tenant({}, { default_return_url: "https://app.acme.test/identity/done/thanks?from=stripe" }) },
    ],
    [
      "two tenants on disjoint prefixes of one host",
      {
        a: tenant({ path_prefix: "/id" }),
        b: tenant({ path_prefix: "/identity", server_keys: [], stripe: { secret_key: "STRIPE_KEY_B" } }),
      },
    ],
    [
      "two tenants on different hosts, no prefixes",
      {
        a: tenant({ path_prefix: undefined }),
        b: tenant({ hosts: ["id.globex.test"], path_prefix: undefined, server_keys: [], stripe: { secret_key: "STRIPE_KEY_B" } }),
      },
    ],
    [
      "Connect tenants sharing one platform key, each with its own account",
      {
        a: tenant({ stripe: { secret_key: "STRIPE_PLATFORM", account: "acct_1A" } }),
        b: tenant({ hosts: ["b.test"], server_keys: [], stripe: { secret_key: "STRIPE_PLATFORM", account: "acct_1B" } }),
        // The platform's own account is a different account from each connected one.
        p: tenant({ hosts: ["p.test"], server_keys: [], stripe: { secret_key: "STRIPE_PLATFORM" } }),
      },
    ],
    [
      "binding names that merely mention keys",
      { acme: tenant({ stripe: { secret_key: "STRIPE_SK_LIVE_ACME", webhook_secret: "WHSEC_ACME" } }) },
    ],
  ])("accepts %s", (_label, raw) => {
    expect(checkTenants(raw)).toEqual([]);
  });
});

describe("checkTenants: problems, with their paths", () => {
  it.each([
    ["TENANTS not JSON", "TENANTS", "{nope", /not valid JSON/],
    ["TENANTS an array", "TENANTS", [], /must be an object/],
    ["a bad tenant id", '["Acme Corp"]', { "Acme Corp": tenant() }, /tenant ids/],
    [
      "a misspelt field",
      "acme.verification.require_live_captur",
      { acme: tenant({}, { require_live_captur: true }) },
      /not a field/,
    ],
    ["a missing stripe section", "acme.stripe", { acme: tenant({ stripe: undefined }) }, /.+/],
    [
      "an http return URL",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["http://app.acme.test/identity/done"], default_return_url: undefined }) },
      /absolute https URL/,
    ],
    [
      "a relative return URL",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["/identity/done"], default_return_url: undefined }) },
      /absolute URL/,
    ],
    [
      "a return URL with userinfo",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["https://u@app.acme.test/x"], default_return_url: undefined }) },
      /userinfo/,
    ],
    [
      "a return URL with a query",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["https://app.acme.test/x?a=1"], default_return_url: undefined }) },
      /query/,
    ],
    [
      "a return URL with a fragment",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["https://app.acme.test/x#a"], default_return_url: undefined }) },
      /fragment/,
    ],
    [
      "a Unicode return URL host",
      "acme.verification.return_urls[0]",
      { acme: tenant({}, { return_urls: ["https://bücher.example/x"], default_return_url: undefined }) },
      /punycode/,
    ],
    [
      "a default outside the allow-list",
      "acme.verification.default_return_url",
      { acme: tenant({}, { default_return_url: "https://app.acme.test/elsewhere" }) },
      /return_urls/,
    ],
    [
      "a default with no allow-list",
      "acme.verification.default_return_url",
      { acme: tenant({}, { return_urls: [] }) },
      /return_urls/,
    ],
    [
      "a default next to a bad entry",
      "acme.verification.default_return_url",
      { acme: tenant({}, { return_urls: ["http://x.test/", "https://app.acme.test/ok"] }) },
      /return_urls/,
    ],
    [
      "an http origin",
      "acme.browser.origins[0]",
      { acme: tenant({ browser: { origins: ["http://app.acme.test"], auth: { type: "none" } } }) },
      /https/,
    ],
    [
      "an origin with a path",
      "acme.browser.origins[0]",
      { acme: tenant({ browser: { origins: ["https://app.acme.test/"], auth: { type: "none" } } }) },
      /origin/,
    ],
    [
      "a Stripe key as secret_key",
      "acme.stripe.secret_key",
      { acme: tenant({ stripe: { secret_key: "sk_live_51HxAbCdEfGh0123" } }) },
      /sk_/,
    ],
    [
      "a restricted key",
      "acme.stripe.secret_key",
      { acme: tenant({ stripe: { secret_key: "rk_test_51HxAbCdEfGh0123" } }) },
      /rk_/,
    ],
    [
      "a webhook secret",
      "acme.stripe.webhook_secret",
      { acme: tenant({ stripe: { secret_key: "K", webhook_secret: "whsec_abcdefgh12345678" } }) },
      /whsec_/,
    ],
    [
      "a proxy key instead of its hash",
      "acme.server_keys[0].sha256",
      { acme: tenant({ server_keys: [{ name: "backend", sha256: `iek_live_${"x".repeat(40)}` }] }) },
      /iek_/,
    ],
    [
      "a JWT as the HS256 secret",
      "acme.browser.auth.hs256_secret",
      {
        acme: tenant({
          browser: {
            auth: { type: "jwt", issuer: "i", audience: "a", hs256_secret: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.x" },
          },
        }),
      },
      /JWT/,
    ],
    [
      "a key hidden in a URL",
      "acme.browser.auth.jwks_url",
      {
        acme: tenant({
          browser: {
            auth: { type: "jwt", issuer: "i", audience: "a", jwks_url: "https://a.test/jwks?k=sk_live_51HxAbCdEfGh0123" },
          },
        }),
      },
      /sk_/,
    ],
    [
      "the same host, no prefixes",
      "b.hosts[0]",
      { a: tenant({ path_prefix: undefined }), b: tenant({ path_prefix: undefined, server_keys: [] }) },
      /overlaps tenant a/,
    ],
    ["the same host and prefix", "b.hosts[0]", { a: tenant(), b: tenant({ server_keys: [] }) }, /overlaps tenant a/],
    [
      "a nested prefix",
      "b.hosts[0]",
      { a: tenant(), b: tenant({ path_prefix: "/identity/admin", server_keys: [] }) },
      /overlaps/,
    ],
    [
      "a prefix under a tenant without one",
      "b.hosts[0]",
      { a: tenant({ path_prefix: undefined }), b: tenant({ server_keys: [] }) },
      /overlaps/,
    ],
    [
      "the default port spelled out",
      "b.hosts[0]",
      { a: tenant(), b: tenant({ hosts: ["app.acme.test:443"], server_keys: [] }) },
      /overlaps/,
    ],
    ["a key hash given to two tenants", "b.server_keys[0].sha256", { a: tenant(), b: tenant({ hosts: ["b.test"] }) }, /tenant a/],
    [
      "a key hash listed twice",
      "a.server_keys[1].sha256",
      {
        a: tenant({
          server_keys: [
            { name: "x", sha256: HASH_B },
            { name: "y", sha256: HASH_B },
          ],
        }),
      },
      /this tenant/,
    ],
  ])("%s → %s", (_label, path, raw, message) => {
    const issues = checkTenants(raw);
    const atPath = issues.filter((i) => i.path === path);
    expect(atPath.length, JSON.stringify(issues)).toBeGreaterThan(0);
    expect(
      atPath.some((i) => message.test(i.message)),
      JSON.stringify(atPath),
    ).toBe(true);
  });

  it("reserves the tenant id connect (the Connect platform webhook endpoint) and flags a pasted events secret", () => {
    expect(checkTenants({ connect: tenant() })).toEqual([
      { path: "connect", message: "is reserved (/webhooks/stripe/connect is the Connect platform endpoint)" },
    ]);
    const pasted = `whsec_${btoa("test-fake-events-secret-32-bytes")}`;
    const issues = checkTenants({ acme: tenant({ events: { url: "https://b.acme.test/events", signing_secret: pasted } }) });
    expect(issues.map((i) => i.path)).toContain("acme.events.signing_secret");
    expect(JSON.stringify(issues)).not.toContain(pasted);
  });

  it("never echoes a pasted secret", () => {
    const secret = "sk_live_51HxAbCdEfGh0123456789";
    const issues = checkTenants({ acme: tenant({ stripe: { secret_key: secret } }) });
    expect(issues.length).toBeGreaterThan(0);
    expect(JSON.stringify(issues)).not.toContain(secret);
  });

  it("reports every problem, not only the first", () => {
    const raw = {
      acme: tenant(
        { browser: { origins: ["http://app.acme.test"], auth: { type: "none" } } },
        { return_urls: ["http://a.test/"], default_return_url: "https://evil.test/" },
      ),
      copy: tenant({ stripe: { secret_key: "sk_test_0123456789abcdef" } }),
    };
    expect(paths(raw)).toEqual(
      expect.arrayContaining([
        "acme.verification.return_urls[0]",
        "acme.verification.default_return_url",
        "acme.browser.origins[0]",
        "copy.stripe.secret_key",
        "copy.hosts[0]",
        "copy.server_keys[0].sha256",
      ]),
    );
  });
});

describe("findSharedStripeCredentials: two tenants on one Stripe account with one credential", () => {
  const other = (stripe: Record<string, unknown>) => tenant({ hosts: ["b.test"], server_keys: [], stripe });

  it.each([
    ["the same binding, no account", { secret_key: "STRIPE_KEY_ACME" }, { secret_key: "STRIPE_KEY_ACME" }],
    [
      "the same binding and account",
      { secret_key: "STRIPE_PLATFORM", account: "acct_1A" },
      { secret_key: "STRIPE_PLATFORM", account: "acct_1A" },
    ],
  ])("refuses %s, on the later tenant", (_label, a, b) => {
    const issues = checkTenants({ a: tenant({ stripe: a }), b: other(b) });
    expect(issues).toEqual([{ path: "b.stripe.secret_key", message: expect.stringContaining("reaches Stripe like tenant a") }]);
  });

  it("refuses registry tenants whose sealed keys have the same fingerprint and account", () => {
    const sealed = { secret_key_ref: "kv", account: "acct_1A" };
    const fingerprints = new Map([
      ["a", "f".repeat(64)],
      ["b", "f".repeat(64)],
    ]);
    const issues = findSharedStripeCredentials({ a: tenant({ stripe: sealed }), b: other(sealed) }, fingerprints);
    expect(issues).toEqual([{ path: "b.stripe.secret_key_ref", message: expect.stringContaining("the same sealed Stripe key") }]);
    // Positive controls: different fingerprints, or an unknown one (no key stored yet), are no conflict.
    expect(
      findSharedStripeCredentials(
        { a: tenant({ stripe: sealed }), b: other(sealed) },
        new Map([
          ["a", "f".repeat(64)],
          ["b", "e".repeat(64)],
        ]),
      ),
    ).toEqual([]);
    expect(
      findSharedStripeCredentials({ a: tenant({ stripe: sealed }), b: other(sealed) }, new Map([["a", "f".repeat(64)]])),
    ).toEqual([]);
  });

  it("never echoes anything but binding names and account ids", () => {
    const [issue] = checkTenants({ a: tenant(), b: other({ secret_key: "STRIPE_KEY_ACME" }) });
    expect(issue?.message).toContain("STRIPE_KEY_ACME");
    expect(issue?.message).toContain("no stripe.account");
  });
});

describe("formatPath", () => {
  it.each([
    [["acme", "verification", "return_urls", 0], "acme.verification.return_urls[0]"],
    [["acme", "server_keys", 1, "sha256"], "acme.server_keys[1].sha256"],
    [["my tenant", "hosts"], '["my tenant"].hosts'],
    [[], ""],
  ])("%j → %s", (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});

describe("the schema refinements also hold at run time", () => {
  it("marks a tenant whose return_urls are not https as misconfigured", () => {
    const registry = buildRegistry({
      acme: tenant({}, { return_urls: ["http://app.acme.test/identity/done"], default_return_url: undefined }),
    });
    expect(registry.tenants.get("acme")).toMatchObject({ ok: false, issues: [{ path: "verification.return_urls.0" }] });
  });

  it("refuses a default_return_url outside return_urls", () => {
    const parsed = parseTenantConfig(tenant({}, { default_return_url: "https://evil.test/" }));
    expect(parsed).toMatchObject({ ok: false, issues: [{ path: "verification.default_return_url" }] });
  });

  it("reports one issue per field (abortPipeEarly)", () => {
    const parsed = parseTenantConfig(tenant({}, { return_urls: ["not a url"], default_return_url: undefined }));
    expect(parsed).toMatchObject({
      ok: false,
      issues: [{ path: "verification.return_urls.0", message: "must be an absolute URL" }],
    });
    if (!parsed.ok) expect(parsed.issues).toHaveLength(1);
  });
});
