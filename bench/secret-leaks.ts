/**
 * Finds secrets in text: each secret as written and after undoing percent-encoding and JSON/JS string
 * escapes (up to three nested levels, in any order), and for secrets of 24+ characters also their last
 * 16 characters (a tail left behind by a mask that started too late) and their base64/base64url
 * encodings at every byte alignment. A finding names the secret by its index; `describeLeak` shows
 * only its first four characters and length, never the secret in full.
 *
 * Pure and runtime-neutral (TextEncoder, btoa): the load test (bench/load/) checks `wrangler dev`'s
 * output with it, and the tests' log capture (test/helpers/log-capture.ts) checks every test's console.
 */
/** Where a secret was seen: which one, in which form, in which line. */
export interface SecretLeak {
  secretIndex: number;
  form: string;
  line: number;
  /** The surroundings, with every secret replaced by `«secret #i»`. */
  excerpt: string;
}

/** Every place a secret of `secrets` appears in `text`, in any of the forms described at the top. */
export function findSecretLeaks(text: string | readonly string[], secrets: readonly string[]): SecretLeak[] {
  const lines = typeof text === "string" ? text.split("\n") : text;
  const probes = secrets.map((s, i) => probesFor(checkedSecret(s, i)));
  const leaks: SecretLeak[] = [];
  lines.forEach((line, lineIndex) => {
    const layers = decodedLayers(line);
    probes.forEach((forms, secretIndex) => {
      // The strongest finding per secret and line: the full secret before an encoding before a tail.
      for (const { needle, form } of forms) {
        for (const layer of layers) {
          const at = layer.text.indexOf(needle);
          if (at < 0) continue;
          leaks.push({
            secretIndex,
            form: layer.how === "" ? form : `${form} after ${layer.how}`,
            line: lineIndex + 1,
            excerpt: excerptAround(layer.text, at, needle.length, secretIndex, probes),
          });
          return;
        }
      }
    });
  });
  return leaks;
}

/** One line about a finding: which secret (its first four characters and length), in which form, where. */
export function describeLeak(leak: SecretLeak, secrets: readonly string[]): string {
  return `secret #${leak.secretIndex} (${describeSecret(secrets[leak.secretIndex] ?? "")}) ${leak.form}, line ${leak.line}: ${leak.excerpt}`;
}

/* ---------------------------------------------------------------------------------------------- */

const MIN_SECRET = 6;
const TAIL = 16;

/** The secret, or an error when it is too short to look for (a probe of a few characters would match anything). */
export function checkedSecret(value: unknown, index: number): string {
  if (typeof value !== "string" || value.length < MIN_SECRET) {
    const what = typeof value === "string" ? `${value.length} characters` : typeof value;
    throw new Error(`secret #${index} is not a usable secret (${what}); use one of ${MIN_SECRET}+ characters`);
  }
  return value;
}

function describeSecret(secret: string): string {
  return `${JSON.stringify(secret.slice(0, 4))}…, ${secret.length} chars`;
}

interface Probe {
  needle: string;
  form: string;
}

function probesFor(secret: string): Probe[] {
  const probes: Probe[] = [{ needle: secret, form: "in full" }, ...base64Cores(secret)];
  if (secret.length >= 24) probes.push({ needle: secret.slice(-TAIL), form: `its last ${TAIL} characters` });
  return probes;
}

/**
 * The base64 and base64url text that encodes `secret` whatever bytes surround it: for each of the
 * three byte alignments, the encoded characters that depend only on the secret's bytes.
 */
function base64Cores(secret: string): Probe[] {
  const bytes = new TextEncoder().encode(secret);
  const out: Probe[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const padded = new Uint8Array(pad + bytes.length);
    padded.set(bytes, pad);
    let binary = "";
    for (const b of padded) binary += String.fromCharCode(b);
    const encoded = btoa(binary);
    const start = pad === 0 ? 0 : pad === 1 ? 2 : 3;
    const end = 4 * Math.floor(padded.length / 3);
    const core = encoded.slice(start, end);
    if (core.length < 16) continue;
    out.push({ needle: core, form: `base64-encoded (alignment ${pad})` });
    const urlSafe = core.replace(/\+/g, "-").replace(/\//g, "_");
    if (urlSafe !== core) out.push({ needle: urlSafe, form: `base64url-encoded (alignment ${pad})` });
  }
  return out;
}

interface Layer {
  text: string;
  how: string;
}

const MAX_LEVELS = 3;

/** The line and every distinct result of undoing percent-encoding and/or string escapes on it. */
function decodedLayers(line: string): Layer[] {
  const layers: Layer[] = [{ text: line, how: "" }];
  const seen = new Set([line]);
  let frontier = layers.slice();
  for (let level = 0; level < MAX_LEVELS && frontier.length > 0; level++) {
    const next: Layer[] = [];
    for (const layer of frontier) {
      for (const [name, decode] of DECODERS) {
        const text = decode(layer.text);
        if (seen.has(text)) continue;
        seen.add(text);
        next.push({ text, how: layer.how === "" ? name : `${layer.how}, ${name}` });
      }
    }
    layers.push(...next);
    frontier = next;
  }
  return layers;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "/": "/",
  '"': '"',
  "'": "'",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

const DECODERS: readonly [string, (text: string) => string][] = [
  ["percent-decoding", (t) => t.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))],
  [
    "unescaping",
    (t) =>
      t.replace(/\\(u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[\\/"'bfnrt])/g, (_, e: string) =>
        e.length > 1 ? String.fromCharCode(Number.parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
      ),
  ],
];

function excerptAround(text: string, at: number, length: number, secretIndex: number, probes: Probe[][]): string {
  const before = text.slice(Math.max(0, at - 40), at);
  const after = text.slice(at + length, at + length + 40);
  const hide = (s: string) => {
    let out = s;
    probes.forEach((forms, i) => {
      for (const { needle } of forms) out = out.split(needle).join(`«secret #${i}»`);
    });
    return out;
  };
  return JSON.stringify(`${hide(before)}«secret #${secretIndex}»${hide(after)}`);
}
