import { describe, expect, it } from "vitest";
import {
  checkReturnUrl,
  parseAllowListEntry,
  RETURN_URL_MAX_LENGTH,
  type ReturnUrlRejection,
  returnUrlRejectionMessage,
} from "../../src/policy/return-url.ts";

const ALLOW = [
  "https://app.acme.test/identity/done",
  "https://app.acme.test:8443/alt",
  "https://xn--bcher-kva.example/return",
  "https://root.acme.test/",
  "http://localhost:8787/demo/",
  "http://127.0.0.1:8787/demo/",
];

type Kind = ReturnUrlRejection["kind"];

describe("checkReturnUrl: accepted controls", () => {
  it.each([
    ["https://app.acme.test/identity/done", "https://app.acme.test/identity/done"],
    ["https://app.acme.test/identity/done/", "https://app.acme.test/identity/done/"],
    ["https://app.acme.test/identity/done/step-2", "https://app.acme.test/identity/done/step-2"],
    ["https://app.acme.test/identity/done/a/b/c.html", "https://app.acme.test/identity/done/a/b/c.html"],
    ["https://app.acme.test/identity/done?session=vs_123", "https://app.acme.test/identity/done?session=vs_123"],
    ["https://app.acme.test/identity/done?session=vs_1&x=a%20b", "https://app.acme.test/identity/done?session=vs_1&x=a%20b"],
    ["https://app.acme.test/identity/done?next=/x", "https://app.acme.test/identity/done?next=/x"],
    ["https://app.acme.test/identity/done?", "https://app.acme.test/identity/done?"],
    ["https://app.acme.test/identity/done?a='b'", "https://app.acme.test/identity/done?a=%27b%27"],
    ["https://app.acme.test/identity/done/caf%C3%A9", "https://app.acme.test/identity/done/caf%C3%A9"],
    ["HTTPS://APP.ACME.TEST/identity/done", "https://app.acme.test/identity/done"],
    ["https://app.acme.test:443/identity/done", "https://app.acme.test/identity/done"],
    ["https://app.acme.test:8443/alt", "https://app.acme.test:8443/alt"],
    ["https://app.acme.test:8443/alt/x", "https://app.acme.test:8443/alt/x"],
    ["https://xn--bcher-kva.example/return", "https://xn--bcher-kva.example/return"],
    ["https://XN--BCHER-KVA.example/return/x", "https://xn--bcher-kva.example/return/x"],
    ["https://root.acme.test", "https://root.acme.test/"],
    ["https://root.acme.test/", "https://root.acme.test/"],
    ["https://root.acme.test/anything/deep?q=1", "https://root.acme.test/anything/deep?q=1"],
    ["http://localhost:8787/demo/", "http://localhost:8787/demo/"],
    ["http://localhost:8787/demo", "http://localhost:8787/demo"],
    ["http://LOCALHOST:8787/demo/x", "http://localhost:8787/demo/x"],
    ["http://127.0.0.1:8787/demo/?session=vs_1", "http://127.0.0.1:8787/demo/?session=vs_1"],
  ])("%s → %s", (candidate, expected) => {
    expect(checkReturnUrl(candidate, ALLOW)).toEqual({ ok: true, url: expected });
  });

  it("forwards exactly what it accepted: the result is a fixed point", () => {
    const first = checkReturnUrl("HTTPS://APP.ACME.TEST:443/identity/done?a='b'", ALLOW);
    expect(first.ok).toBe(true);
    if (first.ok) expect(checkReturnUrl(first.url, ALLOW)).toEqual(first);
  });
});

const long = `https://app.acme.test/identity/done?x=${"a".repeat(RETURN_URL_MAX_LENGTH)}`;

