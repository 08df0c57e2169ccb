/**
 * Bad input never becomes a 500: property tests over everything a caller controls (form and JSON
 * bodies, raw bytes, streamed bodies, query strings, headers, paths and ids, browser requests),
 * through the real request path in workerd with the in-process stub as upstream.
 *
 * Every answer must be below 500 (502/504 only where upstream faults are injected), carry a
 * `Request-Id`, and be Stripe's error shape when it is an error; the proxy's own errors use a code of
 * the closed set with its status. Whatever reached the stub must pass the OpenAPI parameter
 * validation. No secret reaches the logs (useLogCapture), and nothing is logged as unhandled.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../../dev/stub/app.ts";
import type { FaultSpec } from "../../dev/stub/faults.ts";
import { ERROR_STATUS, type ErrorCode } from "../../src/errors.ts";
import { MAX_REQUEST_BODY_BYTES } from "../../src/limits.ts";
import { matchOperation } from "../../src/stripe/operations.ts";
import { operationKey, validateParams } from "../../src/stripe/validate-params.ts";
import { ACME_HOST, createHarness, type Harness, PROXY_KEYS, SECRETS, STRIPE_KEYS } from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";
import type { Json } from "../helpers/json.ts";

const logs = useLogCapture({ secrets: SECRETS });

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";
const RUNS = 150;
const TIGHT = { attemptTimeoutMs: 200, deadlineMs: 1_000, maxRetries: 2, backoffBaseMs: 1, backoffCapMs: 5 };
const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** What each property's inputs came to (status and error code), printed at the end as coverage. */
const outcomes = new Map<string, Map<string, number>>();
function tally(status: number, code: unknown, forwarded: boolean): void {
  const name = (expect.getState().currentTestName ?? "?").split(" > ").at(-1) ?? "?";
  const key = `${status}${typeof code === "string" ? ` ${code}` : ""}${forwarded ? " (upstream)" : ""}`;
  const counts = outcomes.get(name) ?? new Map<string, number>();
  counts.set(key, (counts.get(key) ?? 0) + 1);
  outcomes.set(name, counts);
}
afterAll(() => {
  for (const [name, counts] of outcomes) {
    if ([...counts.values()].reduce((a, b) => a + b, 0) < 20) continue;
    const shown = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
    console.info(`[fuzz] ${name.slice(0, 60)} — ${shown.join(", ")}`);
  }
});

/* ------------------------------------------------------------------------------------------------
 * The checks
 * ---------------------------------------------------------------------------------------------- */

/** A request the stub received must be one the proxy could have validated: a known operation, valid params. */
function expectValidUpstream(r: RecordedRequest): void {
  const match = matchOperation(r.method, r.path);
  expect(match.kind, `forwarded an unknown route: ${r.method} ${r.path.slice(0, 80)}`).toBe("operation");
  if (match.kind !== "operation") return;
  expect(r.params, "forwarded a body or query the stub could not decode").not.toBeNull();
  const checked = validateParams(operationKey(r.method, match.op.openapiPath), r.params ?? {});
  expect(checked.ok, `forwarded invalid params: ${checked.ok ? "" : checked.issue.message}`).toBe(true);
  expect(r.headers.apiKey).toMatch(/^sk_test_fake_/);
  expect(Object.values(PROXY_KEYS)).not.toContain(r.headers.apiKey);
}

interface Expect {
  /** Upstream faults were injected: 502/504 are then deliberate answers. */
  faults?: boolean;
}

