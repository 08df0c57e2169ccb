import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log/logger.ts";
import { assertNoSecretsIn, captureLogs, findSecretLeaks, useLogCapture } from "../helpers/log-capture.ts";

const KEY = "sk_test_fake_acme_0123456789abcdef";
const PROXY_KEY = `iek_test_fake_acme_${"A".repeat(43)}`;
const CLIENT_SECRET = "vs_1NuNxr2eZvKYlo2CoBzdVg7N_secret_test_q7Rk2LmZ9xW4bN8vC1dF";
const URL_SECRET = "https://verify.stripe.com/start/test_YWNjdF8xTnVOeHIyZVp2S1lvMkNv";
const EMAIL = "jenny.rosen@example.com";

/** Runs `fn` with the console captured, and returns the capture (restored). */
function captured(fn: () => void) {
  const cap = captureLogs();
  try {
    fn();
  } finally {
    cap.restore();
  }
  return cap;
}

describe("captureLogs", () => {
  it("captures every console method and restores the console", () => {
    const original = console.log;
    const cap = captured(() => {
      console.log("a", 1);
      console.info("b");
      console.warn("c");
      console.error("d");
      console.debug("e");
      console.trace("f");
    });
    expect(cap.lines).toEqual(["a 1", "b", "c", "d", "e", "f"]);
    // The runtime may re-bind console methods on assignment, so check behaviour, not identity.
    console.log("after restore");
    cap.restore(); // a second restore is harmless
    expect(cap.lines).toHaveLength(6);
    expect(console.log.name).toContain(original.name);
  });

  it("captures what the Worker's logger writes through console.log", () => {
    const cap = captured(() => {
      const log = createLogger("info", (line) => console.log(line));
      log.access({ request_id: "req_1", method: "GET", status: 200, duration_ms: 3 });
      log.warn("kv_get_failed", { request_id: "req_1" });
    });
    expect(cap.records()).toEqual([
      expect.objectContaining({ event: "request", status: 200 }),
      expect.objectContaining({ event: "kv_get_failed", level: "warn" }),
    ]);
  });

  it("parses only the JSON object lines as records", () => {
    const cap = captured(() => {
      console.log('{"event":"request"}');
      console.log("plain text");
      console.log("{not json");
      console.log("[1,2]");
    });
    expect(cap.records()).toEqual([{ event: "request" }]);
  });

  it("formats objects, errors, Headers and Requests so that what they hold is checked", () => {
    const cap = captured(() => {
      console.log({ nested: { key: KEY } });
      console.error(new Error(`failed for ${EMAIL}`));
      console.log(new Headers({ authorization: `Bearer ${PROXY_KEY}` }));
      console.log(new Request("https://proxy.test/cb", { headers: { cookie: `cs=${CLIENT_SECRET}` } }));
      const cyclic: Record<string, unknown> = { url: URL_SECRET };
      cyclic.self = cyclic;
      console.log(cyclic, 10n);
    });
    const leaks = findSecretLeaks(cap.lines, [KEY, EMAIL, PROXY_KEY, CLIENT_SECRET, URL_SECRET]);
    expect(leaks.map((l) => l.secretIndex).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("checks text ingested from elsewhere (a child process)", () => {
    const cap = captured(() => {});
    cap.ingest(`[wrangler:inf] GET /v1 200\nleaked ${KEY}\n`);
    expect(() => cap.assertNoSecrets([KEY])).toThrow(/secret #0/);
  });

  it("passes when the logs are clean", () => {
    const cap = captured(() => {
      const log = createLogger("debug", (line) => console.log(line));
      log.access({ request_id: "req_1", method: "POST", status: 200, duration_ms: 3, tenant: "acme", policy: `x ${KEY}` });
      log.error("unhandled_exception", { detail: `${CLIENT_SECRET} ${URL_SECRET} ${EMAIL} Bearer ${PROXY_KEY}` });
    });
    expect(cap.lines).toHaveLength(2);
    expect(() => cap.assertNoSecrets([KEY, PROXY_KEY, CLIENT_SECRET, URL_SECRET, EMAIL])).not.toThrow();
  });
});

describe("assertNoSecrets finds a secret in any form", () => {
  const b64 = (s: string) => btoa(s);
  it.each([
    ["raw", `key=${KEY}`],
    ["percent-encoded", `next=${encodeURIComponent(URL_SECRET)}`],
    ["with %5F underscores", `k=${KEY.replace(/_/g, "%5F")}`],
    ["with lower-case %5f underscores", `k=${KEY.replace(/_/g, "%5f")}`],
    ["percent-encoded twice", encodeURIComponent(encodeURIComponent(URL_SECRET))],
    ["with %40", `to=${EMAIL.replace("@", "%40")}`],
    ["JSON-escaped slashes", JSON.stringify({ u: URL_SECRET }).replace(/\//g, "\\/")],
    ["as \\u escapes", KEY.replace(/_/g, "\\u005f")],
    ["JSON-escaped twice", JSON.stringify(JSON.stringify({ key: KEY.replace(/_/g, "\\u005f") }))],
    ["base64", `Basic ${b64(`${KEY}:`)}`],
    ["base64 at alignment 1", b64(`x${KEY}`)],
    ["base64 at alignment 2", b64(`xy${KEY}`)],
    ["base64url", b64(`{"k":"${KEY}"}`).replace(/\+/g, "-").replace(/\//g, "_")],
    ["as a tail behind a mask", `key=[redacted]${KEY.slice(12)}`],
  ])("%s", (_form, line) => {
    const secret = line.includes("verify") || /verify|dmVya/.test(line) ? URL_SECRET : line.includes("to=") ? EMAIL : KEY;
    expect(findSecretLeaks([line], [secret])).toHaveLength(1);
    expect(() => assertNoSecretsIn([line], [secret])).toThrow();
  });

  it("does not flag an ordinary line", () => {
    expect(
      findSecretLeaks(['{"event":"request","tenant":"acme","status":200}', "Bearer [redacted:bearer]"], [KEY, PROXY_KEY]),
    ).toEqual([]);
  });

  it("names the secret, the form and the line without printing the secret", () => {
    let message = "";
    try {
      assertNoSecretsIn(["clean line", `leak: ${CLIENT_SECRET.replace(/_/g, "%5F")} end`], ["unused-secret", CLIENT_SECRET]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`secret #1 ("vs_1"…, ${CLIENT_SECRET.length} chars)`);
    expect(message).toContain("after percent-decoding");
    expect(message).toContain("line 2");
    expect(message).toContain("«secret #1»");
    expect(message).not.toContain(CLIENT_SECRET);
    expect(message).not.toContain(CLIENT_SECRET.replace(/_/g, "%5F"));
    expect(message).not.toContain(CLIENT_SECRET.slice(-16));
  });

  it("refuses a secret too short to check meaningfully", () => {
    expect(() => assertNoSecretsIn(["x"], ["abc"])).toThrow(/not a usable secret/);
    expect(() => assertNoSecretsIn(["x"], [undefined as unknown as string])).toThrow(/not a usable secret/);
  });
});

describe("useLogCapture", () => {
  const logs = useLogCapture({ secrets: [KEY, PROXY_KEY] });

  it("captures the test's console and exposes its records", () => {
    createLogger("info", (line) => console.log(line)).access({ request_id: "req_1", method: "GET", status: 200, duration_ms: 1 });
    expect(logs.lines).toHaveLength(1);
    expect(logs.records()[0]).toMatchObject({ event: "request", request_id: "req_1" });
  });

  it("starts each test with an empty capture", () => {
    expect(logs.lines).toEqual([]);
  });

  it("checks secrets registered during the test, and scrubbed logs pass", () => {
    logs.secret(CLIENT_SECRET, URL_SECRET, undefined, null);
    createLogger("info", (line) => console.log(line)).error("unhandled_exception", { detail: `${CLIENT_SECRET} ${URL_SECRET}` });
    expect(() => logs.assertNoSecrets()).not.toThrow();
  });

  it("fails on a leak of a known, registered or extra secret", () => {
    const other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    console.log(`careless ${other}`);
    expect(() => logs.assertNoSecrets([other])).toThrow(/secret #2/);
    // `other` is neither known nor registered, so the afterEach check of this test stays green.
  });
});
