import { describe, expect, it } from "vitest";
import {
  type AccessLogFields,
  createLogger,
  type EventFields,
  errorFields,
  type LogLevel,
  parseLogLevel,
} from "../../src/log/logger.ts";
import fc from "fast-check";
import { bytesToHex } from "../../src/encoding.ts";
import { isProxyRequestId, newRequestId, PROXY_REQUEST_ID_PREFIX } from "../../src/http/request-id.ts";
import { MAX_LOGGED_STRING, scrubString } from "../../src/log/scrub.ts";
import { assertNoSecretsIn } from "../helpers/log-capture.ts";

const NOW = Date.UTC(2026, 10, 22, 5, 36, 0);

function collect(level: LogLevel = "debug") {
  const lines: string[] = [];
  const records: unknown[] = [];
  const log = createLogger(
    level,
    (line, record) => {
      lines.push(line);
      records.push(record);
    },
    () => NOW,
  );
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records, parsed };
}

const ACCESS: AccessLogFields = {
  request_id: "req_edge_0123456789abcdef01234567",
  stripe_request_id: "req_AbCdEfGhIjKlMn",
  tenant: "acme",
  role: "server",
  operation: "retrieve",
  method: "GET",
  route: "/v1/identity/verification_sessions/{id}",
  status: 200,
  upstream_status: 200,
  duration_ms: 12.5,
  upstream_ms: 10,
  retries: 0,
  cache: "MISS",
  policy: "allowed",
  error_code: "resource_missing",
};

const SECRETS = {
  stripeKey: "sk_live_51Hq8WZKcXy3tGf0aB9cDeFgHiJkLmNoPq",
  proxyKey: "iek_Zm9vYmFyYmF6cXV4cXV1eF9sb25nX3JhbmRvbV9i",
  clientSecret: "vs_1NuNxr2eZvKYlo2CoBzdVg7N_secret_test_YWNjdF8xTnVO",
  url: "https://verify.stripe.com/start/test_YWNjdF8xTnVOeHIyZVp2S1lvMkNv",
  jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEyMyJ9.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
  whsec: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  email: "jenny.rosen@example.com",
};

describe("access lines", () => {
  it("are one line of JSON with level, time, event and every allow-listed field", () => {
    const { log, lines, parsed } = collect();
    log.access(ACCESS);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(parsed()[0]).toEqual({ level: "info", time: "2026-11-22T05:36:00.000Z", event: "request", ...ACCESS });
  });

  it("hand the sink the same line as an object", () => {
    const { log, lines, records } = collect();
    log.access(ACCESS);
    expect(records[0]).toEqual(JSON.parse(lines[0] as string));
  });

  it("drop keys that are not allow-listed, even from a cast object", () => {
    const { log, lines, parsed } = collect();
    const hostile = {
      ...ACCESS,
      authorization: `Bearer ${SECRETS.proxyKey}`,
      cookie: "sid=abc",
      body: `client_secret=${SECRETS.clientSecret}`,
      client_secret: SECRETS.clientSecret,
      url: SECRETS.url,
      metadata: { order: "A-1" },
      verified_outputs: { dob: { day: 1 } },
      provided_details: { email: SECRETS.email },
      headers: new Headers({ authorization: `Bearer ${SECRETS.proxyKey}` }),
      stripe_key: SECRETS.stripeKey,
      __proto__: { inherited: "x" },
    } as unknown as AccessLogFields;
    log.access(hostile);
    expect(Object.keys(parsed()[0] ?? {}).sort()).toEqual(["event", "level", "time", ...Object.keys(ACCESS)].sort());
    assertNoSecretsIn(lines, Object.values(SECRETS));
  });

  it("drop values of the wrong type, non-finite numbers, nested objects and unknown enum values", () => {
    const { log, parsed } = collect();
    log.access({
      request_id: "req_1",
      method: "GET",
      status: Number.NaN,
      duration_ms: Number.POSITIVE_INFINITY,
      upstream_ms: -Number.POSITIVE_INFINITY,
      upstream_status: 502.5,
      retries: "2",
      tenant: { id: "acme", secret: SECRETS.stripeKey },
      operation: ["retrieve"],
      role: "admin",
      cache: "hit",
      route: null,
      policy: 42,
    } as unknown as AccessLogFields);
    expect(parsed()[0]).toEqual({
      level: "info",
      time: "2026-11-22T05:36:00.000Z",
      event: "request",
      request_id: "req_1",
      method: "GET",
    });
  });

  it("scrub every string field", () => {
    const { log, lines, parsed } = collect();
    log.access({
      ...ACCESS,
      tenant: SECRETS.email,
      route: `/v1/identity/verification_sessions?client_secret=${SECRETS.clientSecret}`,
      policy: `refused:${SECRETS.jwt}`,
      error_code: SECRETS.whsec,
      stripe_request_id: SECRETS.stripeKey,
      operation: SECRETS.proxyKey,
      method: SECRETS.url,
    });
    assertNoSecretsIn(lines, Object.values(SECRETS));
    expect(parsed()[0]?.policy).toBe("refused:[redacted:jwt]");
  });

  it("take the proxy's own request id as it is, and scrub any other request_id (a look-alike included)", () => {
    const { log, lines, parsed } = collect();
    const own = newRequestId();
    log.access({ ...ACCESS, request_id: own });
    log.access({ ...ACCESS, request_id: SECRETS.stripeKey });
    log.access({ ...ACCESS, request_id: `req_edge_${SECRETS.proxyKey}` });
    log.warn("tenant_registry_stale", { request_id: `${own}${SECRETS.email}` });
    expect(parsed()[0]?.request_id).toBe(own);
    assertNoSecretsIn(lines, Object.values(SECRETS));
    expect(
      parsed()
        .slice(1)
        .every((line) => line.request_id !== undefined),
    ).toBe(true);
  });

  it("would not have scrubbed any id the proxy makes: the fast path agrees with the scrubber", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (bytes) => {
        const id = `${PROXY_REQUEST_ID_PREFIX}${bytesToHex(bytes)}`;
        expect(isProxyRequestId(id)).toBe(true);
        expect(scrubString(id, 200)).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });

  it("cap string fields (ids short, text longer)", () => {
    const { log, parsed } = collect();
    log.access({ ...ACCESS, method: "X".repeat(100), request_id: "r".repeat(1000), policy: "p".repeat(5000) });
    const line = parsed()[0] ?? {};
    expect(String(line.method).length).toBeLessThanOrEqual(16);
    expect(String(line.request_id).length).toBeLessThanOrEqual(200);
    expect(String(line.policy).length).toBeLessThanOrEqual(512);
  });

  it("are at level error for a 5xx answer", () => {
    const { log, parsed } = collect();
    log.access({ ...ACCESS, status: 502, error_code: "upstream_unavailable" });
    log.access({ ...ACCESS, status: 404 });
    expect(parsed().map((l) => l.level)).toEqual(["error", "info"]);
  });
});

