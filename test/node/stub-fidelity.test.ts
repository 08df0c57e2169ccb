/**
 * The stub is independent of the proxy and answers like Stripe: its own decoder, routes and
 * validators generated from the vendored OpenAPI extract (no code from src/), the documented behaviours
 * the extract does not encode (dev/stub/form-rules.ts), Stripe-shaped errors, and a session held in
 * `processing` for the wrong-state answers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { createStripeStub, type StripeStub } from "../../dev/stub/app.ts";
import { STATE_ERROR_CODE } from "../../dev/stub/errors.ts";
import { FORM_RULES, type IdentityExtract } from "../../dev/stub/form-rules.ts";
import { generate } from "../../dev/stub/gen-validators.ts";
import { createSession, STUB_ORIGIN, type StubClient, stubClient } from "../helpers/stub-client.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SESSIONS = "/v1/identity/verification_sessions";
let stub: StripeStub;
let api: StubClient;

beforeEach(() => {
  stub = createStripeStub();
  api = stubClient(stub, { key: "sk_test_fake_fidelity" });
});

describe("independence", () => {
  it("no stub file imports anything from the proxy's src/", () => {
    const dir = join(root, "dev/stub");
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => /from\s+["'][^"']*\/src\//.test(readFileSync(join(dir, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("the committed validators are generated from the vendored extract, without eval", () => {
    const spec = JSON.parse(readFileSync(join(root, "vendor/stripe/identity-openapi.json"), "utf8")) as IdentityExtract;
    const committed = readFileSync(join(root, "dev/stub/validators.generated.ts"), "utf8");
    expect(committed).toBe(generate(spec));
    expect(committed).not.toMatch(/new Function|\beval\(|\brequire\(/);
  });

  it("every documented-behaviour rule names its source", () => {
    for (const rule of FORM_RULES) expect(rule.source, rule.id).toMatch(/https:\/\//);
  });
});

describe("documented behaviours the extract does not encode", () => {
  it.each(["True", "FALSE", "true", "false"])("accepts the boolean %s in any case and reads its meaning", async (flag) => {
    const res = await api.post(SESSIONS, `type=document&options[document][require_live_capture]=${flag}`);
    expect(res.status).toBe(200);
    expect(res.body.options.document.require_live_capture).toBe(flag.toLowerCase() === "true");
  });

  it("refuses a boolean that is not true/false", async () => {
    const res = await api.post(SESSIONS, "type=document&options[document][require_live_capture]=yes");
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "parameter_invalid", param: "options[document][require_live_capture]" });
  });

  it("metadata= unsets every key, metadata[k]= one key", async () => {
    const s = await createSession(api, "type=document&metadata[a]=1&metadata[b]=2&metadata[c]=3");
    const one = await api.post(`${SESSIONS}/${s.id}`, "metadata[a]=");
    expect(one.body.metadata).toEqual({ b: "2", c: "3" });
    const all = await api.post(`${SESSIONS}/${s.id}`, "metadata=");
    expect(all.status).toBe(200);
    expect(all.body.metadata).toEqual({});
    const bad = await api.post(`${SESSIONS}/${s.id}`, "metadata=x");
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("metadata");
  });

  it("keeps metadata keys named like Object.prototype members", async () => {
    const s = await createSession(
      api,
      "type=document&metadata[constructor]=c&metadata[toString]=t&metadata[valueOf]=v&metadata[__proto__]=p",
    );
    expect(s.metadata).toEqual(JSON.parse('{"constructor":"c","toString":"t","valueOf":"v","__proto__":"p"}'));
    expect(Object.keys(s.metadata)).toContain("__proto__");
    const again = await api.get(`${SESSIONS}/${s.id}`);
    expect(Object.keys(again.body.metadata).sort()).toEqual(["__proto__", "constructor", "toString", "valueOf"]);
  });

  it("an unknown parameter is named even next to an invalid one", async () => {
    const res = await api.post(
      SESSIONS,
      "type=document&options[document][require_live_capture]=maybe&options[document][bogus]=1",
    );
    expect(res.body.error).toMatchObject({ code: "parameter_unknown", param: "options[document][bogus]" });
  });
});

describe("errors look like Stripe's", () => {
  it("pretty-printed, keys in Stripe's order, doc_url, request_log_url, Request-Id", async () => {
    const res = await stub.fetch(
      new Request(`${STUB_ORIGIN}${SESSIONS}/cus_123`, { headers: { Authorization: "Bearer sk_test_fake_fidelity" } }),
    );
    const text = await res.text();
    const requestId = res.headers.get("Request-Id") ?? "";
    expect(res.status).toBe(404);
    expect(requestId).toMatch(/^req_[A-Za-z0-9]{14}$/);
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2));
    const { error } = JSON.parse(text);
    expect(Object.keys(error)).toEqual(["code", "doc_url", "message", "param", "request_log_url", "type"]);
    expect(error).toMatchObject({
      code: "resource_missing",
      doc_url: "https://stripe.com/docs/error-codes/resource-missing",
      message: "No such verification_session: 'cus_123'",
      param: "id",
      type: "invalid_request_error",
    });
    expect(error.request_log_url).toMatch(new RegExp(`^https://dashboard\\.stripe\\.com/test/logs/${requestId}\\?t=\\d{10}$`));
  });

  it.each(["abc", "vs_a.b", "vs_"])("a malformed id (%s) is a missing object, not a parameter error", async (id) => {
    const res = await api.get(`${SESSIONS}/${id}`);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: "resource_missing", param: "id" });
  });
});

describe("a session held in processing", () => {
  it("refuses cancel and redact until it is verified, then redacts", async () => {
    const s = await createSession(api);
    const held = await stub.fetch(
      new Request(`${STUB_ORIGIN}/_stub/outcome`, {
        method: "POST",
        body: JSON.stringify({ session: s.id, outcome: "processing" }),
      }),
    );
    expect(held.status).toBe(200);
    expect((await api.get(`${SESSIONS}/${s.id}`)).body.status).toBe("processing");
    for (const action of ["cancel", "redact"]) {
      const res = await api.post(`${SESSIONS}/${s.id}/${action}`);
      expect(res.status, action).toBe(400);
      expect(res.body.error).toMatchObject({ code: STATE_ERROR_CODE, type: "invalid_request_error" });
    }
    stub.setOutcome(s.id, "verified");
    expect((await api.get(`${SESSIONS}/${s.id}`)).body.status).toBe("verified");
    expect((await api.post(`${SESSIONS}/${s.id}/redact`)).body.redaction).toEqual({ status: "processing" });
  });
});
