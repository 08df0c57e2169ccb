/**
 * The SDK scenario: every Identity operation, auto-pagination, metadata idioms, error classes,
 * idempotent replay and expansion, as steps that any SDK driver (test/helpers/stub-sdk-drivers.ts) runs
 * through the proxy. test/e2e/sdk-matrix.test.ts runs it against the stub and checks each step;
 * `npm run conformance` runs the same steps against Stripe test mode and the stub and diffs the answers.
 * Steps run in order and share ids through the context.
 */
import { createHash } from "node:crypto";
import type { ExpectStatic } from "vitest";
import { DEMO_TENANT_ID, demoTenants } from "../../dev/demo-tenant.ts";
import type { SdkCall, SdkDriver, SdkResult } from "../helpers/stub-sdk-drivers.ts";

/** A second key of the demo tenant that may only retrieve: the PermissionError case. */
export const LIMITED_KEY = "iek_dev_limited_11111111111111111111111111111111111111111";

/** The demo tenants (as `npm start` has them) with the limited key added. */
export function tenantsWithLimitedKey(port: number): Record<string, unknown> {
  const tenants = demoTenants(port) as Record<string, { server_keys?: unknown[] }>;
  const demo = tenants[DEMO_TENANT_ID];
  if (!demo) throw new Error("no demo tenant");
  const sha256 = createHash("sha256").update(LIMITED_KEY).digest("hex");
  demo.server_keys = [...(demo.server_keys ?? []), { name: "limited", sha256, operations: ["retrieve"] }];
  return tenants;
}

export interface ScenarioContext {
  driver: SdkDriver;
  /** Unique per run and SDK: the `client_reference_id` that scopes this run's lists. */
  tag: string;
  /** Ids made by earlier steps. */
  ids: Record<string, string>;
  /** A proxy key of the same tenant that may only retrieve (for PermissionError). */
  limitedKey: string;
  /** Moves a session as the hosted page would; null against real Stripe (no API for it). */
  setOutcome: ((id: string, outcome: "verified" | "processing") => Promise<void>) | null;
}

export interface Step {
  name: string;
  /** Needs the stub's control (an outcome on the hosted page): not run against real Stripe. */
  stubOnly?: boolean;
  /** The calls, in order; each result is recorded (conformance diffs them). */
  run(ctx: ScenarioContext): Promise<SdkResult[]>;
  check(results: SdkResult[], ctx: ScenarioContext, expect: ExpectStatic): void;
}

/** Stripe's request ids: `req_` and alphanumerics (the stub's and Stripe's; never the proxy's `req_edge_`). */
export const STRIPE_REQUEST_ID = /^req_[A-Za-z0-9]{14,}$/;
/** A GUESS until `npm run conformance` says otherwise (dev/stub/README.md): Stripe's wrong-state code. */
export const WRONG_STATE = { class: "InvalidRequestError", http_status: 400 } as const;

type Ok = Extract<SdkResult, { ok: true }>;
type Err = Extract<SdkResult, { ok: false }>;

function ok(r: SdkResult | undefined, expect: ExpectStatic): Ok {
  expect(r?.ok, JSON.stringify(r)).toBe(true);
  return r as Ok;
}

function failed(r: SdkResult | undefined, expect: ExpectStatic): Err["error"] {
  expect(r?.ok, JSON.stringify(r)).toBe(false);
  return (r as Err).error;
}

async function one(ctx: ScenarioContext, call: SdkCall): Promise<SdkResult[]> {
  return [await ctx.driver.call(call)];
}

function idOf(r: SdkResult | undefined): string {
  if (!r?.ok || typeof r.object?.id !== "string") throw new Error(`expected an object with an id, got ${JSON.stringify(r)}`);
  return r.object.id;
}

