/**
 * The stub behaves like Stripe's Identity API: pagination, filters, the status machine, idempotency,
 * tenant scoping, parameter errors, signed webhooks, the hosted page and injected faults. In-process;
 * the Node server and stripe-node are covered in stub-server.test.ts.
 */
import { createHmac } from "node:crypto";
import Stripe from "stripe";
import { beforeEach, describe, expect, it } from "vitest";
import { createStripeStub, type StripeStub } from "../../dev/stub/app.ts";
import { createSession, readJson, STUB_ORIGIN, type StubClient, stubClient } from "../helpers/stub-client.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";
const KEY_A = "sk_test_fake_stub_tenant_a";
const KEY_B = "sk_test_fake_stub_tenant_b";
const START = 1_800_000_000_000;

let clock: number;
let stub: StripeStub;
let api: StubClient;

beforeEach(() => {
  clock = START;
  stub = createStripeStub({ now: () => clock });
  api = stubClient(stub, { key: KEY_A });
});

describe("pagination", () => {
  /** 25 sessions over 5 seconds: ties on `created` must still page stably. */
  async function create25(): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      clock = START + Math.floor(i / 5) * 1000;
      ids.push((await createSession(api, `type=document&client_reference_id=u_${i}`)).id);
    }
    return ids.reverse(); // newest first, as Stripe lists
  }

  it("walks 25 sessions forward with starting_after, pages of 10", async () => {
    const newestFirst = await create25();
    const p1 = await api.get(`${SESSIONS}?limit=10`);
    expect(p1.body).toMatchObject({ object: "list", url: SESSIONS, has_more: true });
    const p2 = await api.get(`${SESSIONS}?limit=10&starting_after=${p1.body.data.at(-1).id}`);
    expect(p2.body.has_more).toBe(true);
    const p3 = await api.get(`${SESSIONS}?limit=10&starting_after=${p2.body.data.at(-1).id}`);
    expect(p3.body.has_more).toBe(false);
    expect(p3.body.data).toHaveLength(5);
    const walked = [...p1.body.data, ...p2.body.data, ...p3.body.data].map((s: { id: string }) => s.id);
    expect(walked).toEqual(newestFirst);
  });

  it("walks back with ending_before, and defaults to 10", async () => {
    const newestFirst = await create25();
    const oldest = newestFirst.at(-1);
    const back1 = await api.get(`${SESSIONS}?ending_before=${oldest}`);
    expect(back1.body.data.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(14, 24));
    expect(back1.body.has_more).toBe(true);
    const back2 = await api.get(`${SESSIONS}?limit=10&ending_before=${back1.body.data[0].id}`);
    expect(back2.body.data.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(4, 14));
    expect(back2.body.has_more).toBe(true);
    const back3 = await api.get(`${SESSIONS}?limit=10&ending_before=${back2.body.data[0].id}`);
    expect(back3.body.data.map((s: { id: string }) => s.id)).toEqual(newestFirst.slice(0, 4));
    expect(back3.body.has_more).toBe(false);
  });

  it("refuses bad limits and cursors the way Stripe does", async () => {
    await create25();
    for (const limit of ["0", "101", "-1"]) {
      const res = await api.get(`${SESSIONS}?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe("limit");
    }
    expect((await api.get(`${SESSIONS}?limit=100`)).body.data).toHaveLength(25);
    expect((await api.get(`${SESSIONS}?limit=1`)).body.data).toHaveLength(1);
    const both = await api.get(`${SESSIONS}?starting_after=vs_a&ending_before=vs_b`);
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe("parameters_exclusive");
    const missing = await api.get(`${SESSIONS}?starting_after=vs_doesnotexist`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "resource_missing", param: "starting_after" });
  });
});

describe("list filters", () => {
  it("filters sessions by status, client_reference_id, related_customer and created", async () => {
    const a = await createSession(api, "type=document&client_reference_id=alice&related_customer=cus_alice");
    clock += 10_000;
    const b = await createSession(api, "type=document&client_reference_id=bob");
    clock += 10_000;
    const c = await createSession(api, "type=id_number&client_reference_id=alice");
    stub.setOutcome(b.id, "verified");
    const ids = async (q: string) => (await api.get(`${SESSIONS}?${q}`)).body.data.map((s: { id: string }) => s.id);
    expect(await ids("status=verified")).toEqual([b.id]);
    expect(await ids("status=requires_input")).toEqual([c.id, a.id]);
    expect(await ids("client_reference_id=alice")).toEqual([c.id, a.id]);
    expect(await ids("related_customer=cus_alice")).toEqual([a.id]);
    expect(await ids(`created=${b.created}`)).toEqual([b.id]);
    expect(await ids(`created[gt]=${a.created}`)).toEqual([c.id, b.id]);
    expect(await ids(`created[gte]=${a.created}&created[lt]=${c.created}`)).toEqual([b.id, a.id]);
    expect(await ids(`created[lte]=${a.created}`)).toEqual([a.id]);
    expect(await ids("status=canceled")).toEqual([]);
  });

  it("filters reports by verification_session, type and client_reference_id", async () => {
    const doc = await createSession(api, "type=document&client_reference_id=alice");
    const idn = await createSession(api, "type=id_number&client_reference_id=bob");
    stub.setOutcome(doc.id, "requires_input", "document_expired");
    stub.setOutcome(doc.id, "verified");
    stub.setOutcome(idn.id, "verified");
    const ids = async (q: string) => (await api.get(`${REPORTS}?${q}`)).body.data.map((r: { id: string }) => r.id);
    const docReports = await ids(`verification_session=${doc.id}`);
    expect(docReports).toHaveLength(2);
    const latest = (await api.get(`${SESSIONS}/${doc.id}`)).body.last_verification_report;
    expect(docReports[0]).toBe(latest);
    expect(await ids("type=id_number")).toEqual([(await api.get(`${SESSIONS}/${idn.id}`)).body.last_verification_report]);
    expect(await ids("client_reference_id=alice")).toEqual(docReports);
    expect((await api.get(`${REPORTS}?type=selfie`)).status).toBe(400);
  });
});

describe("the status machine", () => {
  it("verifies: processing then verified, report and verified_outputs filled, url used up", async () => {
    const s = await createSession(
      api,
      "type=document&options[document][require_id_number]=true&options[document][allowed_types][0]=passport",
    );
    expect(s.status).toBe("requires_input");
    expect(s.client_secret).toMatch(new RegExp(`^${s.id}_secret_test_[A-Za-z0-9]{24}$`));
    expect(s.url).toMatch(new RegExp(`^${STUB_ORIGIN}/verify/${s.id}\\?cs=`));
    stub.setOutcome(s.id, "verified");
    const after = (await api.get(`${SESSIONS}/${s.id}?expand[]=verified_outputs&expand[]=verified_outputs.dob`)).body;
    expect(after).toMatchObject({ status: "verified", last_error: null, client_secret: null, url: null });
    expect(after.verified_outputs).toMatchObject({
      first_name: "Jenny",
      last_name: "Rosen",
      dob: { year: 1990 },
      id_number_type: "us_ssn",
    });
    expect(after.verified_outputs).not.toHaveProperty("id_number"); // sensitive: only when expanded by name
    const report = (await api.get(`${REPORTS}/${after.last_verification_report}`)).body;
    expect(report).toMatchObject({
      verification_session: s.id,
      type: "document",
      document: { status: "verified", type: "passport" },
    });
    expect(report.id_number.status).toBe("verified");
    expect(stub.events.map((e) => e.type)).toEqual([
      "identity.verification_session.created",
      "identity.verification_session.processing",
      "identity.verification_session.verified",
    ]);
  });

  it("fails back to requires_input with last_error, a fresh url, and can then verify", async () => {
    const s = await createSession(api, "type=document&options[document][require_matching_selfie]=true");
    stub.setOutcome(s.id, "requires_input", "selfie_face_mismatch");
    const failed = (await api.get(`${SESSIONS}/${s.id}`)).body;
    expect(failed.status).toBe("requires_input");
    expect(failed.last_error).toEqual({ code: "selfie_face_mismatch", reason: expect.any(String) });
    expect(failed.url).not.toBe(s.url);
    expect(failed.client_secret).not.toBe(s.client_secret);
    const report = (await api.get(`${REPORTS}/${failed.last_verification_report}`)).body;
    expect(report.selfie).toMatchObject({ status: "unverified", error: { code: "selfie_face_mismatch" } });
    expect(report.document.status).toBe("verified");
    // User-session failures reach no check: no report.
    const declined = await createSession(api);
    stub.setOutcome(declined.id, "requires_input", "consent_declined");
    expect((await api.get(`${SESSIONS}/${declined.id}`)).body.last_verification_report).toBeNull();
    stub.setOutcome(s.id, "verified");
    expect((await api.get(`${SESSIONS}/${s.id}`)).body).toMatchObject({ status: "verified", last_error: null });
  });

  it("cancels only from requires_input", async () => {
    const s = await createSession(api);
    const canceled = await api.post(`${SESSIONS}/${s.id}/cancel`);
    expect(canceled.body).toMatchObject({ status: "canceled", client_secret: null, url: null });
    const again = await api.post(`${SESSIONS}/${s.id}/cancel`);
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ type: "invalid_request_error", code: "status_transition_invalid" });
    const v = await createSession(api);
    stub.setOutcome(v.id, "verified");
    const refused = await api.post(`${SESSIONS}/${v.id}/cancel`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("verified");
    expect((await api.get(`${SESSIONS}/${v.id}`)).body.status).toBe("verified");
  });

  it("redacts only from requires_input (which cancels) or verified, then scrubs personal data", async () => {
    const v = await createSession(api, "type=document&metadata[order]=o_1&provided_details[email]=jenny@example.test");
    stub.setOutcome(v.id, "verified");
    const started = await api.post(`${SESSIONS}/${v.id}/redact`);
    expect(started.body).toMatchObject({ status: "verified", redaction: { status: "processing" } });
    await stub.flushWebhooks();
    const done = (await api.get(`${SESSIONS}/${v.id}?expand[]=verified_outputs&expand[]=provided_details`)).body;
    expect(done.redaction).toEqual({ status: "redacted" });
    expect(done.metadata).toEqual({});
    expect(done.provided_details).toEqual({ email: "[redacted]" });
    expect(done.verified_outputs).toMatchObject({ first_name: "[redacted]", last_name: "[redacted]", sex: "[redacted]" });
    const report = (await api.get(`${REPORTS}/${done.last_verification_report}?expand[]=document.number&expand[]=document.dob`))
      .body;
    expect(report.document).toMatchObject({ first_name: "[redacted]", number: "[redacted]", dob: null, files: [] });
    expect(JSON.stringify(done)).not.toContain("Jenny");
    expect(stub.events.at(-1)?.type).toBe("identity.verification_session.redacted");

    const open = await createSession(api);
    const r = await api.post(`${SESSIONS}/${open.id}/redact`);
    expect(r.body).toMatchObject({ status: "canceled", redaction: { status: "processing" } });

    for (const id of [v.id, open.id]) {
      const twice = await api.post(`${SESSIONS}/${id}/redact`);
      expect(twice.status).toBe(400);
      expect(twice.body.error.code).toBe("status_transition_invalid");
    }
    const canceled = await createSession(api);
    await api.post(`${SESSIONS}/${canceled.id}/cancel`);
    const fromCanceled = await api.post(`${SESSIONS}/${canceled.id}/redact`);
    expect(fromCanceled.status).toBe(400);
    expect(fromCanceled.body.error.message).toContain("canceled");
  });

  it("updates checks only in requires_input, metadata any time, nothing once redacted", async () => {
    const s = await createSession(api, "type=document&options[document][allowed_types][0]=passport&metadata[a]=1&metadata[b]=2");
    const u = await api.post(`${SESSIONS}/${s.id}`, "options[document][require_live_capture]=true&metadata[a]=&metadata[c]=3");
    expect(u.body.options.document).toEqual({ allowed_types: ["passport"], require_live_capture: true });
    expect(u.body.metadata).toEqual({ b: "2", c: "3" });
    const toId = await api.post(`${SESSIONS}/${s.id}`, "type=id_number");
    expect(toId.body).toMatchObject({ type: "id_number", options: { id_number: {} } });
    const unset = await api.post(`${SESSIONS}/${s.id}`, "type=document&options[document]=");
    expect(unset.body.options).toEqual({ document: {} });

    stub.setOutcome(s.id, "verified");
    const late = await api.post(`${SESSIONS}/${s.id}`, "options[document][require_live_capture]=false");
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe("status_transition_invalid");
    expect((await api.post(`${SESSIONS}/${s.id}`, "metadata[note]=ok")).body.metadata).toEqual({ b: "2", c: "3", note: "ok" });
    await api.post(`${SESSIONS}/${s.id}/redact`);
    await stub.flushWebhooks();
    expect((await api.post(`${SESSIONS}/${s.id}`, "metadata[note]=again")).status).toBe(400);
  });
});

describe("the hosted page", () => {
  async function open(form = "type=document&return_url=https://app.example.test/done?x=1") {
    const s = await createSession(api, form);
    const page = await stub.fetch(new Request(s.url));
    return { s, page, html: await page.text(), cs: new URL(s.url).searchParams.get("cs") ?? "" };
  }
  const submit = (id: string, body: string) =>
    stub.fetch(
      new Request(`${STUB_ORIGIN}/verify/${id}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body,
      }),
    );

  it("serves a self-contained page with stable ids per outcome", async () => {
    const { page, html } = await open();
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("request-id")).toMatch(/^req_/);
    for (const [id, outcome] of [
      ["outcome-verified", "verified"],
      ["outcome-requires-input", "requires_input"],
      ["outcome-canceled", "canceled"],
    ]) {
      expect(html).toMatch(new RegExp(`id="${id}" data-outcome="${outcome}"`));
    }
    expect(html).toContain('<option value="document_expired">');
    expect(html).not.toMatch(/(src|href)="https?:/); // no external resources
  });

  it("submits, redirects to return_url with 303, and the link is single-use", async () => {
    const { s, cs } = await open();
    const res = await submit(s.id, `cs=${cs}&outcome=requires_input&error_code=document_expired`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("https://app.example.test/done?x=1");
    const after = (await api.get(`${SESSIONS}/${s.id}`)).body;
    expect(after.last_error.code).toBe("document_expired");
    expect((await submit(s.id, `cs=${cs}&outcome=verified`)).status).toBe(404); // old attempt's link
    expect((await stub.fetch(new Request(s.url))).status).toBe(404);
    const fresh = new URL(after.url).searchParams.get("cs");
    expect((await submit(s.id, `cs=${fresh}&outcome=verified`)).status).toBe(303);
    expect((await api.get(`${SESSIONS}/${s.id}`)).body.status).toBe("verified");
  });

  it("shows a done page without return_url, and refuses bad input", async () => {
    const { s, cs } = await open("type=document");
    expect((await submit(s.id, `cs=wrong&outcome=verified`)).status).toBe(404);
    expect((await submit(s.id, `cs=${cs}&outcome=requires_input&error_code=not_a_code`)).status).toBe(400);
    expect((await submit("vs_unknown", `cs=${cs}&outcome=verified`)).status).toBe(404);
    const done = await submit(s.id, `cs=${cs}&outcome=canceled`);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('data-status="canceled"');
  });
});