/** Sends a request (skipping inputs the runtime itself refuses to build) and checks the answer. */
async function probe(h: Harness, build: () => Request, expectation: Expect = {}): Promise<Response | undefined> {
  let request: Request;
  try {
    request = build();
  } catch {
    return undefined; // Not a request a client could send (the runtime refused to build it).
  }
  const before = h.stub.requests.length;
  const logStart = logs.lines.length;
  const url = new URL(request.url);
  const res = await h.call(`${url.pathname}${url.search}`, {
    host: url.host,
    method: request.method,
    headers: request.headers,
    body: request.body,
  });
  const text = request.method === "HEAD" ? "" : await res.text();
  const status = res.status;
  const requestId = res.headers.get("Request-Id") ?? "";
  // Under faults, the proxy's own 5xx are only the deliberate 502/504; Stripe's own 5xx (its Request-Id)
  // reach the caller once the retries are spent (issue 15 point 7).
  const stripes = !requestId.startsWith("req_edge_");
  if (expectation.faults)
    expect(status < 500 || status === 502 || status === 504 || stripes, `status ${status}: ${text.slice(0, 300)}`).toBe(true);
  else expect(status, text.slice(0, 300)).toBeLessThan(500);
  expect(requestId).toMatch(/^req_/);
  const forwarded = h.stub.requests.slice(before);
  for (const r of forwarded) expectValidUpstream(r);
  if (request.method === "HEAD" || status < 400) tally(status, undefined, forwarded.length > 0);
  if (status >= 400 && request.method !== "HEAD") {
    const body = JSON.parse(text) as Json;
    tally(status, body.error?.code, forwarded.length > 0);
    expect(typeof body.error?.type).toBe("string");
    expect(typeof body.error?.message).toBe("string");
    if (requestId.startsWith("req_edge_")) {
      // The proxy's own answer: a code of the closed set, with its status, never cached; only the
      // unknown-URL 404 has no code, as Stripe's has none.
      if (body.error.code === undefined) {
        expect(body.error.message).toMatch(/^Unrecognized request URL/);
        expect(status).toBe(404);
      } else {
        expect(CODES).toContain(body.error.code);
        expect(ERROR_STATUS[body.error.code as ErrorCode]).toBe(status);
      }
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    } else {
      // Stripe's answer passed through. It may refuse what the OpenAPI schema allows (metadata limits,
      // status rules), but never a parameter the proxy let through as known.
      expect(body.error.code).not.toBe("parameter_unknown");
    }
  } else if (status === 200 && request.method !== "HEAD") {
    const body = JSON.parse(text) as Json;
    if (body.object === "identity.verification_session") logs.secret(body.client_secret, body.url);
  }
  const unhandled = logs.lines.slice(logStart).filter((line) => line.includes('"unhandled_exception"'));
  expect(unhandled, (unhandled[0] ?? "").slice(0, 300)).toHaveLength(0);
  return res;
}

function serverRequest(
  method: string,
  path: string,
  init: { body?: BodyInit | null; headers?: Record<string, string> } = {},
): Request {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("Authorization", `Bearer ${PROXY_KEYS.acme}`);
  return new Request(`https://proxy.example.test${path}`, { method, headers, body: init.body ?? null });
}

/* ------------------------------------------------------------------------------------------------
 * The generators
 * ---------------------------------------------------------------------------------------------- */

const KNOWN_KEYS = [
  "type",
  "metadata[order]",
  "metadata[]",
  "options[document][allowed_types][0]",
  "options[document][allowed_types][]",
  "options[document][allowed_types][1]",
  "options[document][require_live_capture]",
  "options[document][require_matching_selfie]",
  "options[document]",
  "options[email][require_verification]",
  "options",
  "return_url",
  "client_reference_id",
  "provided_details[email]",
  "provided_details[phone]",
  "related_customer",
  "related_person[account]",
  "verification_flow",
  "expand[0]",
  "expand[]",
  "limit",
  "created[gt]",
  "created",
  "starting_after",
  "ending_before",
  "status",
  "verification_session",
];

const HOSTILE_KEYS = [
  "__proto__",
  "__proto__[polluted]",
  "constructor",
  "constructor[prototype][polluted]",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "metadata[__proto__]",
  "metadata[constructor]",
  "metadata[toString]",
  "metadata[__proto__][x]",
  "options[document][__proto__]",
  "a[b][c][d][e][f][g][h][i]",
  "options[document][allowed_types][0][a][b][c][d][e]",
  "[]",
  "[",
  "]",
  "a]",
  "a[[b]]",
  "a[b",
  "",
  "%",
  "%zz",
  "%E0%A4",
  "%C0%AF",
  "%ED%A0%80",
  "%FF",
  "%00",
  "%5B%5D",
  "type%5B0%5D",
  "options%5Bdocument%5D%5Ballowed_types%5D%5B0%5D",
  "metadata%5Bx%5D",
  "expand[999]",
  "expand[100]",
  "options[document][allowed_types][1000000]",
  "options[document][allowed_types][-1]",
  "type.x",
  "metadata.order",
];

