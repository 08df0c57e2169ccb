/**
 * Reliability under upstream faults, end to end through the proxy (router → upstream client → the
 * in-process stub's fault injection): every fault kind, the retry policy, and the bar that matters
 * most — a create retried through any sequence of faults makes at most one session, and exactly one
 * when the caller got 200. Tight timings keep it fast: 200 ms per attempt, 1.5 s in all, 3 attempts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FaultSpec } from "../../dev/stub/faults.ts";
import { ERROR_STATUS } from "../../src/errors.ts";
import { createHarness, type Harness, PROXY_KEYS, SECRETS } from "../helpers/harness.ts";
import { type LogCaptureHandle, useLogCapture } from "../helpers/log-capture.ts";
import type { Json } from "../helpers/json.ts";

const TIGHT = { attemptTimeoutMs: 200, deadlineMs: 1_500, maxRetries: 2, backoffBaseMs: 1, backoffCapMs: 5 };
const SESSIONS = "/v1/identity/verification_sessions";
const CREATE_MATCH = { method: "POST", path: SESSIONS };

const logs = useLogCapture({ secrets: SECRETS });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Outcome {
  status: number;
  body: Json;
  headers: Headers;
}

async function send(h: Harness, init: { json?: boolean; idempotencyKey?: string } = {}): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (init.idempotencyKey) headers["Idempotency-Key"] = init.idempotencyKey;
  const res = init.json
    ? await h.call(SESSIONS, {
        key: PROXY_KEYS.acme,
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify({ type: "document", metadata: { order: "o-1" } }),
      })
    : await h.post(SESSIONS, "type=document&metadata[order]=o-1", { key: PROXY_KEYS.acme, headers });
  const body = JSON.parse(await res.text()) as Json;
  return { status: res.status, body, headers: res.headers };
}

/** Waits out operations the stub is still running for attempts the proxy already gave up on. */
async function settleStub(faults: FaultSpec[]): Promise<void> {
  const longest = Math.max(0, ...faults.map((f) => (f.kind === "latency" || f.kind === "slow_body" ? (f.ms ?? 1000) : 0)));
  if (longest > 0) await sleep(longest + 50);
}

/** The checks every outcome passes, whatever the faults. */
function checkOutcome(h: Harness, got: Outcome, log: LogCaptureHandle, callerKey?: string, firstRequest = 0): void {
  expect(got.headers.get("Request-Id")).toBeTruthy();
  const creates = h.stub.requests.slice(firstRequest).filter((r) => r.method === "POST" && r.path === SESSIONS);
  // Every attempt carried the same Idempotency-Key: the caller's, or one the proxy generated.
  const keys = new Set(creates.map((r) => r.headers.idempotencyKey));
  expect(keys.size).toBe(1);
  const [key] = [...keys];
  if (callerKey) expect(key).toBe(callerKey);
  else expect(key).toMatch(/^iedge_[0-9a-f-]{36}$/);
  expect(creates.length).toBeLessThanOrEqual(TIGHT.maxRetries + 1);
  // Never two sessions; exactly one when the caller was told 200, and it is the one it got.
  const count = h.stub.countCreates();
  expect(count).toBeLessThanOrEqual(1);
  if (got.status === 200) {
    expect(count).toBe(1);
    expect(h.stub.sessions().map((s) => s.id)).toEqual([got.body.id]);
    expect(got.body.object).toBe("identity.verification_session");
    log.secret(got.body.client_secret, got.body.url);
  } else {
    expect(got.body.error).toEqual(expect.objectContaining({ type: expect.any(String), message: expect.any(String) }));
  }
  const proxyMade = (got.headers.get("Request-Id") ?? "").startsWith("req_edge_");
  if (proxyMade && (got.status === 502 || got.status === 504)) {
    expect(got.body.error.code).toBe(got.status === 502 ? "upstream_unavailable" : "upstream_timeout");
    expect(got.body.error.type).toBe("api_error");
    expect(got.headers.get("Cache-Control")).toBe("no-store");
  }
  if (got.status >= 500 && !proxyMade) {
    // Stripe's own 5xx after the retries (issue 15 point 7): its body, never a proxy code.
    expect(got.body.error.type).toBe("api_error");
    expect(got.body.error.code).toBeUndefined();
  }
  if (got.status === 409 && got.headers.get("Stripe-Should-Retry") !== "false") {
    // A retryable 409 ("key in use") reaches the caller only under its own key, which makes its retry safe.
    expect(callerKey).toBeDefined();
    expect(got.headers.get("Stripe-Should-Retry")).toBe("true");
  }
  if (got.status >= 500) {
    // Safe for the caller to retry only under its own key (its retry would reuse it).
    expect(got.headers.get("Stripe-Should-Retry")).toBe(callerKey ? "true" : "false");
  }
  // The access line counts the proxy's retries.
  const access = log.records().filter((r) => r.event === "request" && r.operation === "create");
  expect(access.at(-1)).toMatchObject({ status: got.status, retries: creates.length - 1 });
}