describe("event lines", () => {
  it("carry the event name and the allow-listed event fields", () => {
    const { log, parsed } = collect();
    const fields: EventFields = {
      request_id: "req_1",
      tenant: "acme",
      binding: "STRIPE_KEY_ACME",
      error_name: "TypeError",
      error_message: "x is undefined",
      stack: "TypeError: x is undefined\n    at f (src/a.ts:1:1)",
      detail: "kv get failed",
    };
    log.warn("kv_get_failed", fields);
    expect(parsed()[0]).toEqual({ level: "warn", time: "2026-11-22T05:36:00.000Z", event: "kv_get_failed", ...fields });
  });

  it("keep binding names readable but never a secret", () => {
    const { log, lines, parsed } = collect();
    log.error("tenant_secret_missing", {
      tenant: "acme",
      binding: "STRIPE_WHSEC_ACME",
      detail: `binding holds ${SECRETS.stripeKey}`,
    });
    expect(parsed()[0]?.event).toBe("tenant_secret_missing");
    expect(parsed()[0]?.binding).toBe("STRIPE_WHSEC_ACME");
    assertNoSecretsIn(lines, Object.values(SECRETS));
  });

  it("drop unknown keys (a cast headers or body field)", () => {
    const { log, parsed } = collect();
    log.error("unhandled_exception", {
      request_id: "req_1",
      headers: { authorization: "x" },
      body: "y",
      url: "https://backend.example/hook?token=z",
    } as unknown as EventFields);
    expect(Object.keys(parsed()[0] ?? {}).sort()).toEqual(["event", "level", "request_id", "time"]);
  });

  it("replace an event name that is not a snake_case literal or looks like a secret", () => {
    const { log, lines, parsed } = collect();
    for (const name of [
      "Bad Event",
      "",
      "x".repeat(100),
      SECRETS.stripeKey,
      "sk_test_abcdefghijkl",
      `kv_failed ${SECRETS.email}`,
    ])
      log.warn(name);
    expect(parsed().every((l) => l.event === "invalid_event_name")).toBe(true);
    assertNoSecretsIn(lines, [...Object.values(SECRETS), "sk_test_abcdefghijkl"]);
  });

  it("accept no fields at all", () => {
    const { log, parsed } = collect();
    log.debug("cache_refresh_started");
    log.warn("x", undefined);
    expect(parsed().map((l) => l.event)).toEqual(["cache_refresh_started", "x"]);
  });
});