const VALUES = [
  "document",
  "id_number",
  "verification_flow",
  "passport",
  "id_card",
  "driving_license",
  "true",
  "false",
  "https://app.acme.test/identity/done",
  "https://app.acme.test/identity/done/../x",
  "https://app.acme.test%2Fidentity/done",
  "javascript:alert(1)",
  "http://app.acme.test/identity/done",
  "https://user@app.acme.test/identity/done",
  "%",
  "%zz",
  "%ED%A0%80",
  "%C0%80",
  "%00",
  "+",
  "a+b",
  "",
  "vs_123",
  "vf_a",
  "-1",
  "1e3",
  "99999999999999999999",
  "0",
  "100",
  "\u0000",
  "\u202e",
  "x".repeat(6_000),
];

const binaryString = (maxLength: number) => fc.string({ unit: "binary", maxLength });

const formKey = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: binaryString(16) },
);
const formValue = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: binaryString(24) },
  { weight: 1, arbitrary: binaryString(8).map((s) => encodeURIComponentLoose(s)) },
);

/** encodeURIComponent without throwing on lone surrogates (they become U+FFFD first). */
function encodeURIComponentLoose(s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "\ufffd"));
}

/** Pairs a real client sends: a body built from them gets past parsing to the policy and upstream. */
const CREATE_PAIRS = [
  "type=document",
  "metadata[order]=o-1",
  "options[document][allowed_types][0]=passport",
  "options[document][allowed_types][1]=id_card",
  "options[document][require_live_capture]=true",
  "options[document][require_matching_selfie]=true",
  "return_url=https%3A%2F%2Fapp.acme.test%2Fidentity%2Fdone",
  "client_reference_id=user_1",
  "provided_details[email]=a%40example.test",
  "expand[0]=verified_outputs",
];
const LIST_PAIRS = [
  "limit=3",
  "created[gt]=1",
  "created[lte]=99999999999",
  "status=requires_input",
  "type=document",
  "expand[0]=data.last_error",
  "client_reference_id=user_1",
];