type Row = [name: string, faults: FaultSpec[], status: number, creates: number, attempts: number];

const on = (spec: FaultSpec): FaultSpec => ({ match: CREATE_MATCH, ...spec });

const TABLE: Row[] = [
  ["no fault", [], 200, 1, 1],
  ["500, then 200", [on({ kind: "status", status: 500 })], 200, 1, 2],
  ["502, 503, then 200", [on({ kind: "status", status: 502 }), on({ kind: "status", status: 503 })], 200, 1, 3],
  // Issue 15 point 7: Stripe's final answer, with its Request-Id, not the proxy's 502.
  ["500 on every attempt → Stripe's 500", [on({ kind: "status", status: 500, times: 3 })], 500, 0, 3],
  [
    "503 with Stripe-Should-Retry: false → passed through, not retried",
    [on({ kind: "status", status: 503, should_retry: false })],
    503,
    0,
    1,
  ],
  ["500 with Stripe-Should-Retry: true, then 200", [on({ kind: "status", status: 500, should_retry: true })], 200, 1, 2],
  ["429 → passed through, not retried", [on({ kind: "status", status: 429 })], 429, 0, 1],
  ["409 (key in use), then 200", [on({ kind: "status", status: 409 })], 200, 1, 2],
  ["409 with Stripe-Should-Retry: false → passed through", [on({ kind: "status", status: 409, should_retry: false })], 409, 0, 1],
  ["409 on every attempt → 504, not safe to retry", [on({ kind: "status", status: 409, times: 3 })], 504, 0, 3],
  ["reset before processing, then 200", [on({ kind: "reset_before" })], 200, 1, 2],
  ["reset before processing on every attempt → 502", [on({ kind: "reset_before", times: 3 })], 502, 0, 3],
  ["reset after processing, then the replay", [on({ kind: "reset_after" })], 200, 1, 2],
  ["reset after processing on every attempt → 502, one session", [on({ kind: "reset_after", times: 3 })], 502, 1, 3],
  ["truncated body, then the replay", [on({ kind: "truncated" })], 200, 1, 2],
  ["truncated body on every attempt → 502, never a broken 200", [on({ kind: "truncated", times: 3 })], 502, 1, 3],
  ["HTML error page, then 200", [on({ kind: "non_json" })], 200, 1, 2],
  ["HTML error page on every attempt → 502", [on({ kind: "non_json", status: 503, times: 3 })], 502, 0, 3],
  ["latency under the attempt timeout", [on({ kind: "latency", ms: 80 })], 200, 1, 1],
  [
    "latency beyond every attempt (timeout, 409, 409) → 504, not safe to retry; one session",
    [on({ kind: "latency", ms: 900 })],
    504,
    1,
    3,
  ],
  ["slow body over the attempt timeout, then the replay", [on({ kind: "slow_body", ms: 500 })], 200, 1, 2],
  ["slow body on every attempt → 504, one session", [on({ kind: "slow_body", ms: 400, times: 3 })], 504, 1, 3],
  [
    "reset after, 500, truncated → 502, one session",
    [on({ kind: "reset_after" }), on({ kind: "status", status: 500 }), on({ kind: "truncated" })],
    502,
    1,
    3,
  ],
  ["reset before, reset after, then the replay", [on({ kind: "reset_before" }), on({ kind: "reset_after" })], 200, 1, 3],
];

