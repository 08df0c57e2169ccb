import { describe, expect, it } from "vitest";
import { browserOperationsFor, checkBrowserParams } from "../../src/auth/browser-params.ts";
import { BROWSER_SESSION_FIELDS, browserSessionView } from "../../src/auth/browser-view.ts";
import { isOwnedBy } from "../../src/auth/ownership.ts";
import { missingObjectError, renderStripeError } from "../../src/errors.ts";

/** A session as Stripe returns it, with every field a browser must not see filled in. */
const SESSION = {
  id: "vs_1AbC",
  object: "identity.verification_session",
  client_reference_id: "user_123",
  client_secret: "vs_1AbC_secret_xyz",
  created: 1_760_000_000,
  last_error: null,
  last_verification_report: "vr_1Report",
  livemode: false,
  metadata: { internal_user: "42" },
  options: { document: { allowed_types: ["passport"], require_live_capture: true } },
  provided_details: { email: "jenny@example.com", phone: "+15555550100" },
  redaction: null,
  related_customer: "cus_1",
  related_customer_account: null,
  related_person: null,
  status: "requires_input",
  type: "document",
  url: "https://verify.stripe.com/start/test_abc",
  verification_flow: null,
  verified_outputs: { first_name: "Jenny", dob: { day: 1, month: 1, year: 1990 }, id_number: "123-45-6789" },
};

describe("browserSessionView", () => {
  it("keeps exactly the allow-listed fields", () => {
    const view = browserSessionView(SESSION, { withContinuation: true });
    expect(Object.keys(view ?? {}).sort()).toEqual([...BROWSER_SESSION_FIELDS].sort());
    expect(view).toMatchObject({
      id: "vs_1AbC",
      client_secret: SESSION.client_secret,
      url: SESSION.url,
      options: SESSION.options,
    });
  });

  it("never carries verified outputs, provided details, metadata, related ids or the report", () => {
    const text = JSON.stringify(browserSessionView(SESSION, { withContinuation: true }));
    for (const leak of [
      "Jenny",
      "123-45-6789",
      "jenny@example.com",
      "+15555550100",
      "internal_user",
      "cus_1",
      "vr_1Report",
      "user_123",
    ]) {
      expect(text).not.toContain(leak);
    }
  });

  it("drops client_secret and url when the caller may not continue the session", () => {
    const view = browserSessionView(SESSION, { withContinuation: false });
    expect(view).not.toHaveProperty("client_secret");
    expect(view).not.toHaveProperty("url");
    expect(view).toHaveProperty("status", "requires_input");
  });

  it("keeps null fields as null and omits absent ones", () => {
    const { last_error: _e, ...withoutLastError } = SESSION;
    const view = browserSessionView({ ...withoutLastError, redaction: null }, { withContinuation: true });
    expect(view).toHaveProperty("redaction", null);
    expect(view).not.toHaveProperty("last_error");
  });

  it("does not read inherited properties", () => {
    const proto = { client_secret: "inherited" };
    const session = Object.assign(Object.create(proto), { id: "vs_1", object: "identity.verification_session" });
    expect(browserSessionView(session, { withContinuation: true })).toEqual({
      id: "vs_1",
      object: "identity.verification_session",
    });
  });

  it("refuses anything that is not a VerificationSession", () => {
    for (const body of [
      undefined,
      null,
      "text",
      42,
      [],
      { object: "list", data: [SESSION] },
      { id: "vr_1", object: "identity.verification_report" },
      { error: { message: "x" } },
    ]) {
      expect(browserSessionView(body, { withContinuation: true })).toBeUndefined();
    }
  });
});

