import { describe, expect, it } from "vitest";
import {
  CORS_ALLOWED_HEADERS,
  type PreflightInput,
  checkBrowserOrigin,
  checkPreflight,
  corsResponseHeaders,
  type OriginInput,
  preflightHeaders,
} from "../../src/auth/origin.ts";

const OWN = "https://app.acme.test";
const EXTRA = "https://www.acme.test";
const base: OriginInput = { method: "POST", secFetchSite: null, origin: null, ownOrigin: OWN, allowedOrigins: [OWN, EXTRA] };

describe("checkBrowserOrigin: unsafe methods need proof of origin", () => {
  const accepted: [string, Partial<OriginInput>][] = [
    ["Sec-Fetch-Site: same-origin", { secFetchSite: "same-origin" }],
    ["Sec-Fetch-Site: same-origin, any case and spacing", { secFetchSite: " Same-Origin " }],
    ["same-origin with its own Origin", { secFetchSite: "same-origin", origin: OWN }],
    ["own Origin without Sec-Fetch-Site (older browsers)", { origin: OWN }],
    ["listed extra Origin without Sec-Fetch-Site", { origin: EXTRA }],
    ["listed extra Origin, same-site", { secFetchSite: "same-site", origin: EXTRA }],
    ["listed extra Origin, cross-site", { secFetchSite: "cross-site", origin: EXTRA }],
  ];
  for (const [name, input] of accepted) {
    it(`accepts ${name}`, () => expect(checkBrowserOrigin({ ...base, ...input }).ok).toBe(true));
  }

  const refused: [string, Partial<OriginInput>, string][] = [
    ["neither header", {}, "no_proof"],
    ["Sec-Fetch-Site: none (not from a page)", { secFetchSite: "none" }, "no_proof"],
    ["Sec-Fetch-Site: cross-site", { secFetchSite: "cross-site" }, "cross_site"],
    ["Sec-Fetch-Site: same-site", { secFetchSite: "same-site" }, "cross_site"],
    ["Origin: null", { origin: "null" }, "origin_not_listed"],
    ["Origin: null with cross-site", { origin: "null", secFetchSite: "cross-site" }, "origin_not_listed"],
    ["a prefix lookalike", { origin: "https://app.acme.test.evil.test" }, "origin_not_listed"],
    ["a suffix lookalike", { origin: "https://evilapp.acme.test" }, "origin_not_listed"],
    ["a sibling subdomain", { origin: "https://evil.acme.test" }, "origin_not_listed"],
    ["another scheme", { origin: "http://app.acme.test" }, "origin_not_listed"],
    ["another port", { origin: "https://app.acme.test:8443" }, "origin_not_listed"],
    ["the default port spelled out", { origin: "https://app.acme.test:443" }, "origin_not_listed"],
    ["a trailing dot", { origin: "https://app.acme.test." }, "origin_not_listed"],
    ["uppercase", { origin: "https://APP.acme.test" }, "origin_not_listed"],
    ["a trailing slash", { origin: "https://app.acme.test/" }, "origin_not_listed"],
    ["a path", { origin: "https://app.acme.test/identity" }, "origin_not_listed"],
    ["userinfo", { origin: "https://app.acme.test@evil.test" }, "origin_not_listed"],
    ["an empty Origin", { origin: "" }, "origin_not_listed"],
    ["an unlisted Origin with cross-site", { origin: "https://evil.test", secFetchSite: "cross-site" }, "origin_not_listed"],
  ];
  for (const [name, input, reason] of refused) {
    it(`refuses ${name}`, () => expect(checkBrowserOrigin({ ...base, ...input })).toEqual({ ok: false, reason }));
  }

  it("applies to every unsafe method, whatever its case", () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND"]) {
      expect(checkBrowserOrigin({ ...base, method }).ok).toBe(false);
    }
  });

  it("never trusts a listed origin when the tenant lists none and it is not the request's own", () => {
    expect(checkBrowserOrigin({ ...base, allowedOrigins: [], origin: EXTRA }).ok).toBe(false);
  });
});

