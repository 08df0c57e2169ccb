import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { bytesToHex, sha256 } from "../../src/encoding.ts";
import { enforceRateLimit, rateLimitKey, readRateLimiter } from "../../src/ratelimit/rate-limit.ts";

function logger() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger("debug", (line) => lines.push(JSON.parse(line) as Record<string, unknown>)) };
}

describe("rate limits", () => {
  it("keys callers per tenant: server by key name, browser by hashed subject or client IP", async () => {
    expect(await rateLimitKey({ role: "server", tenant: "acme", keyName: "backend" })).toBe("acme:server:backend");
    const sub = await rateLimitKey({ role: "browser", tenant: "acme", user: { kind: "subject", subject: "jenny@example.com" } });
    expect(sub).toMatch(/^acme:browser:sub:[0-9a-f]{32}$/);
    expect(sub).not.toContain("jenny");
    expect(await rateLimitKey({ role: "browser", tenant: "acme", user: { kind: "ip", ip: "203.0.113.7" } })).toBe(
      "acme:browser:ip:203.0.113.7",
    );
    expect(await rateLimitKey({ role: "browser", tenant: "acme", user: { kind: "ip", ip: null } })).toBe(
      "acme:browser:ip:unknown",
    );
  });

  it("keys a subject the same on every request, distinct subjects apart (the hash is remembered, not shared)", async () => {
    const key = (subject: string) => rateLimitKey({ role: "browser", tenant: "acme", user: { kind: "subject", subject } });
    const first = await key("user_1");
    expect(await key("user_1")).toBe(first);
    expect(first.slice(-32)).toBe(bytesToHex((await sha256("user_1")).subarray(0, 16)));
    expect(await key("user_2")).not.toBe(first);
    expect(await rateLimitKey({ role: "browser", tenant: "other", user: { kind: "subject", subject: "user_1" } })).toBe(
      `other:browser:sub:${first.slice(-32)}`,
    );
  });

  it("reads only values with a limit function as limiters", () => {
    expect(readRateLimiter(undefined)).toBeUndefined();
    expect(readRateLimiter("RATE_LIMITER")).toBeUndefined();
    expect(readRateLimiter({ limit: 1 })).toBeUndefined();
    expect(readRateLimiter({ limit: async () => ({ success: true }) })).toBeDefined();
  });

  it("answers 429 rate_limit with Retry-After when the budget is spent", async () => {
    const { log } = logger();
    const subject = { role: "server", tenant: "acme", keyName: "backend" } as const;
    await expect(
      enforceRateLimit({ limit: async () => ({ success: true }) }, "X", subject, log, "req_1"),
    ).resolves.toBeUndefined();
    const refused = await enforceRateLimit({ limit: async () => ({ success: false }) }, "X", subject, log, "req_1").catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ProxyError);
    expect((refused as ProxyError).status).toBe(429);
    expect((refused as ProxyError).code).toBe("rate_limit");
    expect((refused as ProxyError).headers).toEqual({ "Retry-After": "60" });
  });

  it("without a binding, limits nothing and warns once per binding name", async () => {
    const { lines, log } = logger();
    const subject = { role: "server", tenant: "acme", keyName: "backend" } as const;
    const name = `UNIT_TEST_LIMITER_${crypto.randomUUID()}`;
    for (let i = 0; i < 3; i++) await enforceRateLimit(undefined, name, subject, log, "req_1");
    expect(lines.filter((l) => l.event === "rate_limiter_missing" && l.binding === name)).toHaveLength(1);
  });

  it("lets the request through when the limiter fails", async () => {
    const { lines, log } = logger();
    const failing = { limit: async () => Promise.reject(new Error("boom")) };
    await expect(
      enforceRateLimit(failing, "X", { role: "server", tenant: "a", keyName: "k" }, log, "req_1"),
    ).resolves.toBeUndefined();
    expect(lines).toContainEqual(expect.objectContaining({ event: "rate_limiter_failed", level: "warn" }));
  });
});
