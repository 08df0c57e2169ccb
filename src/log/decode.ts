/**
 * Decoders for the scrubber: they undo the encodings a secret may wear inside a log string and keep,
 * for each decoded character, where it came from in the original, so a secret found in the decoded
 * text can be masked in the original exactly.
 */

/** Decoded text and, for each decoded index i (and i = text.length), the source index it starts at. */
export interface DecodedLayer {
  readonly text: string;
  readonly map: readonly number[];
}

const HEX = /^[0-9A-Fa-f]+$/;

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "/": "/",
  "\\": "\\",
  '"': '"',
  "'": "'",
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
};

/** Which encodings a pass undoes. */
export interface DecodeKinds {
  readonly percent: boolean;
  readonly escapes: boolean;
}

/**
 * One left-to-right pass that undoes percent-encoding (`%5F`, either case) and/or JSON/JS string
 * escapes (`\u005f`, `\x5f`, `\/`, `\"`, `\\`, `\n`) of ASCII characters. Returns null when there was nothing to decode. Nested encodings (`%255F`,
 * `\\u005f`) come out one level per pass. Linear in the length of `text`.
 */
export function decodeOnce(text: string, kinds: DecodeKinds): DecodedLayer | null {
  if (!(kinds.percent && text.includes("%")) && !(kinds.escapes && text.includes("\\"))) return null;
  const parts: string[] = [];
  const map: number[] = [];
  let changed = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    let decoded: string | undefined;
    let width = 1;
    if (c === "%" && kinds.percent) {
      decoded = asciiFromHex(text, i + 1, 2);
      width = 3;
    } else if (c === "\\" && kinds.escapes && i + 1 < text.length) {
      const e = text[i + 1] as string;
      if (e === "u") {
        decoded = asciiFromHex(text, i + 2, 4);
        width = 6;
      } else if (e === "x") {
        decoded = asciiFromHex(text, i + 2, 2);
        width = 4;
      } else if (Object.hasOwn(SIMPLE_ESCAPES, e)) {
        decoded = SIMPLE_ESCAPES[e];
        width = 2;
      }
    }
    if (decoded === undefined) {
      parts.push(c as string);
      width = 1;
    } else {
      parts.push(decoded);
      changed = true;
    }
    map.push(i);
    i += width;
  }
  if (!changed) return null;
  map.push(text.length);
  return { text: parts.join(""), map };
}

/**
 * The ASCII character `length` hex digits at `start` encode, or undefined. Only ASCII is decoded: every
 * pattern is ASCII, and leaving `%BE` or `\u00e9` alone keeps a stray `%` before `Bearer` from eating
 * its `Be`.
 */
function asciiFromHex(text: string, start: number, length: number): string | undefined {
  if (start + length > text.length) return undefined;
  const digits = text.slice(start, start + length);
  if (!HEX.test(digits)) return undefined;
  const code = Number.parseInt(digits, 16);
  return code < 0x80 ? String.fromCharCode(code) : undefined;
}

/** Base64 digit values by char code, both alphabets (`+`/`-` are 62, `/`/`_` are 63); -1 elsewhere. */
const B64_VALUES: Int8Array = (() => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const out = new Int8Array(128).fill(-1);
  for (let k = 0; k < alphabet.length; k++) out[alphabet.charCodeAt(k)] = k;
  out["+".charCodeAt(0)] = 62;
  out["-".charCodeAt(0)] = 62;
  out["/".charCodeAt(0)] = 63;
  out["_".charCodeAt(0)] = 63;
  return out;
})();

/**
 * Decodes base64 or base64url (both alphabets at once; `=` and anything else ends the input) from
 * `start`, to a Latin-1 string. Trailing bits that do not make a byte are dropped.
 */
export function decodeBase64Latin1(text: string, start: number): string {
  let out = "";
  let bits = 0;
  let buffer = 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (B64_VALUES[code] ?? -1) : -1;
    if (v < 0) break;
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buffer >> bits) & 0xff);
    }
  }
  return out;
}
