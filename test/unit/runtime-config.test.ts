import { describe, expect, it } from "vitest";
import { parseRuntimeConfig, runtimeConfig } from "../../src/config/runtime.ts";
import type { Env } from "../../src/env.ts";
import { resetIsolateCaches } from "../../src/isolate-cache.ts";

describe("parseRuntimeConfig", () => {
  it("defaults: info logs, api.stripe.com, no dev mode", () => {
    expect(parseRuntimeConfig({})).toEqual({ logLevel: "info", stripeApiBase: "https://api.stripe.com", devMode: false });
  });

  it("reads LOG_LEVEL, STRIPE_API_BASE (its origin only) and DEV_MODE", () => {
    const config = parseRuntimeConfig({ LOG_LEVEL: " WARN ", STRIPE_API_BASE: "http://127.0.0.1:12111/v1/x?y", DEV_MODE: "1" });
    expect(config).toEqual({ logLevel: "warn", stripeApiBase: "http://127.0.0.1:12111", devMode: true });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("marks a STRIPE_API_BASE that is not an http(s) URL as invalid instead of falling back to Stripe", () => {
    for (const bad of ["api.stripe.com", "ftp://api.stripe.com", "javascript:alert(1)", "file:///etc/passwd", "https://"]) {
      expect(parseRuntimeConfig({ STRIPE_API_BASE: bad }).stripeApiBase, bad).toBeUndefined();
    }
  });

  it("dev mode is exactly DEV_MODE=1", () => {
    for (const value of ["0", "true", "yes", " 1", "01"]) expect(parseRuntimeConfig({ DEV_MODE: value }).devMode).toBe(false);
  });
});

describe("runtimeConfig", () => {
  it("parses once per env object, and envs stay apart", () => {
    const a: Env = { LOG_LEVEL: "debug" };
    const b: Env = { LOG_LEVEL: "error" };
    const first = runtimeConfig(a);
    expect(runtimeConfig(a)).toBe(first);
    expect(runtimeConfig(b).logLevel).toBe("error");
    // The same object is not parsed again (once per isolate), until the isolate caches are reset.
    a.LOG_LEVEL = "error";
    expect(runtimeConfig(a).logLevel).toBe("debug");
    resetIsolateCaches();
    expect(runtimeConfig(a).logLevel).toBe("error");
  });
});
