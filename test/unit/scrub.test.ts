import { describe, expect, it } from "vitest";
import {
  containsSecret,
  MAX_LOGGED_STRING,
  MAX_SCANNED_STRING,
  maskSecrets,
  scrubString,
  TRUNCATION_MARK,
} from "../../src/log/scrub.ts";
import { findSecretLeaks } from "../helpers/log-capture.ts";

/** `secret` is what must never be logged; `text` is how it shows up (a bearer token with its scheme). */
interface Sample {
  name: string;
  secret: string;
  text?: string;
}

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzEyMyIsImlzcyI6Imh0dHBzOi8vYXV0aC5hY21lLnRlc3QifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const OPAQUE_TOKEN = "7f3a9c2e1b4d5a6f8e9d0c1b2a3f4e5d";

const SAMPLES: readonly Sample[] = [
  { name: "live secret key", secret: "sk_live_51Hq8WZKcXy3tGf0aB9cDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcdEFGH" },
  { name: "test secret key", secret: "sk_test_4eC39HqLyjWDarjtT1zdp7dc" },
  { name: "secret key longer than usual (248 chars)", secret: `sk_test_${"A1b2".repeat(60)}` },
  { name: "restricted key", secret: "rk_live_51Hxyz0AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" },
  { name: "key with underscores (test harness style)", secret: "sk_test_fake_acme_0123456789abcdef" },
  { name: "webhook secret", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  { name: "client secret", secret: "vs_1NuNxr2eZvKYlo2CoBzdVg7N_secret_test_YWNjdF8xTnVOeHIyZVp2S1lvMkNv" },
  { name: "client secret (live)", secret: "vs_1NuNxr2eZvKYlo2CoBzdVg7N_secret_live_YWNjdF8xTnVOeHIyZVp2S1lvMkNv" },
  { name: "client secret (stub)", secret: "vs_AbCdEfGhIjKlMnOpQrStUvWx_secret_test_q7Rk2LmZ9xW4bN8vC1dF5gH3" },
  {
    name: "Stripe session url",
    secret: "https://verify.stripe.com/start/test_YWNjdF8xTnVOeHIyZVp2S1lvMkNvLF9PaHJuZkZvZ3dETUJ6NDZIeEQ1eVhnT0t20100x2bWkmXw",
  },
  {
    name: "stub session url",
    secret: "https://stub.stripe.test/verify/vs_AbCdEfGhIjKlMnOpQrStUvWx?cs=test_0123456789abcdefghijklmnopqrstuv",
  },
  { name: "JWT", secret: JWT },
  { name: "proxy key", secret: "iek_Zm9vYmFyYmF6cXV4cXV1eF9sb25nX3JhbmRvbV9ieXRlc18xMjM0" },
  { name: "proxy key (test harness style)", secret: `iek_test_fake_acme_${"A".repeat(43)}` },
  { name: "email", secret: "jenny.rosen+kyc@example.com" },
  { name: "email (short)", secret: "jo@ex.io" },
  { name: "bearer token", secret: OPAQUE_TOKEN, text: `Bearer ${OPAQUE_TOKEN}` },
  { name: "bearer token, upper case scheme", secret: OPAQUE_TOKEN, text: `BEARER ${OPAQUE_TOKEN}` },
  { name: "bearer token, mixed case scheme", secret: OPAQUE_TOKEN, text: `bEaReR ${OPAQUE_TOKEN}` },
  { name: "phone number", secret: "+1 (555) 555-0100" },
];

const percentAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`).join("");
const unicodeEscapeAll = (s: string) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
const base64 = (s: string) => btoa(s);
const base64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** How a secret's text can be embedded in a logged string. */
const EMBEDDINGS: readonly [string, (t: string) => string][] = [
  ["alone", (t) => t],
  ["in a sentence", (t) => `upstream said: ${t} was rejected`],
  ["in double quotes", (t) => `"${t}"`],
  ["in single quotes", (t) => `'${t}'`],
  ["in brackets", (t) => `[${t}]`],
  ["between commas", (t) => `a,${t},b`],
  ["split by quotes and commas", (t) => `['${t}','${t}']`],
  ["on its own line", (t) => `first line\n${t}\nthird line`],
  ["in a stack trace", (t) => `Error: failed for ${t}\n    at handle (src/proxy.ts:42:13)`],
  ["as a form value", (t) => `a=1&value=${t}&b=2`],
  ["as a JSON value", (t) => JSON.stringify({ value: t })],
  ["JSON-escaped twice", (t) => JSON.stringify(JSON.stringify({ value: t }))],
  ["with JSON-escaped slashes", (t) => `{"value":"${t.replace(/\//g, "\\/")}"}`],
  ["as \\u escapes", (t) => `{"value":"${unicodeEscapeAll(t)}"}`],
  ["percent-encoded in a URL", (t) => `https://example.test/cb?value=${encodeURIComponent(t)}&ok=1`],
  ["with %5F for underscores", (t) => `value=${t.replace(/_/g, "%5F")}`],
  ["with lower-case %5f", (t) => `value=${t.replace(/_/g, "%5f")}`],
  ["with %40 and %2B", (t) => `value=${t.replace(/@/g, "%40").replace(/\+/g, "%2B")}`],
  ["fully percent-encoded", (t) => `value=${percentAll(t)}`],
  ["percent-encoded twice", (t) => `next=${encodeURIComponent(`https://example.test/?v=${encodeURIComponent(t)}`)}`],
  ["percent-encoded inside JSON", (t) => JSON.stringify({ url: `https://example.test/?v=${encodeURIComponent(t)}` })],
  ["base64", (t) => `blob ${base64(t)} end`],
  ["base64url", (t) => `blob ${base64url(t)} end`],
  ["base64 after other bytes", (t) => `blob ${base64(`{"v":"${t}"}`)} end`],
  ["as Basic credentials", (t) => `basic ${base64(`${t}:`)}`],
  ["glued to a prefix", (t) => `xyz${t}`],
  ["glued to a suffix", (t) => `${t}xyz`],
];

describe("scrubString masks every kind of secret, however it is embedded", () => {
  for (const sample of SAMPLES) {
    describe(sample.name, () => {
      // Base64 runs shorter than 12 characters (9 bytes) are not decoded: too short to hide a key.
      const embeddings = EMBEDDINGS.filter(([how]) => !/base64|Basic/.test(how) || (sample.text ?? sample.secret).length >= 9);
      it.each(embeddings)("%s", (_how, embed) => {
        const input = embed(sample.text ?? sample.secret);
        const out = scrubString(input);
        expect(out).toContain("[redacted");
        expect(findSecretLeaks(out, [sample.secret])).toEqual([]);
        expect(scrubString(out)).toBe(out); // idempotent
      });
    });
  }
});

describe("scrubString masks secrets by context", () => {
  it.each([
    ["Authorization header", "authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"],
    ["Cookie header", "Cookie: session=abc123def456; theme=dark", "abc123def456"],
    ["Set-Cookie in JSON", '{"set-cookie":"sid=s3cr3tv4lue; Path=/"}', "s3cr3tv4lue"],
    [
      "Stripe-Signature header",
      "stripe-signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
      "5257a869e7ece",
    ],
    ["client_secret field of unknown shape", '{"client_secret":"opaque-value-1234"}', "opaque-value-1234"],
    ["token query parameter", "https://stub.test/cb?token=abcdef123456&x=1", "abcdef123456"],
    ["password in a message", "login failed, password=hunter2hunter2", "hunter2hunter2"],
    ["dob in a JSON parse error", `Unexpected token 'x', "{"dob":{"day":12,"month":3,"year":1987}}" is not valid JSON`, "1987"],
    ["id number in a form body", "type=id_number&provided_details[id_number]=123-45-6789", "123-45-6789"],
    ["metadata values", 'metadata[order]=A-7781&metadata[user]="ann"', "A-7781"],
    ["verified_outputs", '{"verified_outputs":{"first_name":"Jenny","last_name":"Rosen"}}', "Jenny"],
    ["provided_details email, percent-encoded", "provided_details%5Bemail%5D=someone%40example.org", "someone"],
    ["phone number", "call +44 20 7946 0958 back", "7946"],
  ])("%s", (_name, input, secretPart) => {
    const out = scrubString(input);
    expect(out).toContain("[redacted");
    expect(out).not.toContain(secretPart);
  });

  it("keeps the Bearer scheme and the header name readable", () => {
    expect(scrubString(`Bearer ${OPAQUE_TOKEN}`)).toBe("Bearer [redacted:bearer]");
    expect(scrubString("Cookie: a=b")).toBe("Cookie: [redacted:credential]");
    expect(scrubString("https://verify.stripe.com/start/test_abc")).toBe("https://verify.stripe.com/[redacted:session_url]");
  });

  it("labels each mask with the kind of secret", () => {
    expect(scrubString("sk_test_abc")).toBe("[redacted:stripe_key]");
    expect(scrubString("whsec_abc")).toBe("[redacted:webhook_secret]");
    expect(scrubString("vs_1A_secret_b2")).toBe("[redacted:client_secret]");
    expect(scrubString("iek_abc")).toBe("[redacted:proxy_key]");
    expect(scrubString(JWT)).toBe("[redacted:jwt]");
    expect(scrubString("a@b.co")).toBe("[redacted:email]");
    expect(scrubString(base64("sk_live_abcdefghij:"))).toBe("[redacted:encoded]");
  });

  it("masks a secret's encoded form exactly, keeping the text around it", () => {
    expect(scrubString("k=sk_test%5Fabc&next=1")).toBe("k=[redacted:stripe_key]&next=1");
    expect(scrubString("to: jenny%40example.com, cc: none")).toBe("to: [redacted:email], cc: none");
    expect(scrubString('{"u":"https:\\/\\/verify.stripe.com\\/start\\/t_1"}')).toBe(
      '{"u":"https:\\/\\/verify.stripe.com\\/[redacted:session_url]"}',
    );
  });

  it("masks the whole string when a secret hides under more nested encodings than it locates", () => {
    let nested = "k=sk_test_abcdef";
    for (let i = 0; i < 5; i++) nested = encodeURIComponent(nested);
    expect(scrubString(`prefix ${nested}`)).toBe("[redacted:encoded]");
  });
});

describe("scrubString leaves ordinary values alone", () => {
  it.each([
    "req_edge_0123456789abcdef01234567",
    "req_AbCdEfGhIjKlMn",
    "vs_1NuNxr2eZvKYlo2CoBzdVg7N",
    "vr_1NuNxr2eZvKYlo2CoBzdVg7N",
    "vs_123",
    "req_abc",
    "acct_123",
    "acct_1AcmeTest",
    "evt_1NuNxr2eZvKYlo2CoBzdVg7N",
    "acme",
    "app.acme.test",
    "/v1/identity/verification_sessions",
    "/v1/identity/verification_sessions/{id}",
    "/v1/identity/verification_sessions/{id}/cancel",
    "/v1/identity/verification_reports/{id}",
    "/webhooks/stripe/{tenant_id}",
    "/identity/v1/identity/verification_sessions/{id}/redact",
    "2026-11-22T05:36:00.000Z",
    "2026-11-22T05:36:00+00:00",
    "2026-07-29.dahlia",
    "STRIPE_KEY_ACME",
    "STRIPE_WHSEC_ACME",
    "STRIPE_SECRET_KEY",
    "ACME_JWT_SECRET",
    "CACHE_ENCRYPTION_KEY",
    // Every event name the Worker logs (an event name the scrubber would touch is replaced).
    "browser_origin_refused",
    "browser_preflight_refused",
    "browser_token_refused",
    "cache_invalidation_not_persisted",
    "cache_marker_unreadable",
    "cache_value_unreadable",
    "jwks_unavailable",
    "kv_get_failed",
    "kv_put_failed",
    "list_cache_disabled",
    "list_refresh_failed",
    "rate_limiter_failed",
    "rate_limiter_missing",
    "stripe_api_base_invalid",
    "tenant_config_invalid",
    "tenant_registry_read_failed",
    "tenant_secret_missing",
    "tenants_config_invalid",
    "unhandled_exception",
    "webhook_ignored",
    "webhook_refused",
    "webhook_secret_missing",
    "cache_purge",
    "preflight",
    "injected:allowed_types,injected:require_live_capture,injected:require_matching_selfie,normalized:return_url",
    "default_return_url",
    "refused:browser_param",
    "refused:not_owner",
    "policy_violation",
    "refused:return_url",
    "set:allowed_types,require_live_capture,require_matching_selfie",
    "upstream_unavailable",
    "GET",
    "POST",
    "HIT",
    "3f2a8c1e-9b7d-4c2a-8e1f-0a1b2c3d4e5f",
    "https://app.acme.test/identity/done",
    "https://api.stripe.com/v1/identity/verification_sessions",
    "The proxy key is invalid.",
    "Please verify your identity at /identity/verify",
    "100% done, 50%ish",
    "TypeError: Cannot read properties of undefined (reading 'x')\n    at handle (src/proxy.ts:42:13)",
    "at file:///node_modules/.pnpm/@cloudflare+vitest-plugin@1.5.0/node_modules/x.js:1:2",
    "stripe@23.1.0 vitest@4.1.12",
    "No such verification_session: 'vs_1NuNxr2eZvKYlo2CoBzdVg7N'",
    "token expired",
    "Invalid email address",
    "surveyJsLibrary",
    "task_list backtrack_limit",
  ])("%j", (value) => {
    expect(scrubString(value)).toBe(value);
    expect(containsSecret(value)).toBe(false);
  });
});

describe("scrubString caps length", () => {
  it("truncates a long string to MAX_LOGGED_STRING with a marker", () => {
    const out = scrubString("word ".repeat(2000));
    expect(out.length).toBeLessThanOrEqual(MAX_LOGGED_STRING);
    expect(out.endsWith(TRUNCATION_MARK)).toBe(true);
  });

  it("honours a smaller cap", () => {
    const out = scrubString("x".repeat(500), 64);
    expect(out.length).toBe(64);
    expect(out.endsWith(TRUNCATION_MARK)).toBe(true);
  });

  it("leaves a short string's length alone", () => {
    expect(scrubString("short")).toBe("short");
  });

  it("never leaves part of a secret cut by the scan limit", () => {
    const email = "someone.with.a.long.address@example.com";
    for (let shift = 0; shift < email.length + 2; shift++) {
      const padding = "k ".repeat((MAX_SCANNED_STRING - shift) / 2);
      const out = scrubString(`${padding.slice(0, MAX_SCANNED_STRING - shift)}${email} tail`);
      expect(out).not.toContain("someone");
    }
  });

  it("never leaves part of a secret cut by the output cap after heavy masking", () => {
    // Masking shrinks 200-character keys to 22 characters, so the whole 8 KiB scan window fits in
    // 2 KiB of output and what the window cut sits at the end of it.
    const key = `sk_live_${"Z".repeat(192)}`;
    const email = "someone.with.a.long.address@example.com";
    for (let shift = 0; shift < 24; shift++) {
      const text = `${`${key} `.repeat(Math.ceil(MAX_SCANNED_STRING / 201)).slice(0, MAX_SCANNED_STRING - shift)}${email} more`;
      const out = scrubString(text);
      expect(out.length).toBeLessThan(MAX_LOGGED_STRING);
      expect(out.endsWith(TRUNCATION_MARK)).toBe(true);
      expect(out).not.toContain("someone");
      expect(out).not.toContain("ZZZZ");
    }
  });

  it("does not end in half a surrogate pair", () => {
    const out = scrubString("😀".repeat(2000));
    expect(/[\uD800-\uDBFF]$/.test(out.slice(0, -TRUNCATION_MARK.length))).toBe(false);
  });
});

describe("maskSecrets is linear on adversarial input", () => {
  // Each of these would take minutes on a pattern with nested or overlapping unbounded quantifiers;
  // the suite's timeout is the bound (no wall-clock assertion). A secret at the end shows the scan
  // still works after the noise.
  const N = 100_000;
  const ADVERSARIAL: readonly [string, string][] = [
    ["one long run of letters", "a".repeat(N)],
    ["repeated JWT headers", "eyJ".repeat(N / 3)],
    ["repeated @", "a@".repeat(N / 2)],
    ["a domain that never ends in a TLD", `a@${"b1.".repeat(N / 3)}`],
    ["a local part that never reaches @", `${"a.".repeat(N / 2)}`],
    ["repeated bearer", "bearer ".repeat(N / 7)],
    ["bearer then spaces", `Bearer${" ".repeat(N)}`],
    ["nested percent escapes", `${"%25".repeat(N / 3)}5F`],
    ["repeated \\u prefixes", "\\u00".repeat(N / 4)],
    ["repeated metadata[", "metadata[".repeat(N / 9)],
    ["repeated dob[x]", "dob[x]".repeat(N / 6)],
    ["repeated _secret", "_secret".repeat(N / 7)],
    ["repeated _secret_ without a tail", "_secret_".repeat(N / 8)],
    ["repeated +1", "+1".repeat(N / 2)],
    ["repeated authorization", "authorization ".repeat(N / 14)],
    ["a 100 KB base64 run", "QUJD".repeat(N / 4)],
    ["repeated vs_ ids", "vs_1A".repeat(N / 5)],
    ["repeated /verify", "/verify".repeat(N / 7)],
  ];
  it.each(ADVERSARIAL)("%s", (_name, noise) => {
    expect(noise.length).toBeGreaterThan(N * 0.9);
    const out = maskSecrets(`${noise} sk_test_0123456789abcdef`);
    expect(out).not.toContain("sk_test_0123456789abcdef");
    expect(typeof scrubString(noise)).toBe("string");
  });
});