const REFUSED: [string, string, Kind | Kind[]][] = [
  // userinfo
  ["userinfo: host as username", "https://app.acme.test@evil.test/identity/done", "userinfo"],
  ["userinfo: user:pass", "https://user:pass@app.acme.test/identity/done", "userinfo"],
  ["userinfo: empty", "https://@app.acme.test/identity/done", "userinfo"],
  ["userinfo: evil user on the right host", "https://evil.test@app.acme.test/identity/done", "userinfo"],
  ["userinfo: port-looking password", "https://app.acme.test:443@evil.test/identity/done", "userinfo"],
  ["userinfo: encoded @ in host", "https://app.acme.test%40evil.test/identity/done", "malformed_authority"],
  // scheme-relative, missing or extra slashes
  ["scheme-relative", "//evil.test/identity/done", "not_absolute"],
  ["path only", "/identity/done", "not_absolute"],
  ["relative path", "identity/done", "not_absolute"],
  ["empty", "", "not_absolute"],
  ["one slash", "https:/app.acme.test/identity/done", "malformed_authority"],
  ["no slash", "https:app.acme.test/identity/done", "malformed_authority"],
  ["three slashes", "https:///app.acme.test/identity/done", "malformed_authority"],
  ["four slashes", "https:////evil.test/identity/done", "malformed_authority"],
  ["double slash after host", "https://root.acme.test//evil.test/", "empty_path_segment"],
  ["double slash in path", "https://app.acme.test/identity/done//evil.test", "empty_path_segment"],
  ["double slash mid path", "https://app.acme.test/identity//done", "empty_path_segment"],
  // backslashes
  ["backslash before @", "https://app.acme.test\\@evil.test/identity/done", "backslash"],
  ["backslashes as slashes", "https:\\\\evil.test/identity/done", "backslash"],
  ["backslash in host", "https://evil.test\\.app.acme.test/identity/done", "backslash"],
  ["slash-backslash", "/\\evil.test/identity/done", "backslash"],
  ["backslash in path", "https://app.acme.test/identity/done\\..\\..\\admin", "backslash"],
  // tabs, newlines, controls and invisible characters
  ["trailing tab", "https://app.acme.test/identity/done\t", "control_character"],
  ["tab inside path (WHATWG strips it)", "https://app.acme.test/iden\ttity/done", "control_character"],
  ["tab inside scheme", "java\tscript:alert(1)", "control_character"],
  ["newline", "https://app.acme.test/identity/done\n", "control_character"],
  ["CRLF header injection", "https://app.acme.test/identity/done\r\nSet-Cookie: a=b", "control_character"],
  ["newline in host", "https://app.acme\n.test/identity/done", "control_character"],
  ["NUL", "https://app.acme.test/identity/done\u0000", "control_character"],
  ["DEL", "https://app.acme.test/identity/done\u007f", "control_character"],
  ["leading space", " https://app.acme.test/identity/done", "whitespace"],
  ["trailing space", "https://app.acme.test/identity/done ", "whitespace"],
  ["space in path", "https://app.acme.test/identity/done x", "whitespace"],
  ["NBSP", "https://app.acme.test/identity/done\u00a0", "non_ascii"],
  ["C1 NEL", "https://app.acme.test/identity/done\u0085", "non_ascii"],
  ["zero-width space", "\u200bhttps://app.acme.test/identity/done", "non_ascii"],
  ["line separator", "https://app.acme.test/identity/done\u2028", "non_ascii"],
  ["RTL override", "https://\u202eapp.acme.test/identity/done", "non_ascii"],
  ["BOM", "\ufeffhttps://app.acme.test/identity/done", "non_ascii"],
  // IDN and punycode
  ["Unicode IDN host (must be punycode)", "https://bücher.example/return", "non_ascii"],
  ["Cyrillic homograph", "https://аpp.acme.test/identity/done", "non_ascii"],
  ["punycode of the homograph", "https://xn--pp-6kc.acme.test/identity/done", "host_not_allowed"],
  ["ideographic full stops", "https://app\u3002acme\u3002test/identity/done", "non_ascii"],
  ["fullwidth full stops", "https://app\uff0eacme\uff0etest/identity/done", "non_ascii"],
  ["fullwidth letters", "https://\uff41\uff50\uff50.acme.test/identity/done", "non_ascii"],
  ["invalid punycode", "https://xn--a.example/return", ["unparseable", "host_not_allowed"]],
  ["Unicode in path", "https://app.acme.test/identity/done/café", "non_ascii"],
  // trailing dots and other host spellings
  ["trailing dot", "https://app.acme.test./identity/done", "host_not_allowed"],
  ["two trailing dots", "https://app.acme.test../identity/done", ["unparseable", "host_not_allowed"]],
  ["leading dot", "https://.app.acme.test/identity/done", ["unparseable", "host_not_allowed"]],
  ["localhost trailing dot", "http://localhost.:8787/demo/", "host_not_allowed"],
  ["suffix host", "https://app.acme.test.evil.test/identity/done", "host_not_allowed"],
  ["prefix host", "https://evilapp.acme.test/identity/done", "host_not_allowed"],
  ["subdomain", "https://sub.app.acme.test/identity/done", "host_not_allowed"],
  ["parent domain", "https://acme.test/identity/done", "host_not_allowed"],
  ["other host", "https://evil.test/identity/done", "host_not_allowed"],
  ["underscore host", "https://app_acme.test/identity/done", "malformed_authority"],
  ["percent-encoded host", "https://%61pp.acme.test/identity/done", "malformed_authority"],
  ["decimal IPv4", "http://2130706433:8787/demo/", "host_not_canonical"],
  ["hex IPv4", "http://0x7f.0.0.1:8787/demo/", "host_not_canonical"],
  ["short IPv4", "http://127.1:8787/demo/", "host_not_canonical"],
  ["octal IPv4", "http://0177.0.0.1:8787/demo/", "host_not_canonical"],
  ["IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]:8787/demo/", "host_not_canonical"],
  ["IPv6 loopback is not localhost", "http://[::1]:8787/demo/", "host_not_allowed"],
  // ports
  ["other port", "https://app.acme.test:444/identity/done", "port_not_allowed"],
  ["port of another entry", "https://app.acme.test:8443/identity/done", "path_not_allowed"],
  ["localhost other port", "http://localhost:8788/demo/", "port_not_allowed"],
  ["localhost default port", "http://localhost/demo/", "port_not_allowed"],
  ["leading-zero port", "https://app.acme.test:0443/identity/done", "malformed_authority"],
  ["empty port", "https://app.acme.test:/identity/done", "malformed_authority"],
  ["port out of range", "https://app.acme.test:99999/identity/done", "unparseable"],
  ["two ports", "https://app.acme.test:443:443/identity/done", "malformed_authority"],
  // schemes
  ["javascript:", "javascript:alert(1)", "scheme_not_allowed"],
  [
    "javascript: with allowed URL in a comment",
    "JavaScript:alert(document.domain)//https://app.acme.test/identity/done",
    "scheme_not_allowed",
  ],
  ["javascript:// with encoded newline", "javascript://app.acme.test/identity/done%0aalert(1)", "scheme_not_allowed"],
  ["data:", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "scheme_not_allowed"],
  ["blob:", "blob:https://app.acme.test/0b7f5c2e-1d2b-4f0e-9c55-5c2b7f1d9a11", "scheme_not_allowed"],
  ["vbscript:", "vbscript:msgbox(1)", "scheme_not_allowed"],
  ["file:", "file:///etc/passwd", "scheme_not_allowed"],
  ["ftp:", "ftp://app.acme.test/identity/done", "scheme_not_allowed"],
  ["wss:", "wss://app.acme.test/identity/done", "scheme_not_allowed"],
  ["intent:", "intent://app.acme.test/identity/done#Intent;scheme=https;end", "scheme_not_allowed"],
  ["http for an https entry", "http://app.acme.test/identity/done", "scheme_mismatch"],
  ["https for an http localhost entry", "https://localhost:8787/demo/", "scheme_mismatch"],
  // dot-segments
  ["dot-dot escape", "https://app.acme.test/identity/done/../../admin", "dot_segment"],
  ["dot-dot back in", "https://app.acme.test/identity/done/x/../y", "dot_segment"],
  ["trailing dot-dot", "https://app.acme.test/identity/done/..", "dot_segment"],
  ["single dot", "https://app.acme.test/identity/done/./x", "dot_segment"],
  ["servlet path parameter ..;", "https://app.acme.test/identity/done/..;/admin", "dot_segment"],
  ["servlet path parameter .;x", "https://app.acme.test/identity/done/.;x/admin", "dot_segment"],
  // encoded forms
  ["encoded dots", "https://app.acme.test/identity/done/%2e%2e/%2e%2e/admin", "encoded_delimiter"],
  ["encoded dots, uppercase", "https://app.acme.test/identity/done/%2E%2E/admin", "encoded_delimiter"],
  ["mixed dot", "https://app.acme.test/identity/done/.%2e/admin", "encoded_delimiter"],
  ["encoded slash", "https://app.acme.test/identity/done%2f..%2fadmin", "encoded_delimiter"],
  ["encoded backslash", "https://app.acme.test/identity/done/%5c..%5cadmin", "encoded_delimiter"],
  ["double-encoded dots", "https://app.acme.test/identity/done/%252e%252e/admin", "encoded_delimiter"],
  ["encoded percent", "https://app.acme.test/identity/done/%25", "encoded_delimiter"],
  ["encoded CRLF", "https://app.acme.test/identity/done/%0d%0aSet-Cookie:x", "encoded_delimiter"],
  ["encoded NUL", "https://app.acme.test/identity/done/%00", "encoded_delimiter"],
  ["encoded slashes in the query", "https://app.acme.test/identity/done?next=%2F%2Fevil.test", "encoded_delimiter"],
  ["malformed escape", "https://app.acme.test/identity/done/%zz", "malformed_percent_encoding"],
  ["truncated escape", "https://app.acme.test/identity/done/%", "malformed_percent_encoding"],
  ["encoded letter is not decoded for matching", "https://app.acme.test/identity/%64one", "path_not_allowed"],
  // fragments
  ["fragment", "https://app.acme.test/identity/done#x", "fragment"],
  ["empty fragment", "https://app.acme.test/identity/done#", "fragment"],
  ["fragment with @", "https://app.acme.test/identity/done#@evil.test", "fragment"],
  ["allowed URL in a fragment", "https://evil.test#@app.acme.test/identity/done", "fragment"],
  ["allowed URL in a query", "https://evil.test?@app.acme.test/identity/done", "host_not_allowed"],
  // path prefix on a segment boundary
  ["prefix without boundary", "https://app.acme.test/identity/done-evil", "path_not_allowed"],
  ["prefix glued", "https://app.acme.test/identity/doneevil", "path_not_allowed"],
  ["path parameter glued", "https://app.acme.test/identity/done;evil", "path_not_allowed"],
  ["parent of the prefix", "https://app.acme.test/identity", "path_not_allowed"],
  ["case differs", "https://app.acme.test/identity/Done", "path_not_allowed"],
  ["root", "https://app.acme.test/", "path_not_allowed"],
  ["no path", "https://app.acme.test", "path_not_allowed"],
  ["prefix only in the query", "https://app.acme.test?x=/identity/done", "path_not_allowed"],
  // characters outside RFC 3986
  ["angle brackets", "https://app.acme.test/identity/done/<script>", "disallowed_character"],
  ["double quote", 'https://app.acme.test/identity/done/"x"', "disallowed_character"],
  ["braces", "https://app.acme.test/identity/done/{x}", "disallowed_character"],
  ["pipe", "https://app.acme.test/identity/done|x", "disallowed_character"],
  ["caret", "https://app.acme.test/identity/done^x", "disallowed_character"],
  ["backtick", "https://app.acme.test/identity/done`x", "disallowed_character"],
  ["brackets in the query", "https://app.acme.test/identity/done?a=[1]", "disallowed_character"],
  ["brackets in the path", "https://app.acme.test/identity/done/[x]", "disallowed_character"],
  // size
  ["too long", long, "too_long"],
];