describe("idempotency", () => {
  const create = (key: string, form = "type=document") => api.post(SESSIONS, form, { idempotencyKey: key });

  it("replays the first result for the same key and parameters", async () => {
    const first = await create("idem-1");
    const again = await create("idem-1");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("original-request")).toBe(first.headers.get("request-id"));
    expect(again.headers.get("request-id")).not.toBe(first.headers.get("request-id"));
    expect(again.headers.get("idempotency-key")).toBe("idem-1");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    expect(stub.countCreates()).toBe(1);
    // Parameter order is not a change.
    await create("idem-2", "type=document&metadata[a]=1&metadata[b]=2");
    expect((await create("idem-2", "metadata[b]=2&metadata[a]=1&type=document")).headers.get("idempotent-replayed")).toBe("true");
  });

  it("refuses the same key with other parameters or on another endpoint", async () => {
    await create("idem-3");
    const other = await create("idem-3", "type=id_number");
    expect(other.status).toBe(400);
    expect(other.body.error.type).toBe("idempotency_error");
    expect(other.body.error.message).toContain("same parameters");
    const s = await createSession(api);
    const elsewhere = await api.post(`${SESSIONS}/${s.id}/cancel`, "", { idempotencyKey: "idem-3" });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.message).toContain("same endpoint");
    expect(stub.countCreates()).toBe(2);
  });

  it("replays errors from the operation, but not validation failures", async () => {
    const s = await createSession(api);
    stub.setOutcome(s.id, "verified");
    const refused = await api.post(`${SESSIONS}/${s.id}/cancel`, "", { idempotencyKey: "idem-4" });
    expect(refused.status).toBe(400);
    const replay = await api.post(`${SESSIONS}/${s.id}/cancel`, "", { idempotencyKey: "idem-4" });
    expect(replay.status).toBe(400);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const invalid = await create("idem-5", "type=document&bogus=1");
    expect(invalid.status).toBe(400);
    expect((await create("idem-5")).status).toBe(200);
  });

  it("keys are per tenant and expire after 24 hours", async () => {
    await create("idem-6");
    const b = await stubClient(stub, { key: KEY_B }).post(SESSIONS, "type=document", { idempotencyKey: "idem-6" });
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    clock += 24 * 3600 * 1000 + 1;
    expect((await create("idem-6")).headers.get("idempotent-replayed")).toBeNull();
    expect(stub.countCreates()).toBe(3);
  });

  it("answers 409 while the first request with the key is still running", async () => {
    stub.injectFaults([{ kind: "latency", ms: 150, match: { method: "POST" } }]);
    const slow = create("idem-7");
    await new Promise((r) => setTimeout(r, 20));
    const concurrent = await create("idem-7");
    expect(concurrent.status).toBe(409);
    expect(concurrent.body.error).toMatchObject({ type: "idempotency_error", code: "idempotency_key_in_use" });
    expect(concurrent.headers.get("stripe-should-retry")).toBe("true");
    expect((await slow).status).toBe(200);
    expect((await create("idem-7")).headers.get("idempotent-replayed")).toBe("true");
    expect(stub.countCreates()).toBe(1);
  });
});