describe("every fault kind, through the proxy, on create", () => {
  it.each(TABLE)("%s", async (_name, faults, status, creates, attempts) => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults(faults);
    const got = await send(h);
    await settleStub(faults);
    expect(got.status).toBe(status);
    expect(h.stub.countCreates()).toBe(creates);
    expect(h.stub.requests.filter((r) => r.path === SESSIONS)).toHaveLength(attempts);
    checkOutcome(h, got, logs);
  });

  it.each(TABLE.filter(([, , status]) => status === 200))("JSON body: %s", async (_name, faults) => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults(faults);
    const got = await send(h, { json: true });
    await settleStub(faults);
    expect(got.status).toBe(200);
    checkOutcome(h, got, logs);
  });
});

describe("an attempt that times out while Stripe is still working on it", () => {
  it("the retries meet 409 while the first attempt is in flight, then the replay: one session", async () => {
    // Enough quick retries to outlast the in-flight window (a retry every ~2.5 ms on average).
    const timings = { ...TIGHT, maxRetries: 60, backoffBaseMs: 5, backoffCapMs: 5 };
    const h = await createHarness({ timings });
    h.stub.injectFaults([on({ kind: "latency", ms: 300 })]);
    const got = await send(h);
    expect(got.status).toBe(200);
    logs.secret(got.body.client_secret, got.body.url);
    const attempts = h.stub.requests.filter((r) => r.path === SESSIONS);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.slice(1, -1).every((r) => r.status === 409)).toBe(true);
    expect(attempts.at(-1)?.status).toBe(200);
    expect(new Set(attempts.map((r) => r.headers.idempotencyKey)).size).toBe(1);
    expect(h.stub.countCreates()).toBe(1);
    expect(h.stub.sessions().map((s) => s.id)).toEqual([got.body.id]);
  });
});

describe("the caller's own Idempotency-Key", () => {
  it("a 502 under the caller's key says retry; the caller's retry gets the one session", async () => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults([on({ kind: "reset_after", times: 3 })]);
    const key = "order-42-create";
    const first = await send(h, { idempotencyKey: key });
    expect(first.status).toBe(502);
    expect(first.headers.get("Stripe-Should-Retry")).toBe("true");
    checkOutcome(h, first, logs, key);
    const before = h.stub.requests.length;
    const again = await send(h, { idempotencyKey: key });
    expect(again.status).toBe(200);
    // Issue 15 point 4: Stripe's replay headers reach the caller, and the caller's own key is echoed.
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Original-Request")).toMatch(/^req_/);
    expect(again.headers.get("Idempotency-Key")).toBe(key);
    checkOutcome(h, again, logs, key, before);
  });

  it("under a key the proxy generated, its own replay is not shown: no Idempotency-Key, Idempotent-Replayed, Original-Request", async () => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults([on({ kind: "reset_after" })]);
    const got = await send(h);
    expect(got.status).toBe(200);
    // Control: the proxy's retry was a replay upstream under its own key.
    const creates = h.stub.requests.filter((r) => r.path === SESSIONS);
    expect(creates).toHaveLength(2);
    expect(creates[0]?.headers.idempotencyKey).toMatch(/^iedge_/);
    for (const name of ["Idempotency-Key", "Idempotent-Replayed", "Original-Request"]) expect(got.headers.get(name)).toBeNull();
    checkOutcome(h, got, logs);
  });

  it("a 504 under the caller's key says retry", async () => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults([on({ kind: "slow_body", ms: 400, times: 3 })]);
    const got = await send(h, { idempotencyKey: "order-43-create" });
    await sleep(450);
    expect(got.status).toBe(504);
    checkOutcome(h, got, logs, "order-43-create");
  });
});