describe("checkReturnUrl: open-redirect tricks are refused", () => {
  it.each(REFUSED)("%s: %j", (_label, candidate, expected) => {
    const result = checkReturnUrl(candidate, ALLOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const kinds = Array.isArray(expected) ? expected : [expected];
    expect(kinds).toContain(result.reason.kind);
  });

  it("refuses everything when the tenant has no allow-list", () => {
    expect(checkReturnUrl("https://app.acme.test/identity/done", [])).toEqual({ ok: false, reason: { kind: "no_allow_list" } });
  });

  it("reads an allow-list changed in place again (the parsed-entry memo cannot go stale)", () => {
    const list = ["https://app.acme.test/identity/done"];
    expect(checkReturnUrl("https://app.acme.test/identity/done", list).ok).toBe(true);
    list[0] = "https://other.acme.test/";
    expect(checkReturnUrl("https://app.acme.test/identity/done", list).ok).toBe(false);
    expect(checkReturnUrl("https://other.acme.test/x", list).ok).toBe(true);
  });

  it("answers the same the second time (accepted URLs are remembered per list, refusals never are)", () => {
    const list = [...ALLOW];
    const accepted = Array.from({ length: 150 }, (_, i) => `https://app.acme.test/identity/done/${i}?s=%7B${i}%7D`);
    const candidates = [...accepted, ...REFUSED.map(([, candidate]) => candidate)];
    const first = candidates.map((c) => checkReturnUrl(c, list));
    const second = [...candidates]
      .reverse()
      .map((c) => checkReturnUrl(c, list))
      .reverse();
    expect(second).toEqual(first);
    expect(first.filter((r) => r.ok)).toHaveLength(accepted.length);
  });

  it("ignores invalid allow-list entries instead of matching them loosely", () => {
    const list = [
      "http://app.acme.test/identity/done",
      "https://u:p@app.acme.test/x",
      "https://app.acme.test/q?x=1",
      "not a url",
    ];
    expect(checkReturnUrl("http://app.acme.test/identity/done", list).ok).toBe(false);
    expect(checkReturnUrl("https://app.acme.test/x", list).ok).toBe(false);
    expect(checkReturnUrl("https://app.acme.test/q", list).ok).toBe(false);
  });
});

describe("returnUrlRejectionMessage", () => {
  const kinds = new Set(REFUSED.flatMap(([, , k]) => (Array.isArray(k) ? k : [k])));
  it.each([...kinds, "no_allow_list" as const])("has a message for %s that does not echo the URL", (kind) => {
    const reason = (
      kind === "too_long"
        ? { kind, max: RETURN_URL_MAX_LENGTH }
        : kind === "disallowed_character"
          ? { kind, char: "<" }
          : { kind }
    ) as ReturnUrlRejection;
    const message = returnUrlRejectionMessage(reason);
    expect(message.length).toBeGreaterThan(10);
    expect(message).not.toContain("evil");
  });
});

describe("parseAllowListEntry", () => {
  it.each([
    [
      "https://app.acme.test/identity/done",
      { protocol: "https:", hostname: "app.acme.test", port: "", pathPrefix: "/identity/done" },
    ],
    [
      "https://app.acme.test/identity/done/",
      { protocol: "https:", hostname: "app.acme.test", port: "", pathPrefix: "/identity/done" },
    ],
    ["https://app.acme.test", { protocol: "https:", hostname: "app.acme.test", port: "", pathPrefix: "" }],
    ["https://app.acme.test:8443/x", { protocol: "https:", hostname: "app.acme.test", port: "8443", pathPrefix: "/x" }],
    ["http://localhost:8787/demo/", { protocol: "http:", hostname: "localhost", port: "8787", pathPrefix: "/demo" }],
    ["http://127.0.0.1/demo", { protocol: "http:", hostname: "127.0.0.1", port: "", pathPrefix: "/demo" }],
  ])("reads %s", (entry, expected) => {
    expect(parseAllowListEntry(entry)).toEqual({ ok: true, entry: expected });
  });

  it.each([
    ["http://app.acme.test/done", /https/],
    ["http://[::1]/done", /https/],
    ["ftp://app.acme.test/done", /https/],
    ["/done", /absolute https/],
    ["https://user@app.acme.test/done", /userinfo/],
    ["https://app.acme.test/done?x=1", /query/],
    ["https://app.acme.test/done#x", /fragment/],
    ["https://bücher.example/done", /ASCII/],
    ["https://app.acme.test/a/../b", /dot-segments/],
  ])("refuses %s", (entry, problem) => {
    const read = parseAllowListEntry(entry);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problem).toMatch(problem);
  });
});
