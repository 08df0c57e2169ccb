/**
 * The upstream client's retry policy as pure decisions (what is retried, how long to wait, when to stop,
 * what the caller gets) and `callStripe` driven by a scripted fake upstream with a fake clock, so the
 * deadline and backoff are checked exactly and without waiting.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { UpstreamTimings } from "../../src/limits.ts";
import {
  type Attempt,
  backoffDelay,
  callerMayRetry,
  callStripe,
  isRetryable,
  MIN_ATTEMPT_MS,
  nextStep,
  settle,
  type UpstreamCall,
  UpstreamFailure,
} from "../../src/stripe/upstream.ts";

const TIMINGS: UpstreamTimings = {
  attemptTimeoutMs: 1_000,
  deadlineMs: 10_000,
  maxRetries: 2,
  backoffBaseMs: 100,
  backoffCapMs: 2_000,
};

function answer(status: number, shouldRetry?: boolean): Attempt {
  const headers = new Headers({ "request-id": "req_up" });
  if (shouldRetry !== undefined) headers.set("stripe-should-retry", String(shouldRetry));
  return { kind: "response", status, headers, text: "{}", json: {}, shouldRetry };
}

const POST_PROXY_KEY: UpstreamCall = {
  method: "POST",
  path: "/v1/identity/verification_sessions",
  body: "type=document",
  secretKey: "sk_test_fake_unit_0123456789",
  idempotencyKey: "iedge_unit",
  callerIdempotencyKey: false,
};
const POST_CALLER_KEY: UpstreamCall = { ...POST_PROXY_KEY, idempotencyKey: "caller-key-1", callerIdempotencyKey: true };
const GET: UpstreamCall = {
  method: "GET",
  path: "/v1/identity/verification_sessions/vs_1",
  secretKey: "sk_test_fake_unit_0123456789",
  callerIdempotencyKey: false,
};

describe("isRetryable", () => {
  it.each<[string, Attempt, boolean]>([
    ["a network error", { kind: "network" }, true],
    ["a malformed answer (truncated, HTML)", { kind: "malformed" }, true],
    ["a timeout", { kind: "timeout" }, true],
    ["200", answer(200), false],
    ["400", answer(400), false],
    ["402", answer(402), false],
    ["404", answer(404), false],
    ["409 (idempotent request in flight)", answer(409), true],
    ["429", answer(429), false],
    ["429 even with Stripe-Should-Retry: true", answer(429, true), false],
    ["500", answer(500), true],
    ["502", answer(502), true],
    ["503", answer(503), true],
    ["500 with Stripe-Should-Retry: false", answer(500, false), false],
    ["409 with Stripe-Should-Retry: false", answer(409, false), false],
    ["400 with Stripe-Should-Retry: true", answer(400, true), true],
  ])("%s → %s", (_name, attempt, expected) => {
    expect(isRetryable(attempt)).toBe(expected);
  });
});

describe("backoffDelay (full jitter)", () => {
  it("is uniform in [0, min(cap, base·2^(retry−1)))", () => {
    expect(backoffDelay(1, TIMINGS, () => 0)).toBe(0);
    expect(backoffDelay(1, TIMINGS, () => 0.5)).toBe(50);
    expect(backoffDelay(2, TIMINGS, () => 0.5)).toBe(100);
    expect(backoffDelay(3, TIMINGS, () => 0.5)).toBe(200);
    expect(backoffDelay(10, TIMINGS, () => 0.5)).toBe(1_000); // capped at 2 000
  });

  it("stays within bounds for any retry number, timings and jitter source", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double(),
        (retry, base, cap, r) => {
          const d = backoffDelay(retry, { backoffBaseMs: base, backoffCapMs: cap }, () => r);
          const ceiling = base === 0 ? 0 : Math.min(cap, base * 2 ** (retry - 1));
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(d).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("is jittered: different random draws give different waits", () => {
    const draws = [0.1, 0.4, 0.9].map((r) => backoffDelay(2, TIMINGS, () => r));
    expect(new Set(draws).size).toBe(3);
  });
});

describe("nextStep", () => {
  const half = () => 0.5;
  it.each<[string, Attempt, number, number, boolean, ReturnType<typeof nextStep>]>([
    ["a final answer stops", answer(200), 1, 9_000, true, { retry: false, reason: "final" }],
    ["429 stops", answer(429), 1, 9_000, true, { retry: false, reason: "final" }],
    [
      "a POST without Idempotency-Key is never repeated",
      answer(503),
      1,
      9_000,
      false,
      { retry: false, reason: "not_repeatable" },
    ],
    ["503 after 1 attempt retries after base/2", answer(503), 1, 9_000, true, { retry: true, delayMs: 50 }],
    ["a timeout after 2 attempts retries after base", { kind: "timeout" }, 2, 9_000, true, { retry: true, delayMs: 100 }],
    ["after maxRetries retries it stops", { kind: "network" }, 3, 9_000, true, { retry: false, reason: "retries_exhausted" }],
    ["too little deadline left stops", { kind: "network" }, 1, 50 + MIN_ATTEMPT_MS, true, { retry: false, reason: "deadline" }],
    ["just enough deadline left retries", { kind: "network" }, 1, 51 + MIN_ATTEMPT_MS, true, { retry: true, delayMs: 50 }],
  ])("%s", (_name, last, attempts, remaining, repeatable, expected) => {
    expect(nextStep(last, attempts, remaining, repeatable, TIMINGS, half)).toEqual(expected);
  });
});

describe("settle: what the caller gets when the proxy stops", () => {
  it("who may retry: GETs and POSTs under the caller's own key", () => {
    expect(callerMayRetry(GET)).toBe(true);
    expect(callerMayRetry(POST_CALLER_KEY)).toBe(true);
    expect(callerMayRetry(POST_PROXY_KEY)).toBe(false);
  });

  it("final answers pass through unchanged (Stripe errors included)", () => {
    for (const a of [answer(200), answer(400), answer(404), answer(429), answer(500, false)]) {
      const s = settle(a, POST_PROXY_KEY);
      expect(s.kind).toBe("response");
      if (s.kind === "response" && a.kind === "response") {
        expect(s.status).toBe(a.status);
        expect(s.text).toBe(a.text);
        expect(s.headers.get("request-id")).toBe("req_up");
      }
    }
  });

  it.each<[string, Attempt, UpstreamCall, number, string]>([
    ["network error, POST under a proxy key", { kind: "network" }, POST_PROXY_KEY, 502, "false"],
    ["malformed answer, GET", { kind: "malformed" }, GET, 502, "true"],
    ["timeout, POST under a proxy key", { kind: "timeout" }, POST_PROXY_KEY, 504, "false"],
    ["timeout, POST under the caller's key", { kind: "timeout" }, POST_CALLER_KEY, 504, "true"],
  ])("%s → %i with Stripe-Should-Retry: %s", (_name, last, call, status, retry) => {
    const s = settle(last, call);
    expect(s.kind).toBe("error");
    if (s.kind !== "error") return;
    expect(s.error.status).toBe(status);
    expect(s.error.code).toBe(status === 504 ? "upstream_timeout" : "upstream_unavailable");
    expect(s.error.headers["Stripe-Should-Retry"]).toBe(retry);
  });

  // Issue 15 point 7: Stripe's own last answer (status, body, Request-Id) reaches the caller, with
  // whether the caller's retry is safe; before, the proxy replaced it with its own 502.
  it.each<[string, Attempt, UpstreamCall, string]>([
    ["exhausted 5xx, POST under a proxy key", answer(503), POST_PROXY_KEY, "false"],
    ["exhausted 5xx, POST under the caller's key", answer(500), POST_CALLER_KEY, "true"],
    ["exhausted 5xx, GET", answer(502), GET, "true"],
    ["exhausted 5xx that said retry, POST under a proxy key", answer(500, true), POST_PROXY_KEY, "false"],
  ])("%s → Stripe's answer with Stripe-Should-Retry: %s", (_name, last, call, retry) => {
    const s = settle(last, call);
    expect(s.kind).toBe("response");
    if (s.kind !== "response" || last.kind !== "response") return;
    expect(s.status).toBe(last.status);
    expect(s.text).toBe(last.text);
    expect(s.headers.get("request-id")).toBe("req_up");
    expect(s.headers.get("stripe-should-retry")).toBe(retry);
  });

  it("an exhausted 409 passes through under the caller's key; under the proxy's it is a 504 not safe to retry", () => {
    const caller = settle(answer(409, true), POST_CALLER_KEY);
    expect(caller).toMatchObject({ kind: "response", status: 409 });
    if (caller.kind === "response") expect(caller.headers.get("stripe-should-retry")).toBe("true");
    const proxy = settle(answer(409, true), POST_PROXY_KEY);
    expect(proxy.kind).toBe("error");
    if (proxy.kind === "error") {
      expect(proxy.error.code).toBe("upstream_timeout");
      expect(proxy.error.headers["Stripe-Should-Retry"]).toBe("false");
    }
  });
});

/* ---------------------------------------------------------------------------------------------- */

