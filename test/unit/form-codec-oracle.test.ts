import fc from "fast-check";
import qs from "qs";
import { describe, expect, it } from "vitest";
import {
  CODEC_LIMITS,
  type DecodeResult,
  emptyParams,
  encodeForm,
  type ParamValue,
  type Params,
  paramsFromJson,
  parseForm,
} from "../../src/stripe/form-codec.ts";

/**
 * The purpose-built codec against qs, which the proxy used until issue 18 (qs and the packages it pulls
 * in were 29 % of the production bundle). `qsParse` is that implementation, kept here as the oracle:
 * the new decoder must accept only what it accepted, read it the same way, and refuse more only where
 * this file documents why.
 */

// ---- the previous, qs-based decoder (src/stripe/form-codec.ts before issue 18) ----
const PROTO_STANDIN = "\u0000proto\u0000";
const PROTO_SEGMENT = /(^|\[)__proto__(?=\]|\[|$)/g;
const OLD_KEY_SHAPE = /^[^[\]]*(?:\[[^[\]]*\])*$/;
const oldDecode = (str: string): string => decodeURIComponent(str.replace(/\+/g, " "));
function oldRestore(value: ParamValue): ParamValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(oldRestore);
  const out = emptyParams();
  for (const [k, v] of Object.entries(value)) {
    const key = k === PROTO_STANDIN ? "__proto__" : k;
    if (/[[\]]/.test(key) || key.includes("\u0000")) throw new Error("bracket in a key");
    out[key] = oldRestore(v);
  }
  return out;
}
function qsParse(text: string): DecodeResult {
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
      decoder: (str, _default, _charset, type) => {
        if (type !== "key") return oldDecode(str);
        const key = oldDecode(str);
        if (key.includes("\u0000") || !OLD_KEY_SHAPE.test(key)) throw new Error("undecodable key");
        return key.replace(PROTO_SEGMENT, `$1${PROTO_STANDIN}`);
      },
    }) as Params;
    return { ok: true, params: oldRestore(parsed) as Params };
  } catch {
    return { ok: false, reason: "old" };
  }
}

// ---- the encoding oracle: qs.stringify with indexed brackets, each key encoded by qs on its own ----
/** How qs encodes one key as a whole (brackets included), e.g. `a[b` → `a%5Bb`. */
const qsKey = (key: string): string => {
  const one = emptyParams();
  one[key] = "";
  return qs.stringify(one).slice(0, -1);
};
function withQsKeys(value: ParamValue): ParamValue {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(withQsKeys);
  const out = emptyParams();
  for (const [k, v] of Object.entries(value)) out[qsKey(k)] = withQsKeys(v);
  return out;
}
const qsEncode = (params: Params): string => qs.stringify(withQsKeys(params), { encodeValuesOnly: true, arrayFormat: "indices" });

/**
 * A result as plain data that keeps what matters: key order, and that every hash has no prototype.
 * (`toStrictEqual` compares `.constructor`, which here is a parameter like any other.)
 */
type Shape = string | boolean | Shape[];
function shape(value: ParamValue): Shape {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return ["array", ...value.map(shape)];
  return ["hash", Object.getPrototypeOf(value) === null, ...Object.entries(value).map(([k, v]) => [k, shape(v)])];
}
const resultShape = (r: DecodeResult): Shape => (r.ok ? shape(r.params) : false);

// ---- generators ----
const HOSTILE_KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "0",
  "7",
  "a[b",
  "c]",
  "[]",
  "",
  "a b",
  "+",
  "%",
  "&=",
  "é",
  "😀",
  "k!'()*~",
];
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("type", "metadata", "options", "document", "allowed_types", "expand", "x") },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }) },
);
const leaf = fc.oneof(
  fc.constantFrom("", "true", "FALSE", "passport", "a&b=c", "100%", "+ +", "[x]", "é😀"),
  fc.string({ unit: "grapheme", maxLength: 8 }),
);
const paramValue: fc.Arbitrary<ParamValue> = fc.letrec<{ value: ParamValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }).map((d) => Object.assign(emptyParams(), d)),
  ),
})).value;
const params = fc.dictionary(key, paramValue, { maxKeys: 5 }).map((d) => Object.assign(emptyParams(), d));

