/**
 * The `return_url` allow-list: where Stripe may send the user back after the verification. A return
 * URL is an open-redirect vector, so the check is strict on purpose and never "repairs" a candidate:
 * anything the WHATWG parser would silently rewrite (tabs, backslashes, numeric IPs, dot-segments,
 * percent-encoded hosts) is refused rather than normalized, so that the URL we compared is the URL
 * Stripe redirects to, whatever parser Stripe uses. Pure: no env, no I/O.
 *
 * Decisions (docs/tenant-config.md repeats them for operators):
 * - Only printable ASCII from RFC 3986's character set. IDN hosts must be written in punycode
 *   (`xn--…`), in the allow-list as in the candidate; Unicode lookalikes never reach the matcher.
 * - A query is allowed (`?session=…` is how a landing page correlates) and forwarded as parsed; it
 *   cannot change the host or path the user lands on.
 * - A fragment (`#…`, even empty) is refused: a hash-routed page would let the fragment pick the
 *   client-side route, escaping the allow-listed path, and no Stripe flow needs one.
 * - Encoded dots, slashes, backslashes, percents and control characters (`%2e %2f %5c %25 %00-%1f
 *   %7f`) are refused anywhere in the URL, query included.
 */
import { createIsolateWeakCache } from "../isolate-cache.ts";

/** Longer candidates are refused before any parsing; real return URLs are far shorter. */
export const RETURN_URL_MAX_LENGTH = 2048;

/** Hosts for which an allow-list entry may use plain `http` (local development). */
export const LOCAL_HTTP_HOSTS: readonly string[] = ["localhost", "127.0.0.1"];

export type ReturnUrlRejection =
  | { kind: "no_allow_list" }
  | { kind: "too_long"; max: number }
  | { kind: "control_character" }
  | { kind: "whitespace" }
  | { kind: "backslash" }
  | { kind: "non_ascii" }
  | { kind: "disallowed_character"; char: string }
  | { kind: "malformed_percent_encoding" }
  | { kind: "encoded_delimiter" }
  | { kind: "not_absolute" }
  | { kind: "scheme_not_allowed" }
  | { kind: "fragment" }
  | { kind: "malformed_authority" }
  | { kind: "userinfo" }
  | { kind: "unparseable" }
  | { kind: "host_not_canonical" }
  | { kind: "dot_segment" }
  | { kind: "empty_path_segment" }
  | { kind: "not_canonical" }
  | { kind: "host_not_allowed" }
  | { kind: "scheme_mismatch" }
  | { kind: "port_not_allowed" }
  | { kind: "path_not_allowed" };

export type ReturnUrlResult = { ok: true; url: string } | { ok: false; reason: ReturnUrlRejection };

/** The public message for a rejection. One exhaustive switch: a new reason without a message fails to compile. */
export function returnUrlRejectionMessage(reason: ReturnUrlRejection): string {
  switch (reason.kind) {
    case "no_allow_list":
      return "this tenant allows no return_url (its return_urls list is empty)";
    case "too_long":
      return `it must be at most ${reason.max} characters`;
    case "control_character":
      return "it must not contain control characters (tabs, newlines, NUL…)";
    case "whitespace":
      return "it must not contain spaces";
    case "backslash":
      return "it must not contain backslashes";
    case "non_ascii":
      return "it must be ASCII: percent-encode the path and query, write IDN hosts in punycode (xn--)";
    case "disallowed_character":
      return `it must not contain the character ${JSON.stringify(reason.char)}`;
    case "malformed_percent_encoding":
      return "it has a malformed percent-encoding (% must be followed by two hex digits)";
    case "encoded_delimiter":
      return "it must not contain encoded dots, slashes, backslashes, percents or control characters (%2e, %2f, %5c, %25, %00-%1f, %7f)";
    case "not_absolute":
      return "it must be an absolute URL (https://host/path)";
    case "scheme_not_allowed":
      return "its scheme must be https (http only for allow-listed localhost or 127.0.0.1 entries)";
    case "fragment":
      return "it must not have a fragment (#)";
    case "malformed_authority":
      return "it must start with scheme://host[:port] and a plain host name or IP literal";
    case "userinfo":
      return "it must not contain userinfo (user:password@)";
    case "unparseable":
      return "it is not a valid URL";
    case "host_not_canonical":
      return "its host must be written in canonical form (lowercase name, dotted-quad IPv4, punycode IDN)";
    case "dot_segment":
      return "its path must not contain dot-segments (. or ..)";
    case "empty_path_segment":
      return "its path must not contain empty segments (//)";
    case "not_canonical":
      return "its path must be in canonical form";
    case "host_not_allowed":
      return "its host is not in the tenant's return_urls";
    case "scheme_mismatch":
      return "its scheme does not match the tenant's return_urls entry for that host";
    case "port_not_allowed":
      return "its port does not match the tenant's return_urls entry for that host";
    case "path_not_allowed":
      return "its path is not under a path of the tenant's return_urls";
  }
}