type Step =
  | { kind: "answer"; status: number; shouldRetry?: boolean }
  | { kind: "network" }
  | { kind: "truncated"; status: number }
  | { kind: "html"; status: number }
  | { kind: "hang" };

const SESSION_JSON = JSON.stringify({
  id: "vs_1",
  object: "identity.verification_session",
  options: { document: { allowed_types: ["passport"] } },
});

/** A fake upstream playing `script` in order (the last step repeats), on a fake clock. */
function scripted(script: Step[], costMs = 10) {
  let clock = 1_000_000;
  const seen: Request[] = [];
  const sleeps: number[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    const step = script[Math.min(seen.length, script.length - 1)] as Step;
    seen.push(request);
    clock += costMs;
    switch (step.kind) {
      case "network":
        throw new TypeError("Network connection lost.");
      case "hang":
        return new Promise<Response>((_resolve, reject) =>
          request.signal.addEventListener("abort", () => reject(new Error("aborted"))),
        );
      case "html":
        return new Response("<html><body>502 Bad Gateway</body></html>", {
          status: step.status,
          headers: { "Content-Type": "text/html" },
        });
      case "truncated": {
        let sent = false;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent) return controller.error(new TypeError("connection closed mid-body"));
            sent = true;
            controller.enqueue(new TextEncoder().encode(SESSION_JSON.slice(0, SESSION_JSON.length / 2)));
          },
        });
        return new Response(body, { status: step.status });
      }
      case "answer": {
        const headers: Record<string, string> = {
          "Content-Type": "application/json",
          "Request-Id": `req_${seen.length}`,
          "Set-Cookie": "x=1",
        };
        if (step.shouldRetry !== undefined) headers["Stripe-Should-Retry"] = String(step.shouldRetry);
        const text = step.status === 200 ? SESSION_JSON : JSON.stringify({ error: { type: "api_error", message: "boom" } });
        return new Response(text, { status: step.status, headers });
      }
    }
  };
  return {
    seen,
    sleeps,
    options: (timings: Partial<UpstreamTimings> = TIMINGS, random: () => number = Math.random) => ({
      fetch,
      base: "https://stub.stripe.test",
      now: () => clock,
      timings,
      random,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock += ms;
      },
    }),
  };
}