describe("level filtering", () => {
  const emitAll = (level: LogLevel) => {
    const { log, parsed } = collect(level);
    log.debug("d");
    log.access(ACCESS);
    log.warn("w");
    log.error("e");
    log.access({ ...ACCESS, status: 500 });
    return parsed().map((l) => (l.event === "request" ? `request:${l.level}` : l.event));
  };

  it.each([
    ["debug", ["d", "request:info", "w", "e", "request:error"]],
    ["info", ["request:info", "w", "e", "request:error"]],
    ["warn", ["w", "e", "request:error"]],
    ["error", ["e", "request:error"]],
  ] as const)("at %s", (level, expected) => {
    expect(emitAll(level)).toEqual(expected);
  });

  it("parses LOG_LEVEL, defaulting to info", () => {
    expect(parseLogLevel("debug")).toBe("debug");
    expect(parseLogLevel(" WARN ")).toBe("warn");
    expect(parseLogLevel("Error")).toBe("error");
    expect(parseLogLevel(undefined)).toBe("info");
    expect(parseLogLevel("")).toBe("info");
    expect(parseLogLevel("verbose")).toBe("info");
    expect(parseLogLevel(10)).toBe("info");
  });
});

describe("robustness", () => {
  it("never throws when the sink throws", () => {
    const log = createLogger("debug", () => {
      throw new Error("sink down");
    });
    expect(() => log.access(ACCESS)).not.toThrow();
    expect(() => log.error("e", { detail: "x" })).not.toThrow();
  });

  it("skips a field whose getter throws", () => {
    const { log, parsed } = collect();
    const fields = { request_id: "req_1", method: "GET", status: 200, duration_ms: 1 };
    Object.defineProperty(fields, "tenant", {
      enumerable: true,
      get() {
        throw new Error(SECRETS.stripeKey);
      },
    });
    log.access(fields as AccessLogFields);
    expect(parsed()[0]).not.toHaveProperty("tenant");
    expect(parsed()[0]?.request_id).toBe("req_1");
  });

  it("writes an epoch time when the clock is broken", () => {
    const lines: string[] = [];
    createLogger(
      "info",
      (l) => lines.push(l),
      () => Number.NaN,
    ).warn("w");
    expect(JSON.parse(lines[0] as string).time).toBe("1970-01-01T00:00:00.000Z");
  });
});

describe("errorFields", () => {
  it("scrubs the message and the stack of a thrown error", () => {
    let thrown: unknown;
    try {
      throw new TypeError(`upstream refused ${SECRETS.stripeKey} for ${SECRETS.email} at ${SECRETS.url}`);
    } catch (err) {
      thrown = err;
    }
    const fields = errorFields(thrown);
    expect(fields.error_name).toBe("TypeError");
    expect(fields.error_message).toContain("[redacted:stripe_key]");
    expect(fields.stack).toContain("TypeError: upstream refused [redacted:stripe_key]");
    assertNoSecretsIn([JSON.stringify(fields)], Object.values(SECRETS));
  });

  it("keeps the first frames only", () => {
    const err = new Error("deep");
    err.stack = ["Error: deep", ...Array.from({ length: 40 }, (_, i) => `    at f${i} (src/a.ts:${i}:1)`)].join("\n");
    const stack = errorFields(err).stack ?? "";
    expect(stack.split("\n")).toHaveLength(10);
    expect(stack.length).toBeLessThanOrEqual(MAX_LOGGED_STRING);
  });

  it("scrubs a stack whose frames carry secrets (urls with tokens)", () => {
    const err = new Error("fetch failed");
    err.stack = `Error: fetch failed\n    at fetch (https://stub.stripe.test/verify/vs_AbC?cs=test_9x8y7z6w5v4u3t2s:1:2)\n    at run (${SECRETS.jwt})`;
    const fields = errorFields(err);
    assertNoSecretsIn([fields.stack ?? ""], [SECRETS.jwt, "test_9x8y7z6w5v4u3t2s"]);
  });

  it("scrubs a custom error name", () => {
    const err = new Error("x");
    err.name = `Failure_${SECRETS.proxyKey}`;
    assertNoSecretsIn([JSON.stringify(errorFields(err))], [SECRETS.proxyKey]);
  });

  it("accepts error-like objects (another realm's errors, DOMException)", () => {
    expect(errorFields({ name: "AbortError", message: "The operation was aborted" })).toEqual({
      error_name: "AbortError",
      error_message: "The operation was aborted",
    });
  });

  it("reduces a thrown non-error to its type: a thrown string could hold anything", () => {
    expect(errorFields(`failed with ${SECRETS.stripeKey}`)).toEqual({ error_name: "string" });
    expect(errorFields(42)).toEqual({ error_name: "number" });
    expect(errorFields(null)).toEqual({ error_name: "null" });
    expect(errorFields(undefined)).toEqual({ error_name: "undefined" });
    expect(errorFields({ code: SECRETS.stripeKey })).toEqual({ error_name: "object" });
  });

  it("never throws, even on a hostile object", () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("boom");
        },
      },
    );
    expect(errorFields(hostile)).toEqual({ error_name: "unreadable" });
  });

  it("feeds log.error without leaking", () => {
    const { log, lines } = collect();
    try {
      JSON.parse(`{"client_secret":"${SECRETS.clientSecret}","email":"${SECRETS.email}",}`);
    } catch (err) {
      log.error("unhandled_exception", { request_id: "req_1", ...errorFields(err) });
    }
    expect(lines).toHaveLength(1);
    assertNoSecretsIn(lines, Object.values(SECRETS));
  });
});