/** Idempotency keys the SDKs make (or none): anything else in the answer was made by the proxy. */
const SDK_IDEMPOTENCY_KEY = /^(stripe-node-retry-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^null$/;
/** JSON, so `__proto__` is an own key (an object literal would set the prototype instead). */
const PROTOTYPE_METADATA = '{"constructor":"c","toString":"t","valueOf":"v","hasOwnProperty":"h","__proto__":"p"}';
const BAD_PROXY_KEY = `iek_${"x".repeat(43)}`;

export const SCENARIO: readonly Step[] = [
  {
    name: "create",
    async run(ctx) {
      const r = await ctx.driver.call({
        op: "create",
        params: { type: "document", client_reference_id: ctx.tag, metadata: { order: "o_1" } },
      });
      if (r.ok) ctx.ids.main = idOf(r);
      return [r];
    },
    check([r], _ctx, expect) {
      const { object, response, missing_attrs } = ok(r, expect);
      expect(object).toMatchObject({ object: "identity.verification_session", status: "requires_input", type: "document" });
      expect(object.id).toMatch(/^vs_/);
      expect(object.metadata).toEqual({ order: "o_1" });
      expect(typeof object.url).toBe("string");
      expect(typeof object.client_secret).toBe("string");
      expect(missing_attrs).toEqual([]);
      expect(response?.request_id).toMatch(STRIPE_REQUEST_ID);
    },
  },
  {
    name: "create with boolean options true and false (stripe-python sends True/False)",
    async run(ctx) {
      const call = (flag: boolean): SdkCall => ({
        op: "create",
        params: { type: "document", options: { document: { require_live_capture: true, require_matching_selfie: flag } } },
      });
      return [await ctx.driver.call(call(true)), await ctx.driver.call(call(false))];
    },
    check(results, _ctx, expect) {
      results.forEach((r, i) => {
        const doc = ok(r, expect).object.options.document;
        expect(doc.require_live_capture).toBe(true);
        expect(doc.require_matching_selfie).toBe(i === 0);
      });
    },
  },
  {
    name: "create: metadata keys named like Object.prototype members arrive intact",
    run: (ctx) =>
      one(ctx, {
        op: "create",
        params: { type: "id_number", metadata: JSON.parse(PROTOTYPE_METADATA) },
      }),
    check([r], _ctx, expect) {
      const metadata = ok(r, expect).object.metadata;
      expect(Object.keys(metadata).sort()).toEqual(["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"]);
      expect(metadata).toEqual(JSON.parse(PROTOTYPE_METADATA));
    },
  },
  {
    name: "retrieve",
    run: (ctx) => one(ctx, { op: "retrieve", id: ctx.ids.main }),
    check([r], ctx, expect) {
      const { object, missing_attrs } = ok(r, expect);
      expect(object.id).toBe(ctx.ids.main);
      expect(missing_attrs).toEqual([]);
    },
  },
  {
    name: "update: metadata set, one key unset (metadata[k]=''), all unset (metadata='')",
    async run(ctx) {
      const id = ctx.ids.main;
      return [
        await ctx.driver.call({ op: "update", id, params: { metadata: { order: "o_2", extra: "x" } } }),
        await ctx.driver.call({ op: "update", id, params: { metadata: { extra: "" } } }),
        await ctx.driver.call({ op: "update", id, params: { metadata: "" } }),
      ];
    },
    check([set, unsetOne, unsetAll], _ctx, expect) {
      expect(ok(set, expect).object.metadata).toEqual({ order: "o_2", extra: "x" });
      expect(ok(unsetOne, expect).object.metadata).toEqual({ order: "o_2" });
      expect(ok(unsetAll, expect).object.metadata).toEqual({});
    },
  },
  {
    name: "list: one page, then auto-pagination over every page; items keep url/client_secret (null)",
    async run(ctx) {
      for (let i = 0; i < 6; i++) {
        const r = await ctx.driver.call({ op: "create", params: { type: "document", client_reference_id: ctx.tag } });
        if (!r.ok) return [r];
      }
      return [
        await ctx.driver.call({ op: "list", params: { limit: 2, client_reference_id: ctx.tag } }),
        await ctx.driver.call({ op: "list_all", params: { limit: 3, client_reference_id: ctx.tag } }),
      ];
    },
    check([page, all], _ctx, expect) {
      const first = ok(page, expect);
      expect(first.object).toMatchObject({ object: "list", has_more: true, url: "/v1/identity/verification_sessions" });
      expect(first.object.data).toHaveLength(2);
      const every = ok(all, expect);
      const ids = every.object.data.map((s: { id: string }) => s.id);
      expect(ids).toHaveLength(7);
      expect(new Set(ids).size).toBe(7);
      expect(every.missing_attrs).toEqual([]);
      for (const s of every.object.data) {
        expect(s.url, "list items carry url: null").toBeNull();
        expect(s.client_secret, "list items carry client_secret: null").toBeNull();
      }
    },
  },
  {
    name: "idempotent replay: the same Idempotency-Key twice, the second answer says Idempotent-Replayed",
    async run(ctx) {
      const call: SdkCall = {
        op: "create",
        params: { type: "document", client_reference_id: `${ctx.tag}_idem` },
        idempotency_key: `${ctx.tag}-replay`,
      };
      return [await ctx.driver.call(call), await ctx.driver.call(call)];
    },
    check([first, second], ctx, expect) {
      const a = ok(first, expect);
      const b = ok(second, expect);
      expect(b.object.id).toBe(a.object.id);
      expect(a.response?.idempotent_replayed ?? null).toBeNull();
      expect(b.response?.idempotent_replayed).toBe("true");
      // Stripe echoes the caller's key; a key the proxy made up never reaches the caller.
      expect([`${ctx.tag}-replay`, null]).toContain(a.response?.idempotency_key ?? null);
    },
  },
  {
    name: "no Idempotency-Key of the proxy's own is echoed to a caller that sent none",
    async run(ctx) {
      // No key from the test: stripe-node 12 sends none, stripe-node 23 and stripe-python make their own.
      return one(ctx, { op: "create", params: { type: "id_number" } });
    },
    check([r], _ctx, expect) {
      const { response } = ok(r, expect);
      // What the SDKs themselves send: stripe-node 23 `stripe-node-retry-<uuid>`, stripe-python a uuid4.
      expect(String(response?.idempotency_key ?? null)).toMatch(SDK_IDEMPOTENCY_KEY);
    },
  },
  {
    name: "cancel, then cancel again: InvalidRequestError with request_id",
    async run(ctx) {
      return [
        await ctx.driver.call({ op: "cancel", id: ctx.ids.main }),
        await ctx.driver.call({ op: "cancel", id: ctx.ids.main }),
      ];
    },
    check([first, again], _ctx, expect) {
      expect(ok(first, expect).object.status).toBe("canceled");
      const err = failed(again, expect);
      expect(err).toMatchObject(WRONG_STATE);
      expect(err.request_id).toMatch(STRIPE_REQUEST_ID);
    },
  },
  {
    name: "verified session: expansion, report retrieve and list, redact",
    stubOnly: true,
    async run(ctx) {
      const created = await ctx.driver.call({ op: "create", params: { type: "document", client_reference_id: `${ctx.tag}_v` } });
      if (!created.ok || !ctx.setOutcome) return [created];
      const id = idOf(created);
      await ctx.setOutcome(id, "verified");
      const expanded = await ctx.driver.call({ op: "retrieve", id, params: { expand: ["last_verification_report"] } });
      const reportId = expanded.ok ? String(expanded.object.last_verification_report?.id) : "vr_none";
      return [
        expanded,
        await ctx.driver.call({ op: "report_retrieve", id: reportId }),
        await ctx.driver.call({ op: "report_list", params: { verification_session: id, limit: 5 } }),
        await ctx.driver.call({ op: "redact", id }),
      ];
    },
    check([expanded, report, reports, redacted], _ctx, expect) {
      const session = ok(expanded, expect).object;
      expect(session.status).toBe("verified");
      expect(session.last_verification_report).toMatchObject({ object: "identity.verification_report" });
      const vr = ok(report, expect).object;
      expect(vr).toMatchObject({ object: "identity.verification_report", verification_session: session.id });
      expect(ok(reports, expect).object.data.map((r: { id: string }) => r.id)).toEqual([vr.id]);
      expect(ok(redacted, expect).object.redaction).toEqual({ status: "processing" });
    },
  },
  {
    name: "a processing session cannot be canceled or redacted",
    stubOnly: true,
    async run(ctx) {
      const created = await ctx.driver.call({ op: "create", params: { type: "document", client_reference_id: `${ctx.tag}_p` } });
      if (!created.ok || !ctx.setOutcome) return [created];
      const id = idOf(created);
      await ctx.setOutcome(id, "processing");
      return [await ctx.driver.call({ op: "cancel", id }), await ctx.driver.call({ op: "redact", id })];
    },
    check([cancel, redact], _ctx, expect) {
      expect(failed(cancel, expect)).toMatchObject(WRONG_STATE);
      expect(failed(redact, expect)).toMatchObject(WRONG_STATE);
    },
  },
  {
    name: "policy refusal: InvalidRequestError with code and param (python sends False)",
    run: (ctx) =>
      one(ctx, { op: "create", params: { type: "document", options: { document: { require_live_capture: false } } } }),
    check([r], _ctx, expect) {
      const err = failed(r, expect);
      expect(err).toMatchObject({
        class: "InvalidRequestError",
        http_status: 400,
        param: "options[document][require_live_capture]",
      });
      expect(err.code).toBeTruthy();
    },
  },
  {
    name: "unknown parameter: InvalidRequestError parameter_unknown",
    run: (ctx) => one(ctx, { op: "create", params: { type: "document", bogus: "x" } }),
    check([r], _ctx, expect) {
      expect(failed(r, expect)).toMatchObject({ class: "InvalidRequestError", code: "parameter_unknown", param: "bogus" });
    },
  },
  {
    name: "malformed and unknown ids: InvalidRequestError 404 resource_missing",
    async run(ctx) {
      return [
        await ctx.driver.call({ op: "retrieve", id: "cus_123" }),
        await ctx.driver.call({ op: "retrieve", id: "abc" }),
        await ctx.driver.call({ op: "retrieve", id: "vs_doesnotexist000" }),
        await ctx.driver.call({ op: "report_retrieve", id: "vs_123" }),
      ];
    },
    check(results, _ctx, expect) {
      for (const r of results) {
        const err = failed(r, expect);
        expect(err, JSON.stringify(err)).toMatchObject({
          class: "InvalidRequestError",
          http_status: 404,
          code: "resource_missing",
          param: "id",
        });
        expect(err.request_id).toMatch(/^req_/);
      }
    },
  },
  {
    name: "a wrong proxy key and a bearer that is no key: AuthenticationError",
    async run(ctx) {
      return [
        await ctx.driver.call({ op: "list", api_key: BAD_PROXY_KEY }),
        await ctx.driver.call({ op: "list", api_key: "notakey" }),
      ];
    },
    check(results, _ctx, expect) {
      for (const r of results) expect(failed(r, expect)).toMatchObject({ class: "AuthenticationError", http_status: 401 });
    },
  },
  {
    name: "an operation the key may not use: PermissionError",
    run: (ctx) => one(ctx, { op: "create", api_key: ctx.limitedKey, params: { type: "document" } }),
    check([r], _ctx, expect) {
      expect(failed(r, expect)).toMatchObject({ class: "PermissionError", http_status: 403 });
    },
  },
];