/** RFC 3986 characters: unreserved, reserved and `%`. Everything else is refused. */
const URI_CHAR = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** A registered name or dotted IPv4, or a bracketed IPv6 literal; an optional port without leading zeros. */
const AUTHORITY = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([1-9][0-9]{0,4}))?$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
/** Encoded `.`, `/`, `\`, `%`, C0 controls and DEL. */
const ENCODED_DELIMITER = /%(?:2e|2f|5c|25|[01][0-9a-f]|7f)/i;

interface StrictUrl {
  url: URL;
  /** The path exactly as written (no query), "" when absent. */
  rawPath: string;
  /** Whether a `?` was written. */
  hasQuery: boolean;
}

function characterRejection(candidate: string): ReturnUrlRejection | undefined {
  for (const char of candidate) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return { kind: "control_character" };
    if (code === 0x20) return { kind: "whitespace" };
    if (code > 0x7e) return { kind: "non_ascii" };
    if (char === "\\") return { kind: "backslash" };
    if (!URI_CHAR.test(char)) return { kind: "disallowed_character", char };
  }
  return undefined;
}

function pathRejection(rawPath: string): ReturnUrlRejection | undefined {
  const segments = rawPath.split("/").slice(1);
  for (const [i, segment] of segments.entries()) {
    // `..;x` is `..` to servlet containers (path parameters), so it counts as a dot-segment too.
    const bare = segment.split(";")[0];
    if (bare === "." || bare === "..") return { kind: "dot_segment" };
    if (segment === "" && i < segments.length - 1) return { kind: "empty_path_segment" };
  }
  return undefined;
}

/**
 * Parses a URL that is already in the canonical form we accept, or says why it is not. Shared by
 * candidates and allow-list entries, so both are read the same way.
 */
function parseStrict(candidate: string): { ok: true; value: StrictUrl } | { ok: false; reason: ReturnUrlRejection } {
  const fail = (reason: ReturnUrlRejection) => ({ ok: false as const, reason });
  if (candidate.length > RETURN_URL_MAX_LENGTH) return fail({ kind: "too_long", max: RETURN_URL_MAX_LENGTH });
  const charIssue = characterRejection(candidate);
  if (charIssue) return fail(charIssue);
  const scheme = SCHEME.exec(candidate)?.[1]?.toLowerCase();
  if (scheme === undefined) return fail({ kind: "not_absolute" });
  if (scheme !== "https" && scheme !== "http") return fail({ kind: "scheme_not_allowed" });
  if (candidate.includes("#")) return fail({ kind: "fragment" });
  if (BAD_PERCENT.test(candidate)) return fail({ kind: "malformed_percent_encoding" });
  if (ENCODED_DELIMITER.test(candidate)) return fail({ kind: "encoded_delimiter" });

  // `https:host`, `https:/host` and `https:///host` all parse as `https://host/`: refuse them.
  const rest = candidate.slice(scheme.length + 1);
  if (!rest.startsWith("//")) return fail({ kind: "malformed_authority" });
  const afterSlashes = rest.slice(2);
  const authorityEnd = afterSlashes.search(/[/?]/);
  const authority = authorityEnd === -1 ? afterSlashes : afterSlashes.slice(0, authorityEnd);
  const pathAndQuery = authorityEnd === -1 ? "" : afterSlashes.slice(authorityEnd);
  if (authority.includes("@")) return fail({ kind: "userinfo" });
  const authorityMatch = AUTHORITY.exec(authority);
  if (!authorityMatch) return fail({ kind: "malformed_authority" });

  const queryStart = pathAndQuery.indexOf("?");
  const rawPath = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? "" : pathAndQuery.slice(queryStart);
  // Brackets are legal only around an IPv6 literal.
  const bracket = /[[\]]/.exec(rawPath + rawQuery)?.[0];
  if (bracket !== undefined) return fail({ kind: "disallowed_character", char: bracket });

  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return fail({ kind: "unparseable" });
  }
  if (url.username !== "" || url.password !== "") return fail({ kind: "userinfo" });
  // Numeric IPv4 forms (2130706433, 0x7f.1, 127.1) and other host rewrites are refused, not followed.
  if ((authorityMatch[1] ?? "").toLowerCase() !== url.hostname) return fail({ kind: "host_not_canonical" });
  const pathIssue = pathRejection(rawPath);
  if (pathIssue) return fail(pathIssue);
  if (url.pathname !== (rawPath === "" ? "/" : rawPath)) return fail({ kind: "not_canonical" });
  return { ok: true, value: { url, rawPath, hasQuery: queryStart !== -1 } };
}

