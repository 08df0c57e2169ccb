import qs from "qs";

/**
 * Request parameters as Stripe sees them: form encoding has only strings, so every leaf is a string,
 * arrays and nested objects come from bracket notation. JSON bodies are normalized into the same shape
 * (see `paramsFromJson`) so that validation and policy have one representation to reason about.
 */
export type ParamValue = string | ParamValue[] | Params;
export interface Params {
  [key: string]: ParamValue;
}

/** Limits that keep a hostile body from costing more than a normal one. */
export const CODEC_LIMITS = {
  /** Bracket nesting: the deepest Identity parameter is `options[document][allowed_types][0]`. */
  depth: 6,
  /** Indexed arrays above this become an error rather than an object with numeric keys. */
  arrayLimit: 100,
  /** Parameters per request; Stripe's own requests are far below this. */
  parameterLimit: 500,
} as const;

export type DecodeResult = { ok: true; params: Params } | { ok: false; reason: string };

function strictDecode(str: string): string {
  // `+` is a space in form encoding; decodeURIComponent throws on malformed escapes and lone
  // surrogates, which is exactly what we want to refuse.
  return decodeURIComponent(str.replace(/\+/g, " "));
}

/**
 * qs drops a `__proto__` key whatever its options (it guards plain objects), so the key decoder hands
 * it over under this stand-in and `restorePrototypeKeys` puts the real name back. A NUL cannot come
 * from a form key otherwise: decoded keys containing one are refused.
 */
const PROTO_STANDIN = "\u0000proto\u0000";
const PROTO_SEGMENT = /(^|\[)__proto__(?=\]|\[|$)/g;
/** A decoded key is a name and bracketed segments, nothing else: `a]b`, `a[b`, `a[b[c]` have no reading both sides share. */
const KEY_SHAPE = /^[^[\]]*(?:\[[^[\]]*\])*$/;

function decodeKey(str: string): string {
  const key = strictDecode(str);
  if (key.includes("\u0000") || !KEY_SHAPE.test(key)) throw new Error("undecodable key");
  return key.replace(PROTO_SEGMENT, `$1${PROTO_STANDIN}`);
}

/** A params object without a prototype: any key, `__proto__` and `constructor` included, is plain data. */
export function emptyParams(): Params {
  return Object.create(null) as Params;
}

/** Keys form encoding cannot carry as one key: brackets would become structure upstream, "" an array. */
const UNENCODABLE_KEY = /[[\]]|^$/;
/** Half a UTF-16 surrogate pair: it has no UTF-8 encoding (a form body could not carry it either). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Walks what qs produced: restores `__proto__` keys (as data, on null-prototype objects) and refuses
 * a key that still holds a bracket. Stripe decodes a key before reading its brackets, so
 * `metadata[a%5Bb]` is structure there, not the one key `a[b`: what the proxy validates must be what
 * Stripe reads, and there is no form encoding of such a key.
 */
function restorePrototypeKeys(value: ParamValue): ParamValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(restorePrototypeKeys);
  const out = emptyParams();
  for (const [k, v] of Object.entries(value)) {
    const key = k === PROTO_STANDIN ? "__proto__" : k;
    if (/[[\]]/.test(key) || key.includes("\u0000")) throw new Error("bracket in a key");
    out[key] = restorePrototypeKeys(v);
  }
  return out;
}

/**
 * Parses an `application/x-www-form-urlencoded` body or a query string with Stripe's bracket notation
 * (`a[b][0]=x`, `a[b][]=x`, repeated keys). Refuses malformed percent-encoding, excessive depth,
 * arrays and parameter counts, and keys with an encoded bracket, instead of silently reshaping them.
 * Keys named like Object.prototype members (`constructor`, `toString`, `__proto__`) are kept as data
 * on null-prototype objects: a metadata key is the caller's data, never dropped.
 */