/** A form body or query string: pairs (duplicates included), sometimes with a huge array or raw junk. */
const formTextOf = (valid: string[]) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.subarray(valid, { minLength: 1, maxLength: 5 }),
          fc.option(fc.tuple(formKey, formValue), { freq: 2, nil: undefined }),
        )
        .map(([pairs, extra]) => [...new Set([valid[0], ...pairs]), ...(extra ? [`${extra[0]}=${extra[1]}`] : [])].join("&")),
    },
    {
      weight: 6,
      arbitrary: fc
        .array(fc.tuple(formKey, formValue), { maxLength: 12 })
        .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("&")),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(formKey, formValue), { maxLength: 4 })
        .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponentLoose(v)}`).join("&")),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            "options[document][allowed_types][]=passport",
            "expand[]=x",
            "metadata[k]=v",
            "a=1",
            "expand[0]=x&expand[200]=y",
          ),
          fc.integer({ min: 90, max: 700 }),
        )
        .map(([pair, n]) => `type=document&${Array(n).fill(pair).join("&")}`),
    },
    { weight: 1, arbitrary: binaryString(64) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "type=document&type=id_number",
        "type[]=document",
        "type[a]=document",
        "&&&&",
        "====",
        "type",
        "type=document&",
        "?type=document",
      ),
    },
  );
const formText = formTextOf(CREATE_PAIRS);
const queryText = formTextOf(LIST_PAIRS);

const FORM_TYPES = [
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=utf-8",
  'application/x-www-form-urlencoded;charset="UTF-8"',
  "APPLICATION/X-WWW-FORM-URLENCODED",
];
const OTHER_TYPES = [
  "application/x-www-form-urlencoded; charset=latin1",
  "application/x-www-form-urlencoded, application/json",
  "application/json; charset=utf-16",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/xml",
  ";;;",
  " ",
  "application/x-www-form-urlencoded\t; charset=utf-8",
  "application/jsonx",
];

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FORM_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_TYPES, "application/json", undefined) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 30 }) },
);

const SESSION_ID = fc.constantFrom("vs_fuzz0001", "vs_1NotThere", "vs_Z");
const postPath = fc.oneof(
  { weight: 4, arbitrary: fc.constant(SESSIONS) },
  { weight: 1, arbitrary: SESSION_ID.map((id) => `${SESSIONS}/${id}`) },
  { weight: 1, arbitrary: SESSION_ID.map((id) => `${SESSIONS}/${id}/cancel`) },
  { weight: 1, arbitrary: SESSION_ID.map((id) => `${SESSIONS}/${id}/redact`) },
  { weight: 1, arbitrary: fc.constant(`/identity${SESSIONS}`) },
);

const JSON_KEYS = [
  "type",
  "metadata",
  "options",
  "document",
  "allowed_types",
  "require_live_capture",
  "return_url",
  "expand",
  "provided_details",
  "email",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "a[b]",
  "]",
  "",
  "[0]",
  "\ud800",
];

const jsonLeaf = fc.oneof(
  fc.constantFrom<unknown>(
    "document",
    "id_number",
    "passport",
    "id_card",
    "true",
    true,
    false,
    null,
    0,
    -1,
    1.5,
    1e308,
    "",
    "\ud800x",
    "https://app.acme.test/identity/done",
  ),
  binaryString(20),
  fc.double(),
  fc.integer(),
);
const jsonTree: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    jsonLeaf,
    fc.array(tie("node"), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...JSON_KEYS), binaryString(8)), tie("node"), { maxKeys: 6 }),
  ),
})).node;

const jsonText = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...JSON_KEYS), jsonTree, { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: jsonTree.map((v) => JSON.stringify(v) ?? "undefined") },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('{"a":', "[", '{"metadata":{"k":'), fc.constantFrom(7, 100, 5_000, 12_000))
      .map(([open, n]) => {
        const close = open === "[" ? "]" : open === '{"a":' ? "}" : "}}";
        return `${open.repeat(n)}1${close.repeat(n)}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "{",
      '{"a":',
      '\ufeff{"type":"document"}',
      '{"type":"document"}garbage',
      "null",
      "[]",
      '"document"',
      "1",
      '{"type":"document","type":"id_number"}',
      '{"type":"\\u0000"}',
      '{"__proto__":{"type":"document"},"type":"document"}',
      '{"constructor":{"prototype":{"polluted":"yes"}},"type":"document"}',
      '{"type":"document","metadata":{"a][b":"x"}}',
      '{"type":"document","metadata":{"":"x"}}',
      '{"type":"document","metadata":{"k":"\\ud800"}}',
      `{"type":"document","expand":[${Array(150).fill('"x"').join(",")}]}`,
      `{"type":"document","metadata":{${Array.from({ length: 600 }, (_, i) => `"k${i}":"v"`).join(",")}}}`,
      '{"type":1e400}',
      '{"type":-0}',
    ),
  },
);

/* ------------------------------------------------------------------------------------------------
 * The properties
 * ---------------------------------------------------------------------------------------------- */

