import qs from "qs";

/**
 * Request parameters as the stub reads them: form encoding carries only strings; arrays and nested
 * objects come from Stripe's bracket notation. The stub's own type and decoder (qs, used directly), so
 * nothing here is shared with the proxy's codec: where the two disagree, the tests see it.
 */
export type FormValue = string | FormValue[] | FormParams;
export interface FormParams {
  [key: string]: FormValue;
}

export type FormDecoded = { ok: true; params: FormParams } | { ok: false };

/** qs drops a `__proto__` key; the stub renames it on the way in and back afterwards (NUL never survives). */
const PROTO = "__proto__";
const PROTO_STANDIN = "\u0000proto";

function restoreProto(value: FormValue): FormValue {
  if (Array.isArray(value)) return value.map(restoreProto);
  if (typeof value !== "object") return value;
  // A null-prototype object has no __proto__ accessor: the key is an ordinary property.
  const out: FormParams = Object.create(null);
  for (const [k, v] of Object.entries(value)) out[k === PROTO_STANDIN ? PROTO : k] = restoreProto(v);
  return out;
}

/**
 * Decodes a form body or query string. Objects have no prototype and keys named like Object.prototype
 * members (`constructor`, `toString`, `__proto__`) are kept, as Stripe keeps them. Malformed
 * percent-escapes (decodeURIComponent throws) and NUL in a key are refused rather than passed on mangled.
 */
export function decodeForm(text: string): FormDecoded {
  try {
    const params = qs.parse(text, {
      depth: 8,
      arrayLimit: 100,
      parameterLimit: 1000,
      throwOnLimitExceeded: true,
      plainObjects: true,
      allowPrototypes: true,
      decoder: (s, _default, _charset, type) => {
        const decoded = decodeURIComponent(s.replace(/\+/g, " "));
        if (type !== "key") return decoded;
        if (decoded.includes("\u0000")) throw new Error("NUL in a key");
        return decoded.replace(/(^|\[)__proto__(?=\]|$)/g, `$1${PROTO_STANDIN}`);
      },
    }) as FormParams;
    return { ok: true, params: restoreProto(params) as FormParams };
  } catch {
    return { ok: false };
  }
}

/** `a`, `["options","document","allowed_types",0]` → `options[document][allowed_types][0]`. */
export function bracketParam(path: readonly (string | number)[]): string {
  const [head = "", ...rest] = path.map(String);
  return head + rest.map((p) => `[${p}]`).join("");
}

/** A boolean as Stripe's v1 form API reads it: `true`/`false` in any case (see form-rules.ts). */
export function formTrue(v: FormValue | undefined): boolean {
  return typeof v === "string" && v.toLowerCase() === "true";
}