async function outcome(promise: Promise<{ status: number; text: string; headers: Headers; attempts: number }>) {
  try {
    const r = await promise;
    return {
      status: r.status,
      text: r.text,
      headers: r.headers,
      attempts: r.attempts,
      retry: r.headers.get("stripe-should-retry"),
    };
  } catch (err) {
    if (!(err instanceof UpstreamFailure)) throw err;
    return {
      status: err.status,
      text: JSON.stringify(err.toBody()),
      headers: new Headers(err.headers),
      attempts: err.attempts,
      retry: err.headers["Stripe-Should-Retry"],
    };
  }
}

describe("callStripe with a scripted upstream", () => {
  it.each<[string, Step[], number, number]>([
    [
      "503, 503, 200 → 200 on the third attempt",
      [
        { kind: "answer", status: 503 },
        { kind: "answer", status: 503 },
        { kind: "answer", status: 200 },
      ],
      200,
      3,
    ],
    ["network, 200 → 200", [{ kind: "network" }, { kind: "answer", status: 200 }], 200, 2],
    [
      "truncated 200, 200 → 200 (never the broken body)",
      [
        { kind: "truncated", status: 200 },
        { kind: "answer", status: 200 },
      ],
      200,
      2,
    ],
    [
      "HTML 502, 200 → 200",
      [
        { kind: "html", status: 502 },
        { kind: "answer", status: 200 },
      ],
      200,
      2,
    ],
    ["HTML 200 (a captive page) → retried, then 502", [{ kind: "html", status: 200 }], 502, 3],
    [
      "409, 200 → 200",
      [
        { kind: "answer", status: 409, shouldRetry: true },
        { kind: "answer", status: 200 },
      ],
      200,
      2,
    ],
    [
      "should-retry true on 400, 200 → 200",
      [
        { kind: "answer", status: 400, shouldRetry: true },
        { kind: "answer", status: 200 },
      ],
      200,
      2,
    ],
    [
      "429 is not retried",
      [
        { kind: "answer", status: 429 },
        { kind: "answer", status: 200 },
      ],
      429,
      1,
    ],
    [
      "500 with should-retry false is not retried",
      [
        { kind: "answer", status: 500, shouldRetry: false },
        { kind: "answer", status: 200 },
      ],
      500,
      1,
    ],
    [
      "404 is not retried",
      [
        { kind: "answer", status: 404 },
        { kind: "answer", status: 200 },
      ],
      404,
      1,
    ],
    ["503 forever → Stripe's 503 after maxRetries+1 attempts", [{ kind: "answer", status: 503 }], 503, 3],
    ["network forever → 502", [{ kind: "network" }], 502, 3],
    [
      "409 forever → 504: still in flight under a key the caller never saw",
      [{ kind: "answer", status: 409, shouldRetry: true }],
      504,
      3,
    ],
  ])("%s", async (_name, script, status, attempts) => {
    const up = scripted(script);
    const got = await outcome(callStripe(POST_PROXY_KEY, up.options()));
    expect(got.status).toBe(status);
    expect(got.attempts).toBe(attempts);
    expect(up.seen).toHaveLength(attempts);
    if (status === 200) expect(got.text).toBe(SESSION_JSON);
    // Every attempt of the POST carried the same Idempotency-Key and body.
    expect(new Set(up.seen.map((r) => r.headers.get("Idempotency-Key")))).toEqual(new Set(["iedge_unit"]));
    // Only allow-listed headers come back.
    expect(got.headers.get("set-cookie")).toBeNull();
    if (status >= 500) expect(got.retry).toBe("false");
  });

  it("an attempt that never answers times out (real timer) and the caller gets 504", async () => {
    const up = scripted([{ kind: "hang" }]);
    const started = Date.now();
    const got = await outcome(callStripe(GET, { ...up.options({ ...TIMINGS, attemptTimeoutMs: 20 }), now: () => Date.now() }));
    expect(got.status).toBe(504);
    expect(got.retry).toBe("true");
    expect(up.seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("an upstream that ignores the abort signal still cannot hold an attempt past its timeout", async () => {
    let calls = 0;
    const never = () => {
      calls++;
      return new Promise<Response>(() => undefined);
    };
    const timings = { attemptTimeoutMs: 20, deadlineMs: 1_000, maxRetries: 1, backoffBaseMs: 1, backoffCapMs: 1 };
    const got = await outcome(
      callStripe(GET, { fetch: never, base: "https://stub.stripe.test", now: () => Date.now(), timings }),
    );
    expect(got.status).toBe(504);
    expect(calls).toBe(2);
  });

  it("a body that dribbles past the attempt timeout is a timeout, not a partial answer", async () => {
    const slow = async () => {
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 15));
          if (i >= SESSION_JSON.length) return controller.close();
          controller.enqueue(new TextEncoder().encode(SESSION_JSON.slice(i, i + 4)));
          i += 4;
        },
      });
      return new Response(body, { status: 200 });
    };
    const timings = { attemptTimeoutMs: 40, deadlineMs: 1_000, maxRetries: 1, backoffBaseMs: 1, backoffCapMs: 1 };
    const got = await outcome(callStripe(GET, { fetch: slow, base: "https://stub.stripe.test", now: () => Date.now(), timings }));
    expect(got.status).toBe(504);
  });

  const HUGE_BODY = `{"a":"${"x".repeat(4 * 1024 * 1024)}"}`;
  it.each([
    ["without Content-Length", {}],
    ["with an honest Content-Length", { "Content-Length": String(HUGE_BODY.length) }],
    ["with a Content-Length that understates it", { "Content-Length": "10" }],
    ["with a junk Content-Length", { "Content-Length": "ten" }],
  ])("an oversized answer %s is malformed (502), whatever its status", async (_name, headers: Record<string, string>) => {
    for (const status of [200, 400]) {
      const huge = async () => new Response(HUGE_BODY, { status, headers });
      const timings = { ...TIMINGS, maxRetries: 0 };
      const got = await outcome(
        callStripe(GET, { fetch: huge, base: "https://stub.stripe.test", now: () => Date.now(), timings }),
      );
      expect(got.status).toBe(502);
    }
  });

  it.each([
    ["an object after whitespace and a BOM", `\uFEFF \r\n\t${SESSION_JSON}`, 200],
    ["an HTML error page", "<html><body>502 Bad Gateway</body></html>", 502],
    ["a bare JSON value", '"ok"', 502],
    ["an array", "[1,2]", 502],
    ["an object cut short", SESSION_JSON.slice(0, -5), 502],
    ["an empty body with a length of zero", "", 502],
  ])("an answer that is %s: a complete JSON object passes, nothing else does", async (_name, body, status) => {
    const fetch = async () =>
      new Response(body, { status: 200, headers: { "Content-Length": String(new TextEncoder().encode(body).length) } });
    const timings = { ...TIMINGS, maxRetries: 0 };
    const got = await outcome(callStripe(GET, { fetch, base: "https://stub.stripe.test", now: () => Date.now(), timings }));
    expect(got.status).toBe(status);
  });

  it.each([
    ["with Content-Length (one native read)", true],
    ["streamed without Content-Length", false],
  ])("an answer %s comes back byte for byte and parsed once", async (_name, withLength) => {
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = new TextEncoder().encode(SESSION_JSON);
          for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
          controller.close();
        },
      });
    const headers: Record<string, string> = withLength
      ? { "Content-Length": String(new TextEncoder().encode(SESSION_JSON).length) }
      : {};
    const fetch = async () => new Response(stream(), { status: 200, headers });
    const got = await callStripe(GET, { fetch, base: "https://stub.stripe.test", now: () => Date.now(), timings: TIMINGS });
    expect(got.text).toBe(SESSION_JSON);
    expect(got.json).toEqual(JSON.parse(SESSION_JSON));
  });

  it("a POST without an Idempotency-Key is tried once", async () => {
    const up = scripted([{ kind: "network" }, { kind: "answer", status: 200 }]);
    const { idempotencyKey: _omit, ...call } = POST_PROXY_KEY;
    const got = await outcome(callStripe(call, up.options()));
    expect(got.status).toBe(502);
    expect(up.seen).toHaveLength(1);
  });

  it("the deadline bounds the whole call, backoff included", async () => {
    const up = scripted([{ kind: "answer", status: 503 }], 400);
    const timings = { attemptTimeoutMs: 1_000, deadlineMs: 1_000, maxRetries: 10, backoffBaseMs: 100, backoffCapMs: 400 };
    const got = await outcome(
      callStripe(
        POST_PROXY_KEY,
        up.options(timings, () => 0.99),
      ),
    );
    expect(got.status).toBe(503);
    // 400 ms per attempt: 1st ends at 400, sleep 99 → 2nd ends at 899; 101 ms left < 198 + 50 → stop.
    expect(up.seen).toHaveLength(2);
    expect(up.sleeps).toEqual([99]);
  });

  it("property: any script of attempt outcomes obeys the policy", async () => {
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        kind: fc.constant("answer" as const),
        status: fc.constantFrom(200, 400, 404, 409, 429, 500, 502, 503),
        shouldRetry: fc.option(fc.boolean(), { nil: undefined }),
      }),
      fc.constant({ kind: "network" as const }),
      fc.record({ kind: fc.constant("truncated" as const), status: fc.constantFrom(200, 500) }),
      fc.record({ kind: fc.constant("html" as const), status: fc.constantFrom(200, 502, 503) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(POST_PROXY_KEY, POST_CALLER_KEY, GET),
        fc.record({
          maxRetries: fc.integer({ min: 0, max: 4 }),
          deadlineMs: fc.integer({ min: 100, max: 3_000 }),
          cost: fc.integer({ min: 1, max: 400 }),
        }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        async (script, call, t, r) => {
          const up = scripted(script, t.cost);
          const timings = { ...TIMINGS, maxRetries: t.maxRetries, deadlineMs: t.deadlineMs };
          const got = await outcome(
            callStripe(
              call,
              up.options(timings, () => r),
            ),
          );
          const n = up.seen.length;
          expect(got.attempts).toBe(n);
          expect(n).toBeLessThanOrEqual(t.maxRetries + 1);
          // It stopped at the first final answer, and never after one.
          const played = script.slice(0, n).concat(Array(Math.max(0, n - script.length)).fill(script.at(-1)));
          const finalAt = played.findIndex((s) => s.kind === "answer" && !isRetryable(answer(s.status, s.shouldRetry)));
          if (finalAt !== -1) expect(n).toBeLessThanOrEqual(finalAt + 1);
          // Backoff waits are within full-jitter bounds, and every retry started with MIN_ATTEMPT_MS of the deadline left.
          for (const [i, ms] of up.sleeps.entries()) {
            expect(ms).toBeLessThanOrEqual(Math.min(TIMINGS.backoffCapMs, TIMINGS.backoffBaseMs * 2 ** i));
          }
          for (let k = 2; k <= n; k++) {
            const startedAt = (k - 1) * t.cost + up.sleeps.slice(0, k - 1).reduce((a, b) => a + b, 0);
            expect(startedAt + MIN_ATTEMPT_MS).toBeLessThan(t.deadlineMs);
          }
          // All attempts are the same request.
          expect(new Set(up.seen.map((q) => `${q.method} ${q.url} ${q.headers.get("Idempotency-Key")}`)).size).toBe(1);
          // A final answer passes through as it is; giving up never yields a broken 200 or a made-up 500.
          const last = played[n - 1] as Step;
          const final = last.kind === "answer" && !isRetryable(answer(last.status, last.shouldRetry));
          if (final) expect(got.status).toBe(last.status);
          if (got.status === 200) expect(got.text).toBe(SESSION_JSON);
          if (!final && last.kind === "answer" && last.status < 500 && callerMayRetry(call)) {
            // An exhausted 4xx (409, or should-retry true) passes through when the caller may retry.
            expect(got.status).toBe(last.status);
            expect(got.retry).toBe(last.shouldRetry === undefined ? null : String(last.shouldRetry));
          } else if (!final && last.kind === "answer" && last.status < 500) {
            // Under the proxy's own key, the outcome is unknown: 504, not safe to retry.
            expect(got.status).toBe(504);
            expect(got.retry).toBe("false");
          } else if (!final && last.kind === "answer") {
            // An exhausted 5xx: Stripe's own answer, and whether the caller may retry.
            expect(got.status).toBe(last.status);
            expect(got.retry).toBe(callerMayRetry(call) ? "true" : "false");
          } else if (!final) {
            expect([502, 504]).toContain(got.status);
            expect(got.retry).toBe(callerMayRetry(call) ? "true" : "false");
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
