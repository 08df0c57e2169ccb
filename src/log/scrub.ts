import { type DecodedLayer, type DecodeKinds, decodeBase64Latin1, decodeOnce } from "./decode.ts";
import { mayContainSecret, SECRET_PATTERNS, type SecretKind } from "./secret-patterns.ts";
import { createIsolateCache } from "../isolate-cache.ts";

/**
 * The value scrubber: every string that reaches a log line passes through `scrubString`. It masks
 * credentials and personal data (see secret-patterns.ts) wherever they sit in the string, in their
 * raw form and in the encoded forms a log string carries them in:
 *
 * - Percent-encoded and JSON/JS-escaped (`sk_test%5F…`, `a%40b.com`, `https:\/\/verify…`,
 *   `\u005f`), nested up to three levels (`%255F`): the string is decoded (percent only, escapes
 *   only, and both: they differ when one's characters touch the other's) with a map back to the
 *   original, scanned again, and what matched is masked in the original, encoding included. Deeper
 *   nesting that still hides a secret masks the whole string: it cannot be located cheaply and no
 *   honest log string looks like that.
 * - Base64 / base64url (decided: yes, cheaply). A run of 12+ base64 characters is decoded at its four
 *   possible alignments and masked whole if the decoded bytes match a pattern (`Basic c2tf…`, an
 *   encoded JSON blob holding a client secret). Decoded text is scanned with the patterns only, not
 *   decoded again.
 * - Known limit: a stray `%` or `\` glued right before an *encoded* secret is ambiguous (`%4` +
 *   `Be%61rer` reads as `Kearer`), and the secret's start may be lost in every decoding. A raw secret
 *   is caught whatever precedes it; log strings do not glue stray escapes to encoded secrets.
 *
 * Cost is linear in the input: every pattern is linear by construction, decoding is a single pass per
 * level and levels are bounded; strings longer than MAX_SCANNED_STRING are cut first. The trade-off is
 * over-masking: a whole URL, a whole base64 run, or the rest of a line after `dob:` is masked rather
 * than reconstructed, and a few innocent strings look like secrets (`+15555550100`-like numbers). Ids
 * such as `req_…`, `vs_…`, `acct_…`, route templates and timestamps are never masked.
 */

/** The longest string a log line carries (per field); longer ones end with TRUNCATION_MARK. */
export const MAX_LOGGED_STRING = 2048;
/** Only this much of a string is scanned: enough to fill a logged string even after heavy masking. */
export const MAX_SCANNED_STRING = 4 * MAX_LOGGED_STRING;
export const TRUNCATION_MARK = "…[truncated]";
/** The smallest cap: room for a few characters and the mark. */
const MIN_CAP = TRUNCATION_MARK.length + 4;

