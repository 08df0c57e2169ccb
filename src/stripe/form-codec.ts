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

/** A params object without a prototype: any key, `__proto__` and `constructor` included, is plain data. */
export function emptyParams(): Params {
  return Object.create(null) as Params;
}

/** Keys form encoding cannot carry as one key: brackets would become structure upstream, "" an array. */
const UNENCODABLE_KEY = /[[\]]|^$/;
/** Half a UTF-16 surrogate pair: it has no UTF-8 encoding (a form body could not carry it either). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

type Node = string | Node[] | { [key: string]: Node };

/** A body the decoder refuses; `parseForm` turns it into one message, whatever the cause. */
class Undecodable extends Error {}

function strictDecode(str: string): string {
  // `+` is a space in form encoding; decodeURIComponent throws on malformed escapes and lone
  // surrogates, which is exactly what we want to refuse.
  if (!str.includes("%")) return str.includes("+") ? str.replace(/\+/g, " ") : str;
  try {
    return decodeURIComponent(str.replace(/\+/g, " "));
  } catch {
    throw new Undecodable();
  }
}

/** A decoded key is a name and bracketed segments, nothing else: `a]b`, `a[b`, `a[b[c]` have no reading both sides share. */
const KEY_SHAPE = /^[^[\]]+(?:\[[^[\]]*\])*$/;
/** An array index as Stripe's SDKs write it: decimal, no sign, no leading zero, exact as a number (qs's test too). */
const isIndex = (segment: string): boolean => /^(?:0|[1-9]\d*)$/.test(segment) && String(Number(segment)) === segment;

/** `a[b][0][]` → `["a", "b", "0", ""]`; refuses what `KEY_SHAPE` does not describe and too deep a nesting. */
function keySegments(key: string): string[] {
  // A NUL is refused too: nothing Stripe reads as a key holds one.
  if (!KEY_SHAPE.test(key) || key.includes("\u0000")) throw new Undecodable();
  const open = key.indexOf("[");
  if (open === -1) return [key];
  const segments = [key.slice(0, open), ...key.slice(open + 1, -1).split("][")];
  if (segments.length - 1 > CODEC_LIMITS.depth) throw new Undecodable();
  return segments;
}

/** Builds the value one key gives, innermost first: `[]` wraps in an array, an index places in a sparse one. */
function nest(segments: string[], leaf: string | string[]): Node {
  let value: Node = leaf;
  for (let i = segments.length - 1; i >= 1; i--) {
    const segment = segments[i] as string;
    if (segment === "") value = Array.isArray(value) ? value.slice() : [value];
    else if (isIndex(segment)) {
      const index = Number(segment);
      if (index >= CODEC_LIMITS.arrayLimit) throw new Undecodable();
      const array: Node[] = [];
      array[index] = value;
      value = array;
    } else {
      const object = emptyParams() as { [key: string]: Node };
      object[segment] = value;
      value = object;
    }
  }
  return value;
}

/** Elements of a sparse array (`reduce` skips the holes indexes left). */
const countElements = (array: Node[]): number => array.reduce((n) => n + 1, 0);

/**
 * Merges what a later key gives into what earlier keys built: hashes by key; arrays by index, a value
 * at a taken index appended (`a[0]=x&a[]=y` is `[x, y]`). A path that is both a value and a hash or
 * array, or both an array and a hash, has no single reading and is refused.
 */
function merge(target: Node, source: Node): Node {
  if (Array.isArray(target) && Array.isArray(source)) {
    source.forEach((item, i) => {
      if (!(i in target)) target[i] = item;
      else {
        const existing = target[i] as Node;
        if (typeof existing === "string" && typeof item === "string") target[target.length] = item;
        else if (typeof existing !== "string" && typeof item !== "string") target[i] = merge(existing, item);
        else throw new Undecodable();
      }
    });
    if (countElements(target) > CODEC_LIMITS.arrayLimit) throw new Undecodable();
    return target;
  }
  if (typeof target !== "object" || typeof source !== "object" || Array.isArray(target) || Array.isArray(source)) {
    throw new Undecodable();
  }
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    target[key] = existing === undefined ? value : merge(existing, value);
  }
  return target;
}

/** Drops the holes indexes left (`a[5]=x` is `[x]`), keeping index order. */
function compact(value: Node): ParamValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const out: ParamValue[] = [];
    // No element is ever `undefined`: only holes read as such.
    for (const item of value) if (item !== undefined) out.push(compact(item));
    return out;
  }
  for (const key of Object.keys(value)) value[key] = compact(value[key] as Node) as Node;
  return value as Params;
}

/**
 * Reads a body the way the qs-based decoder before issue 18 did (qs 6 with `CODEC_LIMITS`, strict depth,
 * limits as errors), which test/unit/form-codec-oracle.test.ts checks against qs itself. Where qs
 * guessed, this refuses: a key with no name (`[a]=1`), one path as a value and as a hash or array
 * (`a=1&a[b]=2`, `metadata[a]=1&metadata=`), one path as an array and as a hash (`a[0]=x&a[b]=y`).
 */
function decodeForm(text: string): Params {
  // Stripe decodes a key before reading its brackets, so an encoded bracket is structure. (Values
  // decode to the same text either way, so the whole body is rewritten, as qs did.)
  const body = /%5[bd]/i.test(text) ? text.replace(/%5B/gi, "[").replace(/%5D/gi, "]") : text;
  const parts = body.split("&", CODEC_LIMITS.parameterLimit + 1);
  if (parts.length > CODEC_LIMITS.parameterLimit) throw new Undecodable();
  // Repeated keys collect their values in order (`a=1&a=2` is `["1", "2"]`), like qs and Stripe's SDKs' arrays.
  const values = emptyParams() as { [key: string]: string | string[] };
  for (const part of parts) {
    // `a[x=y]=1`: an `=` inside a bracket belongs to the key.
    const bracketEquals = part.indexOf("]=");
    const eq = bracketEquals === -1 ? part.indexOf("=") : bracketEquals + 1;
    const key = strictDecode(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? "" : strictDecode(part.slice(eq + 1));
    if (key === "") continue;
    const seen = values[key];
    if (seen === undefined) values[key] = value;
    else if (typeof seen === "string") values[key] = [seen, value];
    else if (seen.length >= CODEC_LIMITS.arrayLimit) throw new Undecodable();
    else seen.push(value);
  }
  const root = emptyParams() as { [key: string]: Node };
  for (const [key, leaf] of Object.entries(values)) {
    const segments = keySegments(key);
    const name = segments[0] as string;
    const value = nest(segments, leaf);
    const existing = root[name];
    root[name] = existing === undefined ? value : merge(existing, value);
  }
  return compact(root) as Params;
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
    return { ok: true, params: decodeForm(text) };
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

/** The sub-delimiters encodeURIComponent leaves as they are and RFC 3986 encoding does not. */
const SUB_DELIMS = /[!'()*]/;
const SUB_DELIMS_ALL = /[!'()*]/g;

/** RFC 3986 percent-encoding (what Stripe's SDKs send): encodeURIComponent leaves `!'()*` as they are. */
function encodeComponent(s: string): string {
  const encoded = encodeURIComponent(s);
  // Most values hold none of the five: skip the replace (and its callback) then.
  return SUB_DELIMS.test(encoded)
    ? encoded.replace(SUB_DELIMS_ALL, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    : encoded;
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