/** Params a form body can carry unchanged: what a JSON body may hold, no empty array or hash (they send nothing), no hash with index-like keys (read back as an array). */
function carriable(value: ParamValue, top = true): boolean {
  if (typeof value === "string") return true;
  if (Array.isArray(value)) return value.length > 0 && value.every((v) => carriable(v, false));
  const keys = Object.keys(value);
  if (!top && (keys.length === 0 || keys.some((k) => /^\d+$/.test(k)))) return false;
  return keys.every((k) => carriable(value[k] as ParamValue, false));
}

describe("encodeForm against qs.stringify", () => {
  it("is byte-identical to qs for arbitrary params, hostile keys included (property)", () => {
    fc.assert(
      fc.property(params, (p) => {
        expect(encodeForm(p)).toBe(qsEncode(p));
      }),
      { numRuns: 2_000 },
    );
  });

  it("decode(encode(p)) is p for every params object a request can carry (property)", () => {
    let checked = 0;
    fc.assert(
      fc.property(params, (p) => {
        if (!paramsFromJson(p).ok || !carriable(p)) return;
        checked++;
        const back = parseForm(encodeForm(p));
        expect(resultShape(back)).toEqual(shape(p));
        expect(resultShape(qsParse(encodeForm(p)))).toEqual(resultShape(back));
      }),
      { numRuns: 2_000 },
    );
    expect(checked).toBeGreaterThan(500);
  });
});

