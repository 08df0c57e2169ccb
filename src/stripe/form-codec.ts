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
 * Parses an `application/x-www-form-urlencoded` body or a query string with Stripe's bracket notation
 * (`a[b][0]=x`, `a[b][]=x`, repeated keys). Refuses malformed percent-encoding, excessive depth,
 * arrays and parameter counts instead of silently reshaping them. Prototype keys are dropped.
 */
export function parseForm(text: string): DecodeResult {
  try {
    const parsed = qs.parse(text, {
      depth: CODEC_LIMITS.depth,
      strictDepth: true,
      arrayLimit: CODEC_LIMITS.arrayLimit,
      parameterLimit: CODEC_LIMITS.parameterLimit,
      throwOnLimitExceeded: true,
      allowPrototypes: false,
      allowDots: false,
      decoder: strictDecode,
    }) as Params;
    return { ok: true, params: parsed };
  } catch {
    return { ok: false, reason: "The request body or query string could not be decoded." };
  }
}

/** Keys form encoding cannot carry as one key: brackets would become structure upstream, "" an array. */
const UNENCODABLE_KEY = /[[\]]|^$/;
/** Half a UTF-16 surrogate pair: it has no UTF-8 encoding (a form body could not carry it either). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Converts a parsed JSON body into form-shaped params: numbers and booleans become the strings Stripe
 * would have received in a form; `null`, other non-representable values and keys or strings that the
 * form encoding would change (brackets in a key, an empty key, lone surrogates) are refused, so what is
 * validated is exactly what reaches Stripe.
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
      const out: Params = {};
      for (const [k, item] of Object.entries(v)) {
        if (k === "__proto__" || k === "constructor" || k === "prototype") continue;
        if (UNENCODABLE_KEY.test(k) || LONE_SURROGATE.test(k)) return undefined;
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

/**
 * Encodes params the way Stripe's SDKs do: indexed brackets (`a[b][0]=x`), brackets left readable,
 * everything else percent-encoded. The result is what goes upstream.
 */
export function encodeForm(params: Params): string {
  return qs.stringify(params, { arrayFormat: "indices", encodeValuesOnly: false }).replace(/%5B/g, "[").replace(/%5D/g, "]");
}

/** Renders a parameter path in Stripe's bracket notation: `["options","document","allowed_types",0]` → `options[document][allowed_types][0]`. */
export function bracketPath(path: readonly (string | number)[]): string {
  const [head, ...rest] = path;
  return `${String(head ?? "")}${rest.map((p) => `[${String(p)}]`).join("")}`;
}