describe("bad input never yields a 500", () => {
  it("form bodies (bracket notation, prototype keys, bad percent-encoding, duplicates, huge arrays)", async () => {
    const h = await createHarness();
    await fc.assert(
      fc.asyncProperty(postPath, formText, contentType, async (path, body, type) => {
        await probe(h, () => serverRequest("POST", path, { body, headers: type === undefined ? {} : { "Content-Type": type } }));
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("JSON bodies (deep nesting, huge arrays, prototype keys, bracket keys, lone surrogates, junk)", async () => {
    const h = await createHarness();
    await fc.assert(
      fc.asyncProperty(
        postPath,
        jsonText,
        fc.constantFrom("application/json", "application/json; charset=utf-8"),
        async (path, body, type) => {
          await probe(h, () => serverRequest("POST", path, { body, headers: { "Content-Type": type } }));
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("raw bytes (non-UTF-8), streamed in chunks without Content-Length or with a lying one", async () => {
    const h = await createHarness();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3_000 }),
        fc.constantFrom("application/x-www-form-urlencoded", "application/json", undefined),
        fc.constantFrom("buffer", "stream", "stream-lying-length", "stream-huge-length", "stream-junk-length"),
        fc.integer({ min: 1, max: 512 }),
        async (bytes, type, mode, chunk) => {
          const headers: Record<string, string> = type === undefined ? {} : { "Content-Type": type };
          const stream = () => chunked(bytes, chunk);
          if (mode === "stream-lying-length") headers["Content-Length"] = String(Math.floor(bytes.length / 2));
          if (mode === "stream-huge-length") headers["Content-Length"] = String(MAX_REQUEST_BODY_BYTES * 4);
          if (mode === "stream-junk-length") headers["Content-Length"] = "12abc";
          await probe(h, () => serverRequest("POST", SESSIONS, { body: mode === "buffer" ? bytes : stream(), headers }));
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("query strings on the GET operations", async () => {
    const h = await createHarness();
    const getPath = fc.constantFrom(
      SESSIONS,
      REPORTS,
      `${SESSIONS}/vs_fuzz0001`,
      `${REPORTS}/vr_fuzz0001`,
      `/identity${SESSIONS}`,
    );
    await fc.assert(
      fc.asyncProperty(getPath, queryText, fc.constantFrom("?", "?&", "??", "?#"), async (path, query, sep) => {
        await probe(h, () => serverRequest("GET", `${path}${sep}${query}`));
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("a query string on a POST is refused, never forwarded", async () => {
    const h = await createHarness();
    await fc.assert(
      fc.asyncProperty(
        formText.filter((q) => q.length > 0),
        async (query) => {
          const res = await probe(h, () =>
            serverRequest("POST", `${SESSIONS}?${query}`, {
              body: "type=document",
              headers: { "Content-Type": FORM_TYPES[0] as string },
            }),
          );
          if (res && new URL(`https://x${SESSIONS}?${query}`).search.length > 1) expect(res.status).toBe(400);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("headers with odd values (Authorization, Content-Type, Idempotency-Key, Stripe-*, Origin, Cookie)", async () => {
    const h = await createHarness();
    // Printable ASCII and tabs (workerd refuses CR, LF and NUL in a header; it sends other non-ASCII as UTF-8).
    const latin1 = fc.oneof(
      {
        weight: 9,
        arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
      },
      { weight: 1, arbitrary: fc.constantFrom("\u00ff\u00fe", "caf\u00e9", "\t x \t", "\u00a0") },
    );
    const headerValue = fc.oneof(latin1, fc.constantFrom("", " ", "\t", "x".repeat(9_000), "null", "undefined", "true"));
    const authorization = fc.oneof(
      { weight: 4, arbitrary: fc.constant(`Bearer ${PROXY_KEYS.acme}`) },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          `Bearer ${PROXY_KEYS.acmeReadOnly}`,
          `Bearer ${PROXY_KEYS.globex}`,
          `bearer ${PROXY_KEYS.acme}`,
          `Bearer  ${PROXY_KEYS.acme}`,
          `Bearer ${PROXY_KEYS.acme} extra`,
          `Basic ${btoa(`${PROXY_KEYS.acme}:`)}`,
          `Basic ${btoa(`${STRIPE_KEYS.acme}:`)}`,
          "Basic !!!notbase64",
          "Basic ",
          `Bearer ${STRIPE_KEYS.acme}`,
          "Bearer rk_test_x",
          "Bearer iek_",
          `Bearer iek_${"z".repeat(5_000)}`,
          "Bearer a.b.c",
          "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
          "Bearer",
          "Digest x",
          "",
        ),
      },
      { weight: 1, arbitrary: latin1 },
    );
    /** Present one time in `1 + absent`: a header that is refused outright must not hide the others. */
    const sometimes = <T>(arb: fc.Arbitrary<T>, absent = 2) =>
      fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
    const headers = fc.record({
      authorization,
      "content-type": sometimes(
        fc.oneof(
          contentType.map((t) => t ?? ""),
          latin1,
        ),
        1,
      ),
      "idempotency-key": sometimes(fc.oneof(fc.constantFrom("k1", "x".repeat(255), "x".repeat(256), "a b", "ü"), latin1)),
      "stripe-version": sometimes(
        fc.oneof(fc.constantFrom("2026-07-29.dahlia", "2020-08-27", "latest", "2026-07-29.dahlia; x"), latin1),
      ),
      "stripe-account": sometimes(fc.oneof(fc.constantFrom("acct_1", "acct_1AcmeTest"), latin1), 8),
      "cache-control": sometimes(fc.constantFrom("no-cache", "max-age=0", "no-store, no-cache", "\u00ff")),
      origin: sometimes(fc.oneof(fc.constantFrom("https://app.acme.test", "null", "https://app.acme.test.evil.test"), latin1)),
      "sec-fetch-site": sometimes(fc.oneof(fc.constantFrom("same-origin", "cross-site", "none", "same-site"), latin1)),
      cookie: sometimes(headerValue),
      "x-forwarded-for": sometimes(headerValue),
      "cf-connecting-ip": sometimes(headerValue),
      "x-odd": sometimes(headerValue),
    });
    const op = fc.constantFrom(
      { method: "POST", path: SESSIONS, body: "type=document" },
      { method: "GET", path: SESSIONS, body: null },
      { method: "GET", path: `${SESSIONS}/vs_fuzz0001`, body: null },
      { method: "POST", path: `${SESSIONS}/vs_fuzz0001/cancel`, body: "" },
    );
    await fc.assert(
      fc.asyncProperty(op, headers, async ({ method, path, body }, hdrs) => {
        await probe(h, () => {
          const request = new Request(`https://proxy.example.test${path}`, { method, body });
          for (const [name, value] of Object.entries(hdrs)) if (value !== undefined) request.headers.set(name, value);
          return request;
        });
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("paths and ids (encoded slashes, dot segments, unicode, very long paths, every method)", async () => {
    const h = await createHarness();
    const id = fc.oneof(
      fc.constantFrom(
        "vs_123",
        "vs_",
        "vr_1",
        "vs_a%2F..%2Fcancel",
        "vs_a%2f..%2fcancel",
        "vs_%5C..",
        "vs_%2e%2e",
        "%2F",
        "%252F",
        "vs_%00",
        "vs_ü",
        "vs_%C3%BC",
        "..",
        ".",
        "vs_a/b",
        "vs_a;b",
        "vs_a?b=1",
        "vs_a#x",
        `vs_${"a".repeat(128)}`,
        `vs_${"a".repeat(129)}`,
        `vs_${"a".repeat(20_000)}`,
        "vs_%",
        "vs_%zz",
        "",
      ),
      binaryString(12).map(encodeURIComponentLoose),
      binaryString(12).map((s) => s.replace(/[?#]/g, "")),
    );
    const path = fc
      .tuple(
        fc.constantFrom("", "/identity", "/identity/identity", "/IDENTITY", "//", "/v1"),
        fc.constantFrom(
          SESSIONS,
          REPORTS,
          "/v1/identity",
          "/v1/identity/",
          "/v1//identity/verification_sessions",
          "/V1/identity/verification_sessions",
        ),
        id,
        fc.constantFrom("", "/cancel", "/redact", "/cancel/", "/x", "/..", "/%2e%2e", "/cancel/redact", "//cancel"),
      )
      .map(([prefix, base, i, suffix]) => `${prefix}${base}/${i}${suffix}`);
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS");
    await fc.assert(
      fc.asyncProperty(path, method, fc.boolean(), async (p, m, asBrowser) => {
        await probe(h, () => {
          const hasBody = m === "POST" || m === "PUT" || m === "PATCH";
          const headers: Record<string, string> = asBrowser
            ? { "Sec-Fetch-Site": "same-origin", Origin: "https://app.acme.test" }
            : { Authorization: `Bearer ${PROXY_KEYS.acme}` };
          if (hasBody) headers["Content-Type"] = "application/x-www-form-urlencoded";
          return new Request(`https://${asBrowser ? ACME_HOST : "proxy.example.test"}${p}`, {
            method: m,
            headers,
            body: hasBody ? "type=document" : null,
          });
        });
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("browser requests (hosts, origins, fetch-site, junk tokens and cookies)", async () => {
    const h = await createHarness();
    const host = fc.constantFrom(
      ACME_HOST,
      "APP.ACME.TEST",
      `${ACME_HOST}:443`,
      `${ACME_HOST}:8443`,
      "id.globex.test",
      "broken.test",
      "unknown.test",
      "app.acme.test.",
    );
    const token = fc.oneof(
      fc.constantFrom(
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
        "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "..",
        "x".repeat(9_000),
        "",
      ),
      fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((s) => s.replace(/\s/g, "")),
    );
    await fc.assert(
      fc.asyncProperty(
        host,
        fc.constantFrom(
          "/identity/v1/identity/verification_sessions",
          "/identity/v1/identity/verification_sessions/vs_fuzz0001",
          "/v1/identity/verification_sessions",
        ),
        fc.constantFrom("GET", "POST", "OPTIONS"),
        fc.option(token, { nil: undefined }),
        fc.option(
          fc.constantFrom(
            "https://app.acme.test",
            "https://www.acme.test",
            "null",
            "https://evil.test",
            "https://app.acme.test:443",
          ),
          { nil: undefined },
        ),
        fc.option(fc.constantFrom("same-origin", "cross-site", "none"), { nil: undefined }),
        fc.option(fc.constantFrom("session=abc", "a=b; c", "=;=;", "x".repeat(5_000)), { nil: undefined }),
        async (hst, path, method, tok, origin, site, cookie) => {
          await probe(h, () => {
            const headers = new Headers();
            if (tok !== undefined) headers.set("Authorization", `Bearer ${tok}`);
            if (origin !== undefined) headers.set("Origin", origin);
            if (site !== undefined) headers.set("Sec-Fetch-Site", site);
            if (cookie !== undefined) headers.set("Cookie", cookie);
            if (method === "OPTIONS") {
              headers.set("Access-Control-Request-Method", "POST");
              headers.set("Access-Control-Request-Headers", "authorization, content-type");
            }
            if (method === "POST") headers.set("Content-Type", "application/x-www-form-urlencoded");
            return new Request(`https://${hst}${path}`, { method, headers, body: method === "POST" ? "type=document" : null });
          });
        },
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("bad input while the upstream is failing: only deliberate 502/504 among the 5xx", async () => {
    const faultArb: fc.Arbitrary<FaultSpec> = fc.oneof(
      fc.record({
        kind: fc.constant("status" as const),
        status: fc.constantFrom(500, 502, 503, 409, 429),
        times: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        kind: fc.constantFrom("reset_before" as const, "reset_after" as const, "truncated" as const),
        times: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant("non_json" as const), times: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("slow_body" as const), ms: fc.constant(250) }),
    );
    const h = await createHarness({ timings: TIGHT });
    const request = fc.oneof(
      fc.tuple(postPath, formText).map(
        ([path, body]) =>
          () =>
            serverRequest("POST", path, { body, headers: { "Content-Type": FORM_TYPES[0] as string } }),
      ),
      fc.tuple(postPath, jsonText).map(
        ([path, body]) =>
          () =>
            serverRequest("POST", path, { body, headers: { "Content-Type": "application/json" } }),
      ),
      queryText.map((q) => () => serverRequest("GET", `${SESSIONS}?${q}`)),
      fc.constant(() =>
        serverRequest("POST", SESSIONS, { body: "type=document", headers: { "Content-Type": FORM_TYPES[0] as string } }),
      ),
      fc.constant(() => serverRequest("GET", `${SESSIONS}?limit=3`)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(faultArb, { maxLength: 3 }), request, async (faults, build) => {
        h.stub.clearFaults();
        h.stub.injectFaults(faults);
        await probe(h, build, { faults: true });
      }),
      { numRuns: 100 },
    );
    h.stub.clearFaults();
  }, 60_000);
});

/* ------------------------------------------------------------------------------------------------
 * The body limit counts streamed bytes
 * ---------------------------------------------------------------------------------------------- */

/** `bytes` as a stream of `size`-byte chunks, counting how many chunks were pulled. */
function chunked(bytes: Uint8Array, size: number, counter?: { pulled: number }): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      if (counter) counter.pulled++;
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

const formOfSize = (n: number) => new TextEncoder().encode(`type=document&metadata[pad]=${"x".repeat(Math.max(0, n - 28))}`);

describe("the body limit counts streamed bytes, not Content-Length", () => {
  it.each<[string, number, Record<string, string>]>([
    ["1 MB with an honest Content-Length", 1024 * 1024, { "Content-Length": String(1024 * 1024) }],
    ["1 MB chunked, without Content-Length", 1024 * 1024, {}],
    ["1 MB chunked, with a lying Content-Length of 10", 1024 * 1024, { "Content-Length": "10" }],
    ["1 MB chunked, with a junk Content-Length", 1024 * 1024, { "Content-Length": "ten" }],
    ["one byte over the limit, chunked", MAX_REQUEST_BODY_BYTES + 1, {}],
  ])("%s → 413 body_too_large, nothing forwarded, reading stops early", async (_name, size, extra) => {
    const h = await createHarness();
    const counter = { pulled: 0 };
    const chunk = 16 * 1024;
    const res = await probe(h, () =>
      serverRequest("POST", SESSIONS, {
        body: chunked(formOfSize(size), chunk, counter),
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...extra },
      }),
    );
    expect(res?.status).toBe(413);
    expect(h.stub.requests).toHaveLength(0);
    // It stopped reading once past the limit (honest lengths are refused before reading at all).
    expect(counter.pulled).toBeLessThanOrEqual(MAX_REQUEST_BODY_BYTES / chunk + 2);
  });

  it("exactly the limit, streamed without Content-Length, is read and judged on its content", async () => {
    const h = await createHarness();
    const res = await probe(h, () =>
      serverRequest("POST", SESSIONS, {
        body: chunked(formOfSize(MAX_REQUEST_BODY_BYTES), 4096),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
    );
    // Read in full and forwarded; Stripe (the stub) refuses a 64 KiB metadata value (at most 500 characters).
    expect(res?.status).toBe(400);
    expect(h.stub.requests).toHaveLength(1);
  });

  it("a JSON body nested 10 000 deep (under the size limit) is refused cleanly", async () => {
    const h = await createHarness();
    const body = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    expect(body.length).toBeLessThan(MAX_REQUEST_BODY_BYTES);
    const res = await probe(h, () => serverRequest("POST", SESSIONS, { body, headers: { "Content-Type": "application/json" } }));
    expect(res?.status).toBe(400);
  });
});

describe("regressions found by fuzzing", () => {
  const postJson = (h: Harness, body: string) =>
    probe(h, () => serverRequest("POST", SESSIONS, { body, headers: { "Content-Type": "application/json" } }));

  it.each([
    ["toString", '{"type":"document","toString":"x"}'],
    ["hasOwnProperty", '{"type":"document","hasOwnProperty":"x"}'],
    ["valueOf under options[document]", '{"type":"document","options":{"document":{"valueOf":"1"}}}'],
  ])("a JSON key named like an Object.prototype member (%s) is an unknown parameter, not a 500", async (_name, body) => {
    const h = await createHarness();
    const res = await postJson(h, body);
    expect(res?.status).toBe(400);
    expect(h.stub.requests).toHaveLength(0);
  });

  it("a metadata key named like an Object.prototype member is a metadata key, not a 500", async () => {
    const h = await createHarness();
    const res = await postJson(h, '{"type":"document","metadata":{"toString":"x"}}');
    expect(res?.status).toBe(200);
  });

  it.each([
    ["brackets in a metadata key (would reach Stripe as metadata[a][b])", '{"type":"document","metadata":{"a][b":"x"}}'],
    ["an empty metadata key (would reach Stripe as metadata[])", '{"type":"document","metadata":{"":"x"}}'],
    ["a lone surrogate in a value (would reach Stripe as U+FFFD)", '{"type":"document","metadata":{"k":"\\ud800"}}'],
    ["a lone surrogate in a key", '{"type":"document","metadata":{"\\udc00":"x"}}'],
  ])("%s → 400 parameter_invalid, never forwarded", async (_name, body) => {
    const h = await createHarness();
    const res = await postJson(h, body);
    expect(res?.status).toBe(400);
    expect(h.stub.requests).toHaveLength(0);
  });
});