// ---- the decoder against the qs-based one, on arbitrary strings ----
const FORM_TOKENS = [
  ..."ab0159[]=&+% é",
  "%5B",
  "%5d",
  "%3D",
  "%26",
  "%2",
  "%41",
  "%E2%82%AC",
  "%ED%A0%80",
  "%F0%9F%98%80",
  "%00",
  "%25",
  "99",
  "100",
  "01",
  "-1",
  "__proto__",
  "constructor",
  "metadata",
  "[]",
  "[0]",
  "[1]",
  "[b]",
];
const tokenString = fc.array(fc.constantFrom(...FORM_TOKENS), { maxLength: 24 }).map((t) => t.join(""));
/** Well-formed pairs over a few colliding paths: the shapes where arrays, hashes and repeats meet. */
const segment = fc.constantFrom("[]", "[0]", "[1]", "[2]", "[99]", "[b]", "[c]", "[__proto__]", "[toString]");
const pairString = fc
  .array(
    fc.tuple(
      fc.constantFrom("a", "b", "__proto__", "0"),
      fc.array(segment, { maxLength: 3 }),
      fc.constantFrom("", "x", "y", "%20"),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((pairs) => pairs.map(([name, segs, value]) => `${name}${segs.join("")}=${value}`).join("&"));

/**
 * A necessary condition for the refusals qs did not make (documented below): a key with no name, or
 * two keys whose paths (indexes and `[]` read as "some index") make one a value where the other is a
 * hash or array, or an array where the other is a hash.
 */
function mayConflict(text: string): boolean {
  const body = text.replace(/%5B/gi, "[").replace(/%5D/gi, "]");
  const paths = new Set<string>();
  for (const part of body.split("&")) {
    const bracketEquals = part.indexOf("]=");
    const eq = bracketEquals === -1 ? part.indexOf("=") : bracketEquals + 1;
    const k = oldDecode(eq === -1 ? part : part.slice(0, eq));
    if (k !== "") paths.add(k);
  }
  const split = [...paths].map((k) => {
    const name = k.slice(0, k.indexOf("[") === -1 ? k.length : k.indexOf("["));
    const rest = [...k.slice(name.length).matchAll(/\[([^\]]*)\]/g)].map((m) =>
      /^(\d+)?$/.test(m[1] as string) ? "#" : `=${m[1]}`,
    );
    return [name, ...rest];
  });
  if (split.some((s) => s[0] === "")) return true;
  for (const p of split) {
    for (const q of split) {
      if (p === q) continue;
      let i = 0;
      while (i < p.length && i < q.length && p[i] === q[i]) i++;
      if (i === p.length || i === q.length) return true;
      if ((p[i] === "#") !== (q[i] === "#")) return true;
    }
  }
  return false;
}

describe("parseForm against the qs-based decoder", () => {
  /** Runs `texts` through both decoders and counts how each compared; fails on any unexplained difference. */
  const compare = (texts: fc.Arbitrary<string>, numRuns: number) => {
    const tally = { same: 0, refusedBoth: 0, documented: 0 };
    fc.assert(
      fc.property(texts, (text) => {
        const now = parseForm(text);
        const before = qsParse(text);
        if (now.ok) {
          expect(resultShape(before), text).toEqual(resultShape(now));
          tally.same++;
        } else if (!before.ok) tally.refusedBoth++;
        else {
          expect(mayConflict(text), `refused, but qs read ${JSON.stringify(before.params)}: ${text}`).toBe(true);
          tally.documented++;
        }
      }),
      { numRuns },
    );
    return tally;
  };

  it("arbitrary strings from form tokens: same params, same refusals, or a documented refusal (property)", () => {
    const tally = compare(tokenString, 5_000);
    expect(tally.same).toBeGreaterThan(500);
    expect(tally.refusedBoth).toBeGreaterThan(500);
  });

  it("colliding arrays, hashes and repeated keys: same reading as qs unless documented (property)", () => {
    const tally = compare(pairString, 5_000);
    expect(tally.same).toBeGreaterThan(1_000);
    expect(tally.documented).toBeGreaterThan(100);
  });

  it("arbitrary Unicode strings (property)", () => {
    compare(fc.string({ unit: "binary", maxLength: 40 }), 2_000);
  });

  it.each([
    ["a[]=x&a[]=y", { a: ["x", "y"] }],
    ["a[1]=y&a[0]=x", { a: ["x", "y"] }],
    ["a[5]=x&a[]=y", { a: ["y", "x"] }],
    ["a[0]=x&a[]=y", { a: ["x", "y"] }],
    ["a=1&a=2", { a: ["1", "2"] }],
    ["a[0][b]=1&a[0][c]=2&a[1][b]=3", { a: [{ b: "1", c: "2" }, { b: "3" }] }],
    ["a[0]=x&a[0]=y", { a: [["x", "y"]] }],
    ["a[x=y]=1", { a: { "x=y": "1" } }],
    ["a[b][01]=1", { a: { b: { "01": "1" } } }],
    ["&&a&=&b=", { a: "", b: "" }],
  ])("%s reads as qs read it", (text, want) => {
    expect(resultShape(qsParse(text))).toEqual(resultShape(parseForm(text)));
    expect(JSON.parse(JSON.stringify((parseForm(text) as { params: unknown }).params))).toEqual(want);
  });
});

describe("the limits, at and past each edge, as qs applied them", () => {
  const pairs = (n: number, pair: (i: number) => string) => Array.from({ length: n }, (_, i) => pair(i)).join("&");
  it.each([
    ["index 99", "a[99]=x", true],
    ["index 100 (an error, not a hash with key 100)", "a[100]=x", false],
    ["an index too long to be exact is a hash key", "a[12345678901234567890123]=x", true],
    ["100 values for one key", pairs(100, () => "a[]=x"), true],
    ["101 values for one key", pairs(101, () => "a[]=x"), false],
    ["100 repeats of a plain key", pairs(100, () => "a=x"), true],
    ["101 repeats of a plain key", pairs(101, () => "a=x"), false],
    ["101 elements from merged arrays", `${pairs(100, () => "a[]=x")}&a[0]=y`, false],
    ["500 parameters", pairs(500, (i) => `k${i}=v`), true],
    ["501 parameters", pairs(501, (i) => `k${i}=v`), false],
    ["501 parts, some empty", `${pairs(499, (i) => `k${i}=v`)}&&`, false],
    ["depth 6", "a[1][2][3][4][5][6]=x", true],
    ["depth 7", "a[1][2][3][4][5][6][7]=x", false],
  ])("%s", (_name, text, ok) => {
    expect(parseForm(text).ok).toBe(ok);
    expect(qsParse(text).ok).toBe(ok);
  });
});

describe("deliberate differences from qs: refused, because Stripe could read them another way", () => {
  it.each([
    // A key with no name: qs read `[a]=1` as `a=1` and `[]=x` as `0=x`; no Stripe parameter is nameless.
    ["[a]=1"],
    ["[]=x"],
    // One path as a value and as a hash or array: qs made a mixed array, appended, or silently dropped
    // the value (`metadata[a]=1&metadata=`: set one key, or unset all?). Which one Stripe applies is unknowable.
    ["a=1&a[b]=2"],
    ["metadata[a]=1&metadata="],
    ["a[0]=x&a=y"],
    ["a[0]=x&a[0][b]=y"],
    // One path as an array and as a hash: qs turned the array into a hash with key "0".
    ["a[0]=x&a[b]=y"],
  ])("%s", (text) => {
    expect(qsParse(text).ok).toBe(true);
    expect(parseForm(text).ok).toBe(false);
    expect(mayConflict(text)).toBe(true);
  });
});