/** An allow-list entry, read: the scheme, host and port must match exactly, the path is a prefix. */
export interface AllowListEntry {
  protocol: "https:" | "http:";
  hostname: string;
  port: string;
  /** The entry's path without its trailing slash ("" for the root). */
  pathPrefix: string;
}

/**
 * Reads one `return_urls` entry, or says what is wrong with it (for config validation): it must be a
 * canonical absolute https URL (http only for localhost/127.0.0.1), without userinfo, query or fragment.
 */
export function parseAllowListEntry(entry: string): { ok: true; entry: AllowListEntry } | { ok: false; problem: string } {
  const parsed = parseStrict(entry);
  if (!parsed.ok) {
    if (parsed.reason.kind === "scheme_not_allowed" || parsed.reason.kind === "not_absolute") {
      return { ok: false, problem: "must be an absolute https URL (http only for localhost/127.0.0.1)" };
    }
    if (parsed.reason.kind === "fragment") return { ok: false, problem: "must not have a fragment (#)" };
    return { ok: false, problem: `must be an absolute https URL in canonical form: ${returnUrlRejectionMessage(parsed.reason)}` };
  }
  const { url, hasQuery } = parsed.value;
  const local = LOCAL_HTTP_HOSTS.includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    return { ok: false, problem: "must be an absolute https URL (http only for localhost/127.0.0.1)" };
  }
  if (hasQuery) return { ok: false, problem: "must not have a query: the entry's path is the allowed prefix" };
  return {
    ok: true,
    entry: {
      protocol: url.protocol === "https:" ? "https:" : "http:",
      hostname: url.hostname,
      port: url.port,
      pathPrefix: url.pathname.replace(/\/$/, ""),
    },
  };
}

// A tenant's allow-list is one array for the life of its registry entry: parse its entries once. The
// memo keeps a copy of the strings it read, so a list changed in place is read again.
interface ReadList {
  source: readonly string[];
  entries: readonly AllowListEntry[];
  /**
   * URLs this list accepted, with what to forward: a tenant's frontend sends the same return_url on
   * every create, and the check is a pure function of the URL and the list. Refusals are not kept
   * (they are rare, and junk must not fill it).
   */
  accepted: Map<string, string>;
}
const readLists = createIsolateWeakCache<readonly string[], ReadList>();
/** Accepted URLs remembered per list; when full it starts again (one tenant has a handful). */
const MAX_ACCEPTED_PER_LIST = 64;

/** The valid entries of an allow-list; invalid ones (the config check reports them) never match. */
function readAllowList(allowList: readonly string[]): ReadList {
  const memo = readLists.get(allowList);
  if (memo && memo.source.length === allowList.length && memo.source.every((s, i) => s === allowList[i])) return memo;
  const entries = allowList.flatMap((raw) => {
    const read = parseAllowListEntry(raw);
    return read.ok ? [read.entry] : [];
  });
  const list: ReadList = { source: [...allowList], entries, accepted: new Map() };
  readLists.set(allowList, list);
  return list;
}

/** `path` equals `prefix` or continues it after a `/`: `/done` is under `/done`, `/done-evil` is not. */
function isUnderPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** How far a candidate got against one entry; the furthest stage names the most useful reason. */
const STAGES = ["host_not_allowed", "scheme_mismatch", "port_not_allowed", "path_not_allowed"] as const;

/**
 * Checks a caller's `return_url` against the tenant's allow-list. Accepts only a canonical absolute URL
 * whose scheme, host and port equal an entry's and whose path is under the entry's path on a segment
 * boundary; returns the URL as the WHATWG parser serializes it (lowercase scheme and host, default
 * port dropped, query percent-encoded), which is what must be forwarded. Entries that are themselves
 * invalid never match.
 */
export function checkReturnUrl(candidate: string, allowList: readonly string[]): ReturnUrlResult {
  if (allowList.length === 0) return { ok: false, reason: { kind: "no_allow_list" } };
  const list = readAllowList(allowList);
  const known = list.accepted.get(candidate);
  if (known !== undefined) return { ok: true, url: known };
  const parsed = parseStrict(candidate);
  if (!parsed.ok) return parsed;
  const { url } = parsed.value;
  let furthest = 0;
  for (const entry of list.entries) {
    let stage: number;
    if (url.hostname !== entry.hostname) stage = 0;
    else if (url.protocol !== entry.protocol) stage = 1;
    else if (url.port !== entry.port) stage = 2;
    else if (!isUnderPrefix(url.pathname, entry.pathPrefix)) stage = 3;
    else {
      if (list.accepted.size >= MAX_ACCEPTED_PER_LIST) list.accepted.clear();
      list.accepted.set(candidate, url.href);
      return { ok: true, url: url.href };
    }
    furthest = Math.max(furthest, stage);
  }
  return { ok: false, reason: { kind: STAGES[furthest] ?? "host_not_allowed" } };
}