describe("reads and other writes under faults", () => {
  it("GET retrieve: 500s are retried; exhausted → 502 that is safe to retry", async () => {
    const h = await createHarness({ timings: TIGHT });
    const created = await send(h);
    logs.secret(created.body.client_secret, created.body.url);
    const path = `${SESSIONS}/${created.body.id}`;
    h.stub.injectFaults([{ match: { method: "GET" }, kind: "status", status: 500, times: 2 }]);
    const ok = await h.call(path, { key: PROXY_KEYS.acme });
    expect(ok.status).toBe(200);
    logs.secret(((await ok.json()) as Json).client_secret);
    h.stub.injectFaults([{ match: { method: "GET" }, kind: "truncated", times: 3 }]);
    const bad = await h.call(path, { key: PROXY_KEYS.acme });
    expect(bad.status).toBe(502);
    expect(bad.headers.get("Stripe-Should-Retry")).toBe("true");
    expect(((await bad.json()) as Json).error.code).toBe("upstream_unavailable");
  });

  it("GET list: a slow body on every attempt → 504 that is safe to retry", async () => {
    const h = await createHarness({ timings: TIGHT });
    h.stub.injectFaults([{ match: { method: "GET" }, kind: "slow_body", ms: 400, times: 3 }]);
    const res = await h.call(`${SESSIONS}?limit=3`, { key: PROXY_KEYS.acme });
    expect(res.status).toBe(504);
    expect(res.headers.get("Stripe-Should-Retry")).toBe("true");
    await sleep(450);
  });

  it("update and cancel are retried under one generated key and applied once", async () => {
    const h = await createHarness({ timings: TIGHT });
    const created = await send(h);
    logs.secret(created.body.client_secret, created.body.url);
    const id = created.body.id as string;
    h.stub.injectFaults([{ match: { method: "POST", path: `${SESSIONS}/*` }, kind: "reset_after", times: 1 }]);
    const updated = await h.post(`${SESSIONS}/${id}`, "metadata[order]=o-2", { key: PROXY_KEYS.acme });
    expect(updated.status).toBe(200);
    h.stub.injectFaults([{ match: { method: "POST", path: `${SESSIONS}/*` }, kind: "truncated", times: 1 }]);
    const canceled = await h.post(`${SESSIONS}/${id}/cancel`, "", { key: PROXY_KEYS.acme });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as Json).status).toBe("canceled");
    for (const path of [`${SESSIONS}/${id}`, `${SESSIONS}/${id}/cancel`]) {
      const attempts = h.stub.requests.filter((r) => r.method === "POST" && r.path === path);
      expect(attempts).toHaveLength(2);
      expect(new Set(attempts.map((r) => r.headers.idempotencyKey)).size).toBe(1);
    }
    // The cancel ran once: a second run would have been a 400 status_transition_invalid replayed.
    expect(h.stub.events.filter((e) => e.type === "identity.verification_session.canceled")).toHaveLength(1);
  });
});

/* ---------------------------------------------------------------------------------------------- */

const faultArb: fc.Arbitrary<FaultSpec> = fc
  .oneof(
    fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(500, 502, 503, 409, 429) }),
    fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(500, 503, 409), should_retry: fc.constant(true) }),
    fc.constant({ kind: "reset_before" as const }),
    fc.constant({ kind: "reset_after" as const }),
    fc.constant({ kind: "truncated" as const }),
    fc.record({ kind: fc.constant("non_json" as const), status: fc.constantFrom(500, 502, 503) }),
    fc.record({ kind: fc.constant("latency" as const), ms: fc.constantFrom(20, 250) }),
    fc.record({ kind: fc.constant("slow_body" as const), ms: fc.constant(300) }),
  )
  .map((f) => on(f));

describe("property: any fault sequence on create", () => {
  it("never makes two sessions; 200 means exactly one; every answer is Stripe-shaped", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(faultArb, { maxLength: 5 }),
        fc.boolean(),
        fc.option(fc.constantFrom("caller-key-a", "caller-key-b"), { nil: undefined }),
        async (faults, json, callerKey) => {
          const h = await createHarness({ timings: TIGHT });
          h.stub.injectFaults(faults);
          const got = await send(h, { json, ...(callerKey ? { idempotencyKey: callerKey } : {}) });
          await settleStub(faults);
          checkOutcome(h, got, logs, callerKey);
          // A made-up 500 never: the proxy's own 5xx are only the gateway's 502/504; other 5xx are
          // Stripe's final answers with Stripe's Request-Id.
          expect([200, 409, 429, 500, 502, 503, 504]).toContain(got.status);
          const proxyMade = (got.headers.get("Request-Id") ?? "").startsWith("req_edge_");
          if (got.status >= 500 && proxyMade) expect(Object.keys(ERROR_STATUS)).toContain(got.body.error.code);
          if (got.status >= 500 && !proxyMade) expect(got.body.error.code).toBeUndefined();
        },
      ),
      { numRuns: 50 },
    );
  }, 60_000);
});