describe("checkBrowserOrigin: safe methods", () => {
  const get = { ...base, method: "GET" };
  it("accepts a plain client or a typed-in URL", () => {
    expect(checkBrowserOrigin(get).ok).toBe(true);
    expect(checkBrowserOrigin({ ...get, secFetchSite: "none" }).ok).toBe(true);
  });
  it("refuses what a browser says is cross-site or same-site (an <img> or <script> on another site)", () => {
    expect(checkBrowserOrigin({ ...get, secFetchSite: "cross-site" })).toEqual({ ok: false, reason: "cross_site" });
    expect(checkBrowserOrigin({ ...get, secFetchSite: "same-site" })).toEqual({ ok: false, reason: "cross_site" });
  });
  it("refuses an unlisted Origin", () => {
    expect(checkBrowserOrigin({ ...get, origin: "https://evil.test" }).ok).toBe(false);
    expect(checkBrowserOrigin({ ...get, origin: "null" }).ok).toBe(false);
  });
});

describe("CORS", () => {
  it("names a listed extra origin for CORS, and not the request's own", () => {
    expect(checkBrowserOrigin({ ...base, origin: EXTRA })).toEqual({ ok: true, corsOrigin: EXTRA });
    expect(checkBrowserOrigin({ ...base, secFetchSite: "cross-site", origin: EXTRA })).toEqual({ ok: true, corsOrigin: EXTRA });
    expect(checkBrowserOrigin({ ...base, origin: OWN })).toEqual({ ok: true });
    expect(checkBrowserOrigin({ ...base, secFetchSite: "same-origin", origin: OWN })).toEqual({ ok: true });
  });

  it("response headers echo only the exact origin, with Vary: Origin", () => {
    expect(corsResponseHeaders(EXTRA, false)).toEqual({
      "Access-Control-Allow-Origin": EXTRA,
      "Access-Control-Expose-Headers": "Request-Id",
      Vary: "Origin",
    });
    expect(corsResponseHeaders(EXTRA, true)["Access-Control-Allow-Credentials"]).toBe("true");
  });

  const pre: PreflightInput = {
    origin: EXTRA,
    requestMethod: "POST",
    requestHeaders: "content-type, authorization",
    allowedOrigins: [EXTRA],
    allowedMethods: ["POST", "GET"],
  };
  it("preflight: accepts a listed origin, an allowed method and the three allowed headers", () => {
    expect(checkPreflight(pre)).toEqual({ ok: true, origin: EXTRA });
    expect(checkPreflight({ ...pre, requestHeaders: "Idempotency-Key,Authorization,Content-Type" }).ok).toBe(true);
    expect(checkPreflight({ ...pre, requestHeaders: null }).ok).toBe(true);
  });
  const preRefused: [string, Partial<PreflightInput>, string][] = [
    ["an unlisted origin", { origin: "https://evil.test" }, "origin_not_listed"],
    ["Origin: null", { origin: "null" }, "origin_not_listed"],
    ["no Origin", { origin: null }, "origin_not_listed"],
    ["a lookalike", { origin: "https://www.acme.test.evil.test" }, "origin_not_listed"],
    ["a method the tenant's operations do not use", { requestMethod: "DELETE" }, "method_not_allowed"],
    ["a lowercase method (methods are case-sensitive in CORS)", { requestMethod: "post" }, "method_not_allowed"],
    ["no method", { requestMethod: null }, "method_not_allowed"],
    ["Stripe-Account", { requestHeaders: "authorization, stripe-account" }, "header_not_allowed"],
    ["Stripe-Version", { requestHeaders: "stripe-version" }, "header_not_allowed"],
    ["Cookie", { requestHeaders: "cookie" }, "header_not_allowed"],
  ];
  for (const [name, input, reason] of preRefused) {
    it(`preflight: refuses ${name}`, () => expect(checkPreflight({ ...pre, ...input })).toEqual({ ok: false, reason }));
  }

  it("preflight headers: exact origin, the tenant's methods, the fixed header list, Vary", () => {
    const headers = preflightHeaders(EXTRA, ["POST", "GET"], false);
    expect(headers["Access-Control-Allow-Origin"]).toBe(EXTRA);
    expect(headers["Access-Control-Allow-Methods"]).toBe("POST, GET");
    expect(headers["Access-Control-Allow-Headers"]).toBe(CORS_ALLOWED_HEADERS.join(", "));
    expect(headers.Vary).toContain("Origin");
    expect(headers["Access-Control-Allow-Credentials"]).toBeUndefined();
    expect(preflightHeaders(EXTRA, ["POST"], true)["Access-Control-Allow-Credentials"]).toBe("true");
  });
});