describe("tenants, authentication and headers", () => {
  it("scopes objects by key and by Stripe-Account", async () => {
    const s = await createSession(api);
    const b = stubClient(stub, { key: KEY_B });
    const acct = stubClient(stub, { key: KEY_A, account: "acct_fakeconnected1" });
    for (const other of [b, acct]) {
      const res = await other.get(`${SESSIONS}/${s.id}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: "resource_missing", param: "id" });
      expect(res.body.error.message).toBe(`No such verification_session: '${s.id}'`);
      expect((await other.get(SESSIONS)).body.data).toEqual([]);
      expect((await other.post(`${SESSIONS}/${s.id}/cancel`)).status).toBe(404);
    }
    const own = await createSession(acct);
    expect((await acct.get(SESSIONS)).body.data.map((x: { id: string }) => x.id)).toEqual([own.id]);
    expect((await api.get(SESSIONS)).body.data.map((x: { id: string }) => x.id)).toEqual([s.id]);
    expect((await stubClient(stub, { key: KEY_A, account: "not-an-account" }).get(SESSIONS)).status).toBe(403);
  });

  it("accepts only test-mode secret and restricted keys, and never echoes a key whole", async () => {
    const none = await stub.fetch(new Request(`${STUB_ORIGIN}${SESSIONS}`));
    expect(none.status).toBe(401);
    expect((await readJson(none)).error.message).toContain("You did not provide an API key");
    for (const key of ["sk_live_fake_stub_1234567890", "pk_test_fake_stub_123456789", "iek_fake_proxy_key_123456", "sk_test_"]) {
      const res = await stubClient(stub, { key }).get(SESSIONS);
      expect(res.status, key).toBe(401);
      expect(res.body.error.message).toMatch(/^Invalid API Key provided: /);
      if (key.length > 12) expect(res.body.error.message).not.toContain(key);
    }
    expect((await stubClient(stub, { key: "rk_test_fake_stub_restricted" }).get(SESSIONS)).status).toBe(200);
    const basic = await stub.fetch(
      new Request(`${STUB_ORIGIN}${SESSIONS}`, { headers: { Authorization: `Basic ${btoa(`${KEY_A}:`)}` } }),
    );
    expect(basic.status).toBe(200);
  });

  it("puts Request-Id on every answer and echoes Stripe-Version", async () => {
    const given = await api.get(SESSIONS, { headers: { "Stripe-Version": "2024-06-20" } });
    expect(given.headers.get("stripe-version")).toBe("2024-06-20");
    const byDefault = await api.get(`${SESSIONS}/vs_missing`);
    expect(byDefault.headers.get("stripe-version")).toBe("2026-07-29.dahlia");
    const ids = new Set<string>();
    for (const res of [given, byDefault, await api.get("/v1/nothing"), await stubClient(stub, { key: "nope" }).get(SESSIONS)]) {
      expect(res.headers.get("request-id")).toMatch(/^req_[A-Za-z0-9]{14}$/);
      ids.add(res.headers.get("request-id") ?? "");
    }
    expect(ids.size).toBe(4);
  });

  it("answers unknown URLs with Stripe's 404", async () => {
    const res = await api.get("/v1/identity/verification_sessions/vs_123/bogus");
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(
      "Unrecognized request URL (GET: /v1/identity/verification_sessions/vs_123/bogus). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
    );
    expect((await api.post(SESSIONS.replace("sessions", "reports"), "")).status).toBe(404); // wrong method
  });

  it("records what arrived, for tests to assert on", async () => {
    await api.post(SESSIONS, "type=document&metadata[k]=v", {
      idempotencyKey: "rec-1",
      headers: { "Stripe-Version": "2026-07-29.dahlia" },
    });
    await stubClient(stub, { key: KEY_B, account: "acct_fakerecorded" }).get(`${SESSIONS}?limit=2`);
    const [post, get] = stub.requests;
    expect(post).toMatchObject({
      method: "POST",
      path: SESSIONS,
      params: { type: "document", metadata: { k: "v" } },
      status: 200,
      fault: null,
      headers: {
        authorization: `Bearer ${KEY_A}`,
        apiKey: KEY_A,
        idempotencyKey: "rec-1",
        stripeVersion: "2026-07-29.dahlia",
        stripeAccount: null,
        contentType: "application/x-www-form-urlencoded",
      },
    });
    expect(get).toMatchObject({
      method: "GET",
      query: "limit=2",
      params: { limit: "2" },
      headers: { apiKey: KEY_B, stripeAccount: "acct_fakerecorded" },
    });
    stub.reset();
    expect(stub.requests).toHaveLength(0);
    expect(stub.sessions()).toHaveLength(0);
  });
});

describe("parameter validation", () => {
  it("names the unknown parameter in bracket notation", async () => {
    const res = await api.post(SESSIONS, "type=document&options[document][require_everything]=true");
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      type: "invalid_request_error",
      code: "parameter_unknown",
      param: "options[document][require_everything]",
      message: "Received unknown parameter: options[document][require_everything]",
    });
    expect((await api.get(`${SESSIONS}?status=verified&colour=blue`)).body.error.param).toBe("colour");
    expect(stub.countCreates()).toBe(0);
  });

  it("reports invalid, missing and exclusive parameters", async () => {
    const cases: [string, string, string][] = [
      ["type=document&options[document][allowed_types][0]=visa", "parameter_invalid", "options[document][allowed_types][0]"],
      [
        "type=document&options[document][require_live_capture]=maybe",
        "parameter_invalid",
        "options[document][require_live_capture]",
      ],
      ["type=document&related_person[account]=acct_1", "parameter_missing", "related_person[person]"],
      ["", "parameter_missing", "type"],
      ["type=document&verification_flow=vf_1", "parameters_exclusive", "type"],
      ["type=selfie", "parameter_invalid", "type"],
      ["type=document&return_url=javascript:alert(1)", "url_invalid", "return_url"],
      [`type=document&metadata[k]=${"x".repeat(501)}`, "parameter_invalid", "metadata[k]"],
    ];
    for (const [form, code, param] of cases) {
      const res = await api.post(SESSIONS, form);
      expect(res.status, form).toBe(400);
      expect(res.body.error, form).toMatchObject({ code, param });
    }
    expect(stub.countCreates()).toBe(0);
  });

  it("refuses unknown expansions and hints at data. on lists", async () => {
    const s = await createSession(api);
    const bad = await api.get(`${SESSIONS}/${s.id}?expand[]=client_secret`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("This property cannot be expanded (client_secret).");
    const hint = await api.get(`${SESSIONS}?expand[]=verified_outputs`);
    expect(hint.body.error.message).toContain("You may want to try expanding 'data.verified_outputs' instead.");
    const ok = await api.get(`${SESSIONS}?expand[]=data.verified_outputs`);
    expect(ok.body.data[0].verified_outputs).toBeNull();
  });

  it("expands the last report in place", async () => {
    const s = await createSession(api);
    stub.setOutcome(s.id, "verified");
    const plain = (await api.get(`${SESSIONS}/${s.id}`)).body;
    expect(plain.last_verification_report).toMatch(/^vr_[A-Za-z0-9]{24}$/);
    const expanded = (await api.get(`${SESSIONS}/${s.id}?expand[]=last_verification_report.document.number`)).body;
    expect(expanded.last_verification_report).toMatchObject({
      id: plain.last_verification_report,
      object: "identity.verification_report",
    });
    expect(expanded.last_verification_report.document.number).toBe("STUB0000000");
    expect(expanded.last_verification_report.document).not.toHaveProperty("dob");
  });

  it("refuses non-form POST bodies, as upstream must always get Stripe's encoding", async () => {
    const res = await stub.fetch(
      new Request(`${STUB_ORIGIN}${SESSIONS}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${KEY_A}`, "Content-Type": "application/json" },
        body: JSON.stringify({ type: "document" }),
      }),
    );
    expect(res.status).toBe(400);
    expect(stub.countCreates()).toBe(0);
  });
});

describe("webhooks", () => {
  const SECRET = "whsec_fake_stub_secret";

  function withReceiver(respond: (request: Request) => Promise<Response>) {
    const received: { signature: string; payload: string }[] = [];
    const s = createStripeStub({
      now: () => clock,
      webhooks: [{ url: "https://proxy.example.test/webhooks/stripe/acme", secret: SECRET }],
      webhookFetch: async (request) => {
        received.push({ signature: request.headers.get("stripe-signature") ?? "", payload: await request.clone().text() });
        return respond(request);
      },
    });
    return { s, received };
  }

  it("sends every event signed as Stripe does, verifiable with an independent HMAC and stripe-node", async () => {
    clock = Date.now();
    const { s, received } = withReceiver(async () => new Response("ok"));
    const client = stubClient(s, { key: KEY_A });
    const created = await client.post(SESSIONS, "type=document", { idempotencyKey: "hook-1" });
    s.setOutcome(created.body.id, "verified");
    expect(received).toHaveLength(0); // fire-and-forget: not sent inside the request
    await s.flushWebhooks();
    expect(received).toHaveLength(3);
    const stripe = new Stripe("sk_test_fake_stub_unused");
    for (const { signature, payload } of received) {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
      expect(m, signature).not.toBeNull();
      const [, t, v1] = m as RegExpExecArray;
      expect(createHmac("sha256", SECRET).update(`${t}.${payload}`).digest("hex")).toBe(v1);
      expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);
      expect(createHmac("sha256", "whsec_other").update(`${t}.${payload}`).digest("hex")).not.toBe(v1);
      const event = stripe.webhooks.constructEvent(payload, signature, SECRET);
      expect(event.data.object).toMatchObject({ id: created.body.id, object: "identity.verification_session" });
    }
    const events = received.map((r) => JSON.parse(r.payload));
    expect(events.map((e) => e.type)).toEqual([
      "identity.verification_session.created",
      "identity.verification_session.processing",
      "identity.verification_session.verified",
    ]);
    expect(events[0]).toMatchObject({
      object: "event",
      livemode: false,
      api_version: "2026-07-29.dahlia",
      pending_webhooks: 1,
      request: { id: created.headers.get("request-id"), idempotency_key: "hook-1" },
    });
    expect(events[0].id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    expect(events[2].data.object.status).toBe("verified");
    expect(events[2].request).toEqual({ id: null, idempotency_key: null });
    expect(s.webhookDeliveries.map((d) => d.status)).toEqual([200, 200, 200]);
  });

  it("sends canceled and redacted events, and records failed deliveries", async () => {
    let calls = 0;
    const { s } = withReceiver(async () => {
      calls += 1;
      if (calls === 1) throw new TypeError("connection refused");
      return new Response("nope", { status: 500 });
    });
    const client = stubClient(s, { key: KEY_A });
    const a = await createSession(client);
    await client.post(`${SESSIONS}/${a.id}/redact`);
    await s.flushWebhooks();
    expect(s.events.map((e) => e.type)).toEqual([
      "identity.verification_session.created",
      "identity.verification_session.canceled",
      "identity.verification_session.redacted",
    ]);
    expect(s.webhookDeliveries[0]).toMatchObject({ status: null, error: "TypeError: connection refused" });
    expect(s.webhookDeliveries.slice(1).map((d) => d.status)).toEqual([500, 500]);
  });
});

describe("faults", () => {
  const createReq = (key?: string) =>
    new Request(`${STUB_ORIGIN}${SESSIONS}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${KEY_A}`,
        "Content-Type": "application/x-www-form-urlencoded",
        ...(key ? { "Idempotency-Key": key } : {}),
      },
      body: "type=document",
    });

  it("status: Stripe's error without running the operation", async () => {
    stub.injectFaults([
      { kind: "status", status: 503, should_retry: false },
      { kind: "status", status: 429 },
      { kind: "status", status: 409 },
    ]);
    const r503 = await stub.fetch(createReq());
    expect(r503.status).toBe(503);
    expect(r503.headers.get("stripe-should-retry")).toBe("false");
    expect(r503.headers.get("request-id")).toMatch(/^req_/);
    expect((await readJson(r503)).error.type).toBe("api_error");
    const r429 = await stub.fetch(createReq());
    expect((await readJson(r429)).error.code).toBe("rate_limit");
    const r409 = await stub.fetch(createReq("fault-409"));
    expect(r409.headers.get("stripe-should-retry")).toBe("true");
    expect((await readJson(r409)).error.code).toBe("idempotency_key_in_use");
    expect(stub.countCreates()).toBe(0);
    expect((await stub.fetch(createReq("fault-409"))).status).toBe(200); // the key was not used up
    expect(stub.requests.map((r) => r.fault)).toEqual(["status", "status", "status", null]);
  });

  it("reset_before: a network error and nothing stored", async () => {
    stub.injectFaults([{ kind: "reset_before" }]);
    await expect(stub.fetch(createReq("rb-1"))).rejects.toThrow(TypeError);
    expect(stub.countCreates()).toBe(0);
    expect(stub.requests[0]).toMatchObject({ fault: "reset_before", status: null });
    expect((await stub.fetch(createReq("rb-1"))).headers.get("idempotent-replayed")).toBeNull();
    expect(stub.countCreates()).toBe(1);
  });

  it("reset_after: the session is stored, a retry with the same key replays it", async () => {
    stub.injectFaults([{ kind: "reset_after" }]);
    await expect(stub.fetch(createReq("ra-1"))).rejects.toThrow(TypeError);
    expect(stub.countCreates()).toBe(1);
    const retry = await stub.fetch(createReq("ra-1"));
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect((await readJson(retry)).id).toBe(stub.sessions()[0]?.id);
    expect(stub.countCreates()).toBe(1);
  });

  it("truncated: status and half a body, then the connection drops", async () => {
    stub.injectFaults([{ kind: "truncated" }]);
    const res = await stub.fetch(createReq());
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(TypeError);
    expect(stub.countCreates()).toBe(1);
  });

  it("non_json: an HTML page from something in front of Stripe", async () => {
    stub.injectFaults([{ kind: "non_json" }, { kind: "non_json", status: 503 }]);
    const res = await stub.fetch(createReq());
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("text/html");
    const text = await res.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toContain("502 Bad Gateway");
    expect((await stub.fetch(createReq())).status).toBe(503);
    expect(stub.countCreates()).toBe(0);
  });

  it("latency and slow_body: the answer is complete, just late", async () => {
    stub.injectFaults([{ kind: "latency", ms: 120 }]);
    let t0 = performance.now();
    expect((await stub.fetch(createReq())).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);

    stub.injectFaults([{ kind: "slow_body", ms: 200 }]);
    t0 = performance.now();
    const res = await stub.fetch(createReq());
    const headersAt = performance.now() - t0;
    const body = await readJson(res);
    expect(body.object).toBe("identity.verification_session");
    expect(performance.now() - t0 - headersAt).toBeGreaterThanOrEqual(150);
    expect(stub.countCreates()).toBe(2);
  });

  it("matches by method and path (exact or prefix*), in order, `times` times", async () => {
    const s = await createSession(api);
    stub.injectFaults([
      { kind: "status", status: 500, match: { method: "GET", path: `${SESSIONS}/*` }, times: 2 },
      { kind: "status", status: 502, match: { path: SESSIONS } },
    ]);
    expect((await api.get(SESSIONS)).status).toBe(502);
    expect((await api.get(`${SESSIONS}/${s.id}`)).status).toBe(500);
    expect((await api.post(`${SESSIONS}/${s.id}`, "metadata[a]=b")).status).toBe(200);
    expect(stub.pendingFaults()).toEqual([expect.objectContaining({ kind: "status", status: 500, remaining: 1 })]);
    expect((await api.get(`${SESSIONS}/${s.id}`)).status).toBe(500);
    expect((await api.get(`${SESSIONS}/${s.id}`)).status).toBe(200);
    expect(stub.pendingFaults()).toEqual([]);
  });

  it("is driven over the control API too, and refuses malformed faults", async () => {
    const control = (method: string, path: string, body?: unknown) =>
      stub.fetch(new Request(`${STUB_ORIGIN}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }));
    const bad = await control("POST", "/_stub/faults", { faults: [{ kind: "explode" }] });
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).error.message).toContain("faults[0]");
    expect((await control("POST", "/_stub/faults", { faults: [{ kind: "status", status: 200 }] })).status).toBe(400);
    const added = await control("POST", "/_stub/faults", { faults: [{ kind: "reset_before", times: 3 }] });
    expect((await readJson(added)).data).toEqual([{ kind: "reset_before", times: 3, remaining: 3 }]);
    expect((await control("DELETE", "/_stub/faults")).status).toBe(200);
    expect(stub.pendingFaults()).toEqual([]);

    const s = await createSession(api);
    const outcome = await control("POST", "/_stub/outcome", {
      session: s.id,
      outcome: "requires_input",
      error_code: "id_number_mismatch",
    });
    expect((await readJson(outcome)).session.last_error.code).toBe("id_number_mismatch");
    const sessions = await readJson(await control("GET", "/_stub/sessions"));
    expect(sessions.data.map((x: { id: string }) => x.id)).toEqual([s.id]);
    const requests = await readJson(await control("GET", "/_stub/requests"));
    expect(requests.data).toHaveLength(1);
    expect((await control("POST", "/_stub/reset")).status).toBe(200);
    expect(stub.sessions()).toEqual([]);
    expect((await control("GET", "/_stub/nothing")).status).toBe(404);
  });
});