/** Nested encodings decoded with a map back to the original (`%255F` needs two). */
const MAPPED_DECODE_LEVELS = 3;
const BOTH: DecodeKinds = { percent: true, escapes: true };
const DECODE_KINDS: readonly DecodeKinds[] = [{ percent: true, escapes: false }, { percent: false, escapes: true }, BOTH];
/** Further levels checked, without a map, before giving up on a string that keeps decoding. */
const EXTRA_DECODE_LEVELS = 8;
const BASE64_RUN = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}/g;
/** A cut long string ends at one of these, so no secret is cut into a piece its pattern misses. */
const DELIMITER = /[\s"'<>,;()[\]{}]/;

type MaskKind = SecretKind | "encoded";

interface Span {
  start: number;
  end: number;
  kind: MaskKind;
}

/**
 * Masks secrets and personal data in `value` and caps its length at `maxLength` (at least 16).
 * Guarantees: no match of a pattern in secret-patterns.ts, raw or encoded as above, survives; the
 * result is at most `maxLength` characters; scrubbing a scrubbed string changes nothing.
 */
export function scrubString(value: string, maxLength: number = MAX_LOGGED_STRING): string {
  const cap = Math.max(MIN_CAP, Math.floor(maxLength));
  let input = String(value);
  const memoizable = input.length <= MEMO_MAX_LENGTH && input.length <= cap;
  if (memoizable && KNOWN_CLEAN.has(input)) return input;
  let truncated = false;
  if (input.length > MAX_SCANNED_STRING) {
    input = cutAtDelimiter(input, MAX_SCANNED_STRING);
    truncated = true;
  }
  let out = maskSecrets(input);
  if (out.length > cap) {
    out = out.slice(0, cap - TRUNCATION_MARK.length);
    truncated = true;
  } else if (truncated && out.length + TRUNCATION_MARK.length > cap) {
    out = out.slice(0, cap - TRUNCATION_MARK.length);
  }
  if (truncated && /[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  if (memoizable && out === input) rememberClean(input);
  return truncated ? out + TRUNCATION_MARK : out;
}

/**
 * Short strings already found clean (tenant ids, route templates, operation names, codes): most of
 * an access line repeats from request to request, and scanning it again costs more than a lookup.
 * Only clean strings are kept, so no secret is retained here.
 */
const MEMO_MAX_LENGTH = 256;
const MEMO_MAX_ENTRIES = 1024;
const KNOWN_CLEAN = createIsolateCache<string, true>({ maxEntries: MEMO_MAX_ENTRIES });

function rememberClean(value: string): void {
  KNOWN_CLEAN.set(value, true);
}

/** Masks every secret in `value`, at any length (no truncation). Linear time. */
export function maskSecrets(value: string): string {
  const spans: Span[] = [];
  collectSpans(value, null, spans);
  // Three chains of decoding, level by level: percent only, escapes only, and both. They differ when
  // one encoding's characters touch the other's (`\b%65arer` is `\bearer` to the first and a
  // backspace then `earer` to the others). Three chains, not every mix of them: bounded work.
  const seen = new Set([value]);
  let unfinished = false;
  for (const kinds of DECODE_KINDS) {
    let text = value;
    let map: readonly number[] | null = null;
    for (let level = 0; level < MAPPED_DECODE_LEVELS; level++) {
      const decoded: DecodedLayer | null = decodeOnce(text, kinds);
      if (decoded === null) break;
      const prev: readonly number[] | null = map;
      map = prev === null ? decoded.map : decoded.map.map((i) => prev[i] ?? value.length);
      text = decoded.text;
      if (!seen.has(text)) {
        seen.add(text);
        collectSpans(text, map, spans);
      }
      if (level === MAPPED_DECODE_LEVELS - 1) unfinished = true;
    }
  }
  // Still decoding after the mapped levels: follow the decode-everything chain deeper, without a
  // map; a hit there masks the whole string.
  if (unfinished) {
    let text = value;
    for (let level = 0; level < MAPPED_DECODE_LEVELS + EXTRA_DECODE_LEVELS; level++) {
      const decoded = decodeOnce(text, BOTH);
      if (decoded === null) break;
      if (level >= MAPPED_DECODE_LEVELS && hasSecret(decoded.text)) return "[redacted:encoded]";
      text = decoded.text;
    }
  }
  return applySpans(value, spans);
}

/** Whether `value` holds anything `maskSecrets` would mask. */
export function containsSecret(value: string): boolean {
  return maskSecrets(value) !== value;
}

/** Finds pattern matches (and base64 runs hiding one) in `text`, as spans of the original string. */
function collectSpans(text: string, map: readonly number[] | null, out: Span[]): void {
  const push = (start: number, end: number, kind: MaskKind) => {
    const s = map === null ? start : (map[start] ?? start);
    const e = map === null ? end : (map[end] ?? end);
    if (e > s) out.push({ start: s, end: e, kind });
  };
  if (mayContainSecret(text)) {
    for (const { kind, re, resumeAfter } of SECRET_PATTERNS) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const [start, end] = m.indices?.groups?.v ?? m.indices?.[0] ?? [m.index, m.index + m[0].length];
        push(start, end, kind);
        if (resumeAfter !== undefined) re.lastIndex = m.index + m[0].indexOf(resumeAfter) + 1;
      }
    }
  }
  BASE64_RUN.lastIndex = 0;
  for (let m = BASE64_RUN.exec(text); m !== null; m = BASE64_RUN.exec(text)) {
    if (base64HidesSecret(m[0])) push(m.index, m.index + m[0].length, "encoded");
  }
}

function base64HidesSecret(run: string): boolean {
  for (let offset = 0; offset < 4; offset++) {
    if (hasSecret(decodeBase64Latin1(run, offset))) return true;
  }
  return false;
}

/** Whether a pattern matches `text` itself (no decoding). */
function hasSecret(text: string): boolean {
  if (!mayContainSecret(text)) return false;
  for (const { re } of SECRET_PATTERNS) {
    re.lastIndex = 0;
    const hit = re.test(text);
    re.lastIndex = 0;
    if (hit) return true;
  }
  return false;
}

function applySpans(value: string, spans: Span[]): string {
  if (spans.length === 0) return value;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = "";
  let pos = 0;
  let current: Span | undefined;
  for (const span of spans) {
    if (current !== undefined && span.start <= current.end) {
      current.end = Math.max(current.end, span.end);
      continue;
    }
    if (current !== undefined) {
      out += `${value.slice(pos, current.start)}[redacted:${current.kind}]`;
      pos = current.end;
    }
    current = { ...span };
  }
  if (current !== undefined) {
    out += `${value.slice(pos, current.start)}[redacted:${current.kind}]`;
    pos = current.end;
  }
  return out + value.slice(pos);
}

/** The longest prefix of `value` shorter than `limit` that ends just before a delimiter ("" if none). */
function cutAtDelimiter(value: string, limit: number): string {
  for (let i = Math.min(limit, value.length) - 1; i >= 0; i--) {
    if (DELIMITER.test(value[i] as string)) return value.slice(0, i);
  }
  return "";
}