export function parseForm(text: string): DecodeResult {
  try {
    const parsed = qs.parse(text, {
      depth: CODEC_LIMITS.depth,
      strictDepth: true,
      arrayLimit: CODEC_LIMITS.arrayLimit,
      parameterLimit: CODEC_LIMITS.parameterLimit,
      throwOnLimitExceeded: true,
      plainObjects: true,
      allowPrototypes: true,
      allowDots: false,
      decoder: (str, _default, _charset, type) => (type === "key" ? decodeKey(str) : strictDecode(str)),
    }) as Params;
    return { ok: true, params: restorePrototypeKeys(parsed) as Params };
  } catch {
    return { ok: false, reason: "The request body or query string could not be decoded." };
  }
}

/**
 * Converts a parsed JSON body into form-shaped params: numbers and booleans become the strings Stripe
 * would have received in a form; `null`, other non-representable values and keys or strings that the
 * form encoding would change (brackets in a key, an empty key, lone surrogates) are refused, so what is
 * validated is exactly what reaches Stripe. Keys named like Object.prototype members are kept.
 */
export function paramsFromJson(value: unknown): DecodeResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "A JSON request body must be an object." };
  }
  let count = 0;
  const convert = (v: unknown, depth: number): ParamValue | undefined => {
    if (++count > CODEC_LIMITS.parameterLimit || depth > CODEC_LIMITS.depth) return undefined;
    if (typeof v === "string") return LONE_SURROGATE.test(v) ? undefined : v;
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return Number.isFinite(v) ? String(v) : undefined;
    if (Array.isArray(v)) {
      if (v.length > CODEC_LIMITS.arrayLimit) return undefined;
      const out: ParamValue[] = [];
      for (const item of v) {
        const c = convert(item, depth + 1);
        if (c === undefined) return undefined;
        out.push(c);
      }
      return out;
    }
    if (typeof v === "object" && v !== null) {
      const out = emptyParams();
      // JSON.parse makes `"__proto__"` an own data property, so Object.entries sees it like any key.
      for (const [k, item] of Object.entries(v)) {
        if (UNENCODABLE_KEY.test(k) || LONE_SURROGATE.test(k) || k.includes("\u0000")) return undefined;
        const c = convert(item, depth + 1);
        if (c === undefined) return undefined;
        out[k] = c;
      }
      return out;
    }
    return undefined;
  };
  const params = convert(value, 0);
  if (params === undefined || typeof params !== "object" || Array.isArray(params)) {
    return {
      ok: false,
      reason:
        "The JSON request body has a value that cannot be sent to Stripe (null, a key with brackets, invalid Unicode, too deep or too large).",
    };
  }
  return { ok: true, params };
}

/** RFC 3986 percent-encoding (what Stripe's SDKs send): encodeURIComponent leaves `!'()*` as they are. */
function encodeComponent(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Encodes params the way Stripe's SDKs do: indexed brackets (`a[b][0]=x`), structural brackets left
 * readable, everything else percent-encoded, including a bracket inside a key, so that no key's text
 * can turn into structure. Empty arrays and hashes send nothing (as qs and the SDKs). The result is
 * what goes upstream.
 */
export function encodeForm(params: Params): string {
  const pairs: string[] = [];
  const walk = (value: ParamValue, path: string): void => {
    if (typeof value === "string") pairs.push(`${path}=${encodeComponent(value)}`);
    else if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, `${path}[${i}]`);
    } else for (const [k, v] of Object.entries(value)) walk(v, `${path}[${encodeComponent(k)}]`);
  };
  for (const [k, v] of Object.entries(params)) walk(v, encodeComponent(k));
  return pairs.join("&");
}

/** Renders a parameter path in Stripe's bracket notation: `["options","document","allowed_types",0]` → `options[document][allowed_types][0]`. */
export function bracketPath(path: readonly (string | number)[]): string {
  const [head, ...rest] = path;
  return `${String(head ?? "")}${rest.map((p) => `[${String(p)}]`).join("")}`;
}
