/**
 * The diffing of `npm run conformance` (test/conformance/diff.ts): what it ignores (ids, times, secrets,
 * messages) and what it reports (keys, statuses, codes, params, classes, booleans, list lengths).
 */
import { describe, expect, it } from "vitest";
import { diffShapes, diffTranscripts, type RecordedCall, shapeOf } from "../../test/conformance/diff.ts";
import { referenceFromEnv } from "../../test/conformance/run.ts";

const session = (over: Record<string, unknown> = {}) => ({
  id: "vs_1NuN3kLkdIwHu7ixk5OvTq3b",
  object: "identity.verification_session",
  client_secret: "vs_1NuN3kLkdIwHu7ixk5OvTq3b_secret_test_abc",
  created: 1695680120,
  last_error: null,
  metadata: { order: "o_1" },
  options: { document: { require_live_capture: true } },
  status: "requires_input",
  url: "https://verify.stripe.com/start/test_abc",
  ...over,
});

const ok = (object: unknown) => ({ ok: true, object, response: { status: 200, request_id: "req_abcdefghijklmn" } });

describe("shapeOf", () => {
  it("keeps an id's prefix only, a timestamp's and a secret's type only", () => {
    expect(shapeOf(session())).toMatchObject({
      id: "<id vs_>",
      client_secret: "<string>",
      created: "<number>",
      url: "<url>",
      status: "requires_input",
      options: { document: { require_live_capture: true } },
    });
  });
});

describe("diffShapes", () => {
  it("finds nothing between two answers that differ only in ids, times, secrets and request ids", () => {
    const other = session({
      id: "vs_9ZZZZZZZZZZZZZZZZZZZZZZZ",
      client_secret: "vs_9ZZ_secret_test_zzz",
      created: 1800000000,
      url: "http://127.0.0.1:1/verify/x",
    });
    expect(
      diffShapes(shapeOf(ok(session())), shapeOf({ ...ok(other), response: { status: 200, request_id: "req_zz" } })),
    ).toEqual([]);
  });

  it("reports a key the stub lacks, a null the stub fills, a status and a boolean", () => {
    const stub = session({ status: "processing", options: { document: { require_live_capture: false } } });
    delete (stub as Record<string, unknown>).last_error;
    const stripe = session({ provided_details: null });
    expect(diffShapes(shapeOf(stub), shapeOf(stripe))).toEqual([
      { path: "last_error", stub: "(missing)", stripe: "null" },
      { path: "options.document.require_live_capture", stub: "false", stripe: "true" },
      { path: "provided_details", stub: "(missing)", stripe: "null" },
      { path: "status", stub: '"processing"', stripe: '"requires_input"' },
    ]);
  });

  it("reports error class, code, param and HTTP status, but not the message wording", () => {
    const err = (over: Record<string, unknown>) => ({
      ok: false,
      error: {
        class: "InvalidRequestError",
        code: "resource_missing",
        param: "session",
        http_status: 404,
        message: "x",
        ...over,
      },
    });
    expect(diffShapes(shapeOf(err({})), shapeOf(err({ message: "other words" })))).toEqual([]);
    const diffs = diffShapes(shapeOf(err({ param: "id", http_status: 400 })), shapeOf(err({})));
    expect(diffs.map((d) => d.path)).toEqual(["error.http_status", "error.param"]);
  });

  it("reports a list of another length and compares items pairwise", () => {
    const d = diffShapes(shapeOf({ data: [session(), session()] }), shapeOf({ data: [session({ status: "canceled" })] }));
    expect(d).toEqual([
      { path: "data.length", stub: "2", stripe: "1" },
      { path: "data[0].status", stub: '"requires_input"', stripe: '"canceled"' },
    ]);
  });

  it("an answer that succeeded on one side and failed on the other is a difference", () => {
    const d = diffShapes(shapeOf(ok(session())), shapeOf({ ok: false, error: { class: "InvalidRequestError" } }));
    expect(d.map((x) => x.path)).toEqual(["error", "object", "ok", "response"]);
  });
});

describe("diffTranscripts", () => {
  const call = (step: string, index: number, result: unknown): RecordedCall => ({ sdk: "stripe-node 23", step, index, result });

  it("pairs calls by SDK, step and position, and names calls only one side made", () => {
    const stub = [call("create", 0, ok(session())), call("list", 0, ok({ data: [] }))];
    const stripe = [call("create", 0, ok(session({ status: "verified" }))), call("cancel", 0, ok(session()))];
    expect(diffTranscripts(stub, stripe)).toEqual([
      { where: "stripe-node 23 | create | call 1", path: "object.status", stub: '"requires_input"', stripe: '"verified"' },
      { where: "stripe-node 23 | list | call 1", path: "(call)", stub: "made", stripe: "(missing)" },
      { where: "stripe-node 23 | cancel | call 1", path: "(call)", stub: "(missing)", stripe: "made" },
    ]);
  });
});

describe("referenceFromEnv", () => {
  it("skips without a key, refuses anything but a test-mode key, and takes the stub reference on request", () => {
    expect(referenceFromEnv({})).toHaveProperty("skip");
    expect(referenceFromEnv({ STRIPE_TEST_KEY: "sk_live_fake000" })).toHaveProperty("skip");
    expect(referenceFromEnv({ STRIPE_TEST_KEY: "sk_test_fake000" })).toEqual({ kind: "stripe", key: "sk_test_fake000" });
    expect(referenceFromEnv({ CONFORMANCE_REFERENCE: "stub" })).toEqual({ kind: "stub" });
  });
});
