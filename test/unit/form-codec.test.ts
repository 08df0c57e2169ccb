import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeForm, type Params, paramsFromJson, parseForm } from "../../src/stripe/form-codec.ts";
import { canonicalBoolean, validateParams } from "../../src/stripe/validate-params.ts";

const PROTOTYPE_NAMES = ["constructor", "toString", "valueOf", "__proto__", "hasOwnProperty", "isPrototypeOf", "prototype"];

function parsed(text: string): Params {
  const result = parseForm(text);
  if (!result.ok) throw new Error(`not decoded: ${text}`);
  return result.params;
}

describe("form codec: keys named like Object.prototype members (issue 15 point 9)", () => {
  it("keeps every such metadata key from a form body, as data, and encodes it back", () => {
    const body = PROTOTYPE_NAMES.map((k, i) => `metadata[${k}]=v${i}`).join("&");
    const params = parsed(body);
    const metadata = params.metadata as Params;
    expect(Object.keys(metadata)).toEqual(PROTOTYPE_NAMES);
    expect(Object.getPrototypeOf(metadata)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value).toBe("v3");
    expect(encodeForm(params)).toBe(body);
  });

  it("keeps them from a JSON body too", () => {
    const json = JSON.parse('{"metadata":{"__proto__":"a","constructor":"b","toString":"c"}}');
    const result = paramsFromJson(json);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.params.metadata as Params)).toEqual(["__proto__", "constructor", "toString"]);
    expect(encodeForm(result.params)).toBe("metadata[__proto__]=a&metadata[constructor]=b&metadata[toString]=c");
  });

  it("a top-level __proto__ is a parameter like any other (the validator calls it unknown)", () => {
    const params = parsed("__proto__[x]=1");
    expect(Object.keys(params)).toEqual(["__proto__"]);
    const checked = validateParams("POST /v1/identity/verification_sessions", params);
    expect(checked).toMatchObject({ ok: false, issue: { code: "parameter_unknown", param: "__proto__" } });
  });

  it("validation keeps them: metadata with prototype names passes through validateParams intact", () => {
    const params = parsed("type=document&metadata[__proto__]=x&metadata[constructor]=y");
    const checked = validateParams("POST /v1/identity/verification_sessions", params);
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(encodeForm(checked.params)).toBe("type=document&metadata[__proto__]=x&metadata[constructor]=y");
  });

  it("parse → encode → parse round-trips arbitrary metadata keys and values (property)", () => {
    // Keys a form can carry as one key: no brackets, no NUL, valid Unicode, not empty.
    const key = fc.oneof(
      fc.constantFrom(...PROTOTYPE_NAMES),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((k) => !/[[\]]/.test(k) && !k.includes("\u0000")),
    );
    const value = fc.string({ unit: "grapheme", maxLength: 12 });
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 8 }), (metadata) => {
        const params: Params = { metadata: Object.assign(Object.create(null) as Params, metadata) };
        const encoded = encodeForm(params);
        const back = parsed(encoded);
        expect(back).toEqual(params);
        expect(Object.keys(back.metadata as Params)).toEqual(Object.keys(metadata));
        expect(encodeForm(back)).toBe(encoded);
      }),
      { numRuns: 300 },
    );
  });
});

describe("form codec: a key is validated as it is forwarded (issue 16 point 9)", () => {
  it("refuses encoded brackets inside a key: Stripe would read them as structure", () => {
    for (const body of ["metadata[a%5Bb]=1", "metadata[a%5Bb%5D]=1", "metadata[a]b]=1", "metadata[a=1"]) {
      expect(parseForm(body), body).toMatchObject({ ok: false });
    }
  });

  it("control: encoded brackets that spell well-formed structure are that structure on both sides", () => {
    const params = parsed("metadata%5Ba%5D=1&metadata[b%5D%5Bc]=2");
    expect(params).toEqual({ metadata: { a: "1", b: { c: "2" } } });
    expect(encodeForm(params)).toBe("metadata[a]=1&metadata[b][c]=2");
  });

  it("encodes a bracket inside a key percent-encoded, so key text never becomes structure", () => {
    const metadata = Object.assign(Object.create(null) as Params, { "a[b": "1", "c]": "2" });
    expect(encodeForm({ metadata })).toBe("metadata[a%5Bb]=1&metadata[c%5D]=2");
  });

  it("control: ordinary nested params encode with readable structural brackets", () => {
    const params = parsed("options[document][allowed_types][0]=passport&metadata[k%20!]=v%26(");
    expect(encodeForm(params)).toBe("options[document][allowed_types][0]=passport&metadata[k%20%21]=v%26%28");
  });
});

describe("booleans as Stripe v1 reads them (issue 15 point 1)", () => {
  it("accepts true/false in any case and forwards the canonical form", () => {
    for (const [given, want] of [
      ["True", "true"],
      ["FALSE", "false"],
      ["true", "true"],
      ["fAlSe", "false"],
    ] as const) {
      expect(canonicalBoolean(given)).toBe(want);
      const checked = validateParams(
        "POST /v1/identity/verification_sessions",
        parsed(`type=document&options[document][require_live_capture]=${given}`),
      );
      expect(checked.ok).toBe(true);
      if (checked.ok) expect(encodeForm(checked.params)).toBe(`type=document&options[document][require_live_capture]=${want}`);
    }
  });

  it("still refuses what is not a boolean", () => {
    for (const given of ["1", "yes", "t", "", "truee"]) {
      const checked = validateParams(
        "POST /v1/identity/verification_sessions",
        parsed(`type=document&options[document][require_live_capture]=${given}`),
      );
      expect(checked, given).toMatchObject({ ok: false, issue: { code: "parameter_invalid" } });
    }
  });
});

describe("documented empty-string idioms (issue 15 point 2)", () => {
  for (const op of ["POST /v1/identity/verification_sessions", "POST /v1/identity/verification_sessions/{session}"]) {
    it(`${op}: metadata= (unset all keys) is accepted and forwarded as sent`, () => {
      const checked = validateParams(op, parsed("metadata="));
      expect(checked.ok).toBe(true);
      if (checked.ok) expect(encodeForm(checked.params)).toBe("metadata=");
    });
    it(`${op}: metadata[key]= (unset one key) is accepted`, () => {
      expect(validateParams(op, parsed("metadata[a]=")).ok).toBe(true);
    });
    it(`${op}: metadata=x is neither a hash nor the empty string`, () => {
      expect(validateParams(op, parsed("metadata=x"))).toMatchObject({
        ok: false,
        issue: { code: "parameter_invalid", param: "metadata" },
      });
    });
  }
});
