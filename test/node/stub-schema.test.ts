/**
 * The stub answers in Stripe's shapes: every response body of every operation (successes and errors)
 * validates against the Identity OpenAPI extract with ajv, and webhook payloads carry valid sessions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createStripeStub, type StripeStub } from "../../dev/stub/app.ts";
import { REPORT_EXPANDABLE, SESSION_EXPANDABLE } from "../../dev/stub/expand.ts";
import { LAST_ERROR_CODES } from "../../dev/stub/status.ts";
import { createSession, readJson, type StubAnswer, type StubClient, stubClient } from "../helpers/stub-client.ts";
import { compileSpec, describeErrors, expandablePaths, loadIdentitySpec, type SpecValidators } from "../helpers/stub-openapi.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";
const ALL_SESSION_EXPANDS = SESSION_EXPANDABLE.map((p) => `expand[]=${p}`).join("&");
const ALL_REPORT_EXPANDS = REPORT_EXPANDABLE.map((p) => `expand[]=${p}`).join("&");

/** The OpenAPI path template a concrete path belongs to. */
function templateOf(path: string): string {
  return (path.split("?")[0] ?? "")
    .replace(/\/verification_sessions\/vs_[A-Za-z0-9]+/, "/verification_sessions/{session}")
    .replace(/\/verification_reports\/[^/]+/, "/verification_reports/{report}")
    .replace(/\/verification_sessions\/[^/{]+(?=\/|$)/, "/verification_sessions/{session}");
}

let spec: SpecValidators;
let stub: StripeStub;
let client: StubClient;
let checked = 0;

/** Asserts a body against the schema of the operation that produced it, and returns it. */
function conforms(method: string, path: string, res: StubAnswer): StubAnswer {
  const validate = spec.response(method, templateOf(path), res.status);
  const ok = validate(res.body);
  expect(ok, `${method} ${path} → ${res.status}: ${describeErrors(validate)}\n${JSON.stringify(res.body)}`).toBe(true);
  checked += 1;
  return res;
}

async function get(path: string): Promise<StubAnswer> {
  return conforms("GET", path, await client.get(path));
}

async function post(path: string, form = "", idempotencyKey?: string): Promise<StubAnswer> {
  return conforms("POST", path, await client.post(path, form, idempotencyKey ? { idempotencyKey } : {}));
}

beforeAll(() => {
  spec = compileSpec();
});

describe("the schema adapter itself", () => {
  it("rejects what Stripe's schema rejects (so passing tests mean something)", () => {
    const session = spec.component("identity.verification_session");
    const good = {
      id: "vs_1",
      object: "identity.verification_session",
      created: 1,
      livemode: false,
      metadata: {},
      status: "requires_input",
      type: "document",
      client_secret: null,
    };
    expect(session(good), describeErrors(session)).toBe(true);
    expect(session({ ...good, metadata: undefined })).toBe(false); // required
    expect(session({ ...good, status: "done" })).toBe(false); // enum
    expect(session({ ...good, created: 1.5 })).toBe(false); // unix-time
    expect(session({ ...good, redaction: { status: null } })).toBe(false); // not nullable
    expect(session({ ...good, invented: true })).toBe(false); // no fields Stripe does not have
    expect(session({ ...good, last_error: null, verified_outputs: { sex: null } })).toBe(true); // nullable
    expect(spec.component("error")({ error: { type: "card_error", message: "x" } })).toBe(true);
    expect(spec.component("error")({ error: { message: "x" } })).toBe(false);
  });
});

describe("every operation answers in the extract's shapes", () => {
  beforeAll(() => {
    stub = createStripeStub({
      webhooks: [{ url: "https://receiver.test/hook", secret: "whsec_fake_stub" }],
      webhookFetch: async () => new Response("ok"),
    });
    client = stubClient(stub, { key: "sk_test_fake_stub_schema" });
  });

  it("create, with every parameter the extract allows", async () => {
    const full = [
      "type=document",
      "client_reference_id=user_1",
      "metadata[order]=o_1",
      "options[document][allowed_types][0]=passport",
      "options[document][allowed_types][1]=id_card",
      "options[document][require_id_number]=true",
      "options[document][require_live_capture]=true",
      "options[document][require_matching_selfie]=true",
      "provided_details[email]=jenny@example.test",
      "provided_details[phone]=+15555550100",
      "related_customer=cus_fake",
      "related_customer_account=acct_fakecustomer",
      "related_person[account]=acct_fakeperson",
      "related_person[person]=person_fake",
      "return_url=https://app.example.test/done",
    ].join("&");
    const res = await post(SESSIONS, `${full}&${ALL_SESSION_EXPANDS}`);
    expect(res.status).toBe(200);
    expect(res.body.related_person).toEqual({ account: "acct_fakeperson", person: "person_fake" });
    await post(SESSIONS, "type=id_number");
    await post(SESSIONS, "verification_flow=vf_fake_flow");
    await post(SESSIONS, "type=document&options[document]=");
  });

  it("retrieve, plain and with every expansion: nullable fields present as null", async () => {
    const created = await createSession(client, "type=document&client_reference_id=u_2");
    const plain = await get(`${SESSIONS}/${created.id}`);
    const properties = Object.keys(loadIdentitySpec().components.schemas["identity.verification_session"]?.properties as object);
    // Optional-when-unset and includable-when-expanded fields; everything else is always there.
    const conditional = ["related_person", "verification_flow", "verified_outputs", "provided_details"];
    for (const p of properties.filter((p) => !conditional.includes(p))) expect(plain.body, p).toHaveProperty(p);
    expect(plain.body).not.toHaveProperty("verified_outputs");
    const expanded = await get(`${SESSIONS}/${created.id}?${ALL_SESSION_EXPANDS}`);
    expect(expanded.body.verified_outputs).toBeNull();
    expect(expanded.body.provided_details).toBeNull();
  });

  it("update, list (with filters and expansions)", async () => {
    const created = await createSession(client);
    await post(
      `${SESSIONS}/${created.id}`,
      "metadata[a]=b&options[document][require_matching_selfie]=true&provided_details[email]=x@example.test",
    );
    await post(`${SESSIONS}/${created.id}`, "type=id_number");
    await get(`${SESSIONS}?limit=3`);
    await get(
      `${SESSIONS}?limit=100&status=requires_input&created[gte]=0&${SESSION_EXPANDABLE.map((p) => `expand[]=data.${p}`).join("&")}`,
    );
  });

  it("every hosted-page outcome, then the session and its report with every expansion", async () => {
    const outcomes: [string, string | undefined][] = [
      ["verified", undefined],
      ...LAST_ERROR_CODES.map((code): [string, string] => ["requires_input", code]),
      ["canceled", undefined],
    ];
    for (const [outcome, code] of outcomes) {
      for (const form of [
        "type=document&options[document][require_matching_selfie]=true&options[document][require_id_number]=true&provided_details[email]=a@example.test&provided_details[phone]=+15555550100",
        "type=id_number",
      ]) {
        const created = await createSession(client, form);
        stub.setOutcome(created.id, outcome as "verified", code as undefined);
        const session = await get(`${SESSIONS}/${created.id}?${ALL_SESSION_EXPANDS}`);
        expect(session.body.status).toBe(outcome);
        if (session.body.last_verification_report) {
          const reportId = session.body.last_verification_report.id;
          await get(`${REPORTS}/${reportId}`);
          await get(`${REPORTS}/${reportId}?${ALL_REPORT_EXPANDS}`);
        }
      }
    }
    const list = await get(`${REPORTS}?limit=100&${REPORT_EXPANDABLE.map((p) => `expand[]=data.${p}`).join("&")}`);
    expect(list.body.data.length).toBeGreaterThan(20);
    await get(`${REPORTS}?type=document&limit=2`);
  });

  it("cancel and redact, including the redacted result", async () => {
    const a = await createSession(client, "type=document&metadata[k]=v&provided_details[email]=a@example.test");
    await post(`${SESSIONS}/${a.id}/cancel`);
    const b = await createSession(client, "type=document");
    stub.setOutcome(b.id, "verified");
    const redacting = await post(`${SESSIONS}/${b.id}/redact`, ALL_SESSION_EXPANDS);
    expect(redacting.body.redaction).toEqual({ status: "processing" });
    const c = await createSession(client, "type=document&provided_details[email]=a@example.test");
    await post(`${SESSIONS}/${c.id}/redact`);
    await stub.flushWebhooks();
    const redacted = await get(`${SESSIONS}/${b.id}?${ALL_SESSION_EXPANDS}`);
    expect(redacted.body.redaction).toEqual({ status: "redacted" });
    expect(redacted.body.verified_outputs.first_name).toBe("[redacted]");
    await get(`${REPORTS}/${redacted.body.last_verification_report.id}?${ALL_REPORT_EXPANDS}`);
    await get(`${SESSIONS}/${c.id}?${ALL_SESSION_EXPANDS}`);
  });

  it("every kind of error body", async () => {
    const verified = await createSession(client);
    stub.setOutcome(verified.id, "verified");
    const errors: [string, string, string, number][] = [
      ["GET", `${SESSIONS}/vs_doesnotexist`, "", 404],
      ["GET", `${REPORTS}/vr_doesnotexist`, "", 404],
      ["GET", `${SESSIONS}?bogus=1`, "", 400],
      ["GET", `${SESSIONS}?limit=0`, "", 400],
      ["GET", `${SESSIONS}?limit=abc`, "", 400],
      ["GET", `${SESSIONS}?starting_after=vs_nope`, "", 404],
      ["GET", `${SESSIONS}?expand[]=verified_outputs`, "", 400],
      ["GET", `${SESSIONS}/${verified.id}?expand[]=nothing`, "", 400],
      ["POST", SESSIONS, "", 400],
      ["POST", SESSIONS, "type=selfie", 400],
      ["POST", SESSIONS, "type=document&verification_flow=vf_1", 400],
      ["POST", SESSIONS, "type=document&related_person[account]=acct_1", 400],
      ["POST", SESSIONS, "type=document&return_url=notaurl", 400],
      ["POST", SESSIONS, "type=document&options[document][bogus]=1", 400],
      ["POST", `${SESSIONS}/${verified.id}/cancel`, "", 400],
      ["POST", `${SESSIONS}/${verified.id}`, "type=id_number", 400],
    ];
    for (const [method, path, form, status] of errors) {
      const res = method === "GET" ? await get(path) : await post(path, form);
      expect(res.status, `${method} ${path} ${form}`).toBe(status);
    }
    // Errors outside the operations' own logic: auth, routing, idempotency, injected faults.
    const validateError = spec.component("error");
    const raw = async (request: Request) => {
      const res = await stub.fetch(request);
      const body = await readJson(res);
      expect(validateError(body), describeErrors(validateError)).toBe(true);
      checked += 1;
      return res.status;
    };
    const url = `http://127.0.0.1:12111${SESSIONS}`;
    expect(await raw(new Request(url))).toBe(401);
    expect(await raw(new Request(url, { headers: { Authorization: "Bearer sk_live_notallowed1234" } }))).toBe(401);
    expect(
      await raw(
        new Request(`http://127.0.0.1:12111/v1/charges`, { headers: { Authorization: "Bearer sk_test_fake_stub_schema" } }),
      ),
    ).toBe(404);
    await client.post(SESSIONS, "type=document", { idempotencyKey: "schema-key" });
    const conflict = await client.post(SESSIONS, "type=id_number", { idempotencyKey: "schema-key" });
    expect(conflict.status).toBe(400);
    expect(conflict.body.error.type).toBe("idempotency_error");
    conforms("POST", SESSIONS, conflict);
    for (const status of [409, 429, 500, 502, 503]) {
      stub.injectFaults([{ kind: "status", status }]);
      expect(await raw(new Request(url, { headers: { Authorization: "Bearer sk_test_fake_stub_schema" } }))).toBe(status);
    }
  });

  it("webhook payloads carry valid sessions", async () => {
    await stub.flushWebhooks();
    const session = spec.component("identity.verification_session");
    expect(stub.events.length).toBeGreaterThan(40);
    for (const event of stub.events) {
      expect(event.type).toMatch(/^identity\.verification_session\./);
      expect(session(event.data.object), describeErrors(session)).toBe(true);
    }
  });

  it("validated a meaningful number of bodies", () => {
    expect(checked).toBeGreaterThan(100);
  });
});

describe("the stub's expansion tables cover the extract", () => {
  it("every x-expandableFields path of a session and a report is accepted", () => {
    const extract = loadIdentitySpec();
    for (const path of expandablePaths(extract, "identity.verification_session")) expect(SESSION_EXPANDABLE).toContain(path);
    for (const path of expandablePaths(extract, "identity.verification_report")) expect(REPORT_EXPANDABLE).toContain(path);
  });
});