describe("checkBrowserParams", () => {
  const user = { kind: "user", subject: "user_123" } as const;
  const anonymous = { kind: "anonymous" } as const;

  it("binds a created session to the signed-in user", () => {
    expect(checkBrowserParams("create", { type: "document" }, user)).toEqual({
      ok: true,
      params: { type: "document", client_reference_id: "user_123" },
    });
    expect(checkBrowserParams("create", { client_reference_id: "user_123" }, user)).toEqual({
      ok: true,
      params: { client_reference_id: "user_123" },
    });
  });

  it("refuses a different client_reference_id", () => {
    expect(checkBrowserParams("create", { client_reference_id: "user_999" }, user)).toMatchObject({
      ok: false,
      param: "client_reference_id",
    });
    expect(checkBrowserParams("create", { client_reference_id: ["user_123"] }, user)).toMatchObject({
      ok: false,
      param: "client_reference_id",
    });
  });

  it("refuses any client_reference_id from an anonymous browser, and sets none", () => {
    expect(checkBrowserParams("create", { client_reference_id: "user_123" }, anonymous)).toMatchObject({
      ok: false,
      param: "client_reference_id",
    });
    expect(checkBrowserParams("create", { type: "document" }, anonymous)).toEqual({ ok: true, params: { type: "document" } });
  });

  const refused: [string, Record<string, unknown>][] = [
    ["expand", { expand: ["last_verification_report"] }],
    ["metadata", { metadata: { plan: "pro" } }],
    ["related_customer", { related_customer: "cus_1" }],
    ["related_customer_account", { related_customer_account: "acct_1" }],
    ["related_person", { related_person: { account: "acct_1", person: "person_1" } }],
    ["provided_details", { provided_details: { email: "a@b.test" } }],
  ];
  for (const [param, params] of refused) {
    it(`refuses ${param} on create, for every identity`, () => {
      for (const identity of [user, anonymous]) {
        const result = checkBrowserParams("create", params as never, identity);
        expect(result).toMatchObject({ ok: false, param });
        if (!result.ok) expect(result.message).toContain(param);
      }
    });
  }

  it("accepts the create parameters a frontend needs", () => {
    const params = {
      type: "document",
      options: { document: { allowed_types: ["passport"] } },
      return_url: "https://app.acme.test/identity/done",
      verification_flow: "vf_1",
    };
    expect(checkBrowserParams("create", params, user)).toEqual({
      ok: true,
      params: { ...params, client_reference_id: "user_123" },
    });
  });

  it("refuses every parameter on retrieve, cancel and redact (expand included)", () => {
    for (const op of ["retrieve", "cancel", "redact"] as const) {
      expect(checkBrowserParams(op, {}, user)).toEqual({ ok: true, params: {} });
      expect(checkBrowserParams(op, { expand: ["verified_outputs"] }, user)).toMatchObject({ ok: false, param: "expand" });
    }
  });

  it("allows only type and options on update", () => {
    expect(checkBrowserParams("update", { type: "document" }, user).ok).toBe(true);
    expect(checkBrowserParams("update", { metadata: { a: "b" } }, user)).toMatchObject({ ok: false, param: "metadata" });
    expect(checkBrowserParams("update", { provided_details: { email: "a@b.test" } }, user)).toMatchObject({
      ok: false,
      param: "provided_details",
    });
  });

  it("refuses every parameter of operations browsers never use", () => {
    expect(checkBrowserParams("list", { limit: "3" }, user)).toMatchObject({ ok: false, param: "limit" });
  });
});

describe("browserOperationsFor", () => {
  const all = ["create", "retrieve", "update", "list", "cancel", "redact", "report_retrieve", "report_list"];
  it("never offers lists or reports to browsers", () => {
    expect(browserOperationsFor({ kind: "user", subject: "u" }, all)).toEqual([
      "create",
      "retrieve",
      "update",
      "cancel",
      "redact",
    ]);
  });
  it("offers only create and retrieve without an end-user identity (no ownership check is possible)", () => {
    expect(browserOperationsFor({ kind: "anonymous" }, all)).toEqual(["create", "retrieve"]);
  });
  it("narrows to what the tenant configured", () => {
    expect(browserOperationsFor({ kind: "user", subject: "u" }, ["retrieve"])).toEqual(["retrieve"]);
  });
});

describe("ownership", () => {
  it("owns a session whose client_reference_id is the subject, exactly", () => {
    expect(isOwnedBy(SESSION, "user_123")).toBe(true);
    for (const other of ["user_1234", "USER_123", "user_12", " user_123", ""]) expect(isOwnedBy(SESSION, other)).toBe(false);
    expect(isOwnedBy({ ...SESSION, client_reference_id: null }, "user_123")).toBe(false);
    expect(isOwnedBy({ ...SESSION, object: "identity.verification_report" }, "user_123")).toBe(false);
    expect(isOwnedBy(undefined, "user_123")).toBe(false);
  });

  it("answers a missing session in Stripe's shape, rendered as Stripe writes it (keys sorted, pretty-printed)", () => {
    const err = missingObjectError("verification_session", "vs_1Missing");
    expect(err.status).toBe(404);
    expect(renderStripeError(err.toBody())).toBe(
      `{
  "error": {
    "code": "resource_missing",
    "doc_url": "https://docs.stripe.com/error-codes/resource-missing",
    "message": "No such verification_session: 'vs_1Missing'",
    "param": "id",
    "type": "invalid_request_error"
  }
}
`,
    );
  });
});
