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

/**
 * Decodes a form body or query string. Objects have no prototype and keys named like Object.prototype
 * members (`constructor`, `toString`) are kept, as Stripe keeps them; qs still drops `__proto__`.
 * Malformed percent-escapes are refused (decodeURIComponent throws) rather than passed on mangled.
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
      decoder: (s) => decodeURIComponent(s.replace(/\+/g, " ")),
    }) as FormParams;
    return { ok: true, params };
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
