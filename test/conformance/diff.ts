/**
 * Conformance diffing: two answers to the same SDK call (one from Stripe, one from the stub, both through
 * the proxy) reduced to their shape and compared. Ids keep only their prefix, timestamps and secrets only
 * their type; statuses, codes, params, error classes, booleans and the values the scenario itself sent
 * are kept, so a difference means the stub (or the proxy) answers something Stripe does not.
 */
export type Shape = string | number | boolean | null | Shape[] | { [key: string]: Shape };

/** Values that differ on every call by nature: compared by type only. */
const VOLATILE_KEYS = new Set([
  "client_secret",
  "message",
  "request_id",
  "idempotency_key",
  "original_request",
  "request_log_url",
  "created",
  "expires_at",
]);
/** Numbers whose value is the point (HTTP statuses); other numbers (timestamps, counts) by type. */
const NUMERIC_LITERALS = new Set(["status", "http_status", "code"]);
/** Stripe object ids and request ids: `vs_…`, `vr_…`, `req_…` (a prefix, then alphanumerics only). */
const ID = /^([a-z]{2,8})_[A-Za-z0-9]{8,}$/;

export function shapeOf(value: unknown, key = ""): Shape {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return NUMERIC_LITERALS.has(key) ? value : "<number>";
  if (typeof value === "string") {
    if (VOLATILE_KEYS.has(key)) return "<string>";
    const id = ID.exec(value);
    if (id) return `<id ${id[1]}_>`;
    if (/^https?:\/\//.test(value)) return "<url>";
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => shapeOf(v, key));
  if (typeof value === "object") {
    const out: { [key: string]: Shape } = {};
    for (const k of Object.keys(value).sort()) out[k] = shapeOf((value as Record<string, unknown>)[k], k);
    return out;
  }
  return `<${typeof value}>`;
}

export interface Difference {
  path: string;
  stub: string;
  stripe: string;
}

const MISSING = "(missing)";

function show(s: Shape | undefined): string {
  if (s === undefined) return MISSING;
  const text = JSON.stringify(s);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function isRecord(s: Shape | undefined): s is { [key: string]: Shape } {
  return typeof s === "object" && s !== null && !Array.isArray(s);
}

/** Every place where two shapes differ, as `path: stub=… stripe=…` (a missing key counts). */
export function diffShapes(stub: Shape | undefined, stripe: Shape | undefined, path = ""): Difference[] {
  if (Array.isArray(stub) && Array.isArray(stripe)) {
    const out: Difference[] = [];
    if (stub.length !== stripe.length)
      out.push({ path: `${path}.length`, stub: String(stub.length), stripe: String(stripe.length) });
    for (let i = 0; i < Math.min(stub.length, stripe.length); i++) out.push(...diffShapes(stub[i], stripe[i], `${path}[${i}]`));
    return out;
  }
  if (isRecord(stub) && isRecord(stripe)) {
    const keys = [...new Set([...Object.keys(stub), ...Object.keys(stripe)])].sort();
    return keys.flatMap((k) => diffShapes(stub[k], stripe[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(stub) === JSON.stringify(stripe)) return [];
  return [{ path: path || "(root)", stub: show(stub), stripe: show(stripe) }];
}

export interface RecordedCall {
  sdk: string;
  step: string;
  index: number;
  result: unknown;
}

/** Pairs the two transcripts call by call and lists every difference, tagged with SDK, step and call. */
export function diffTranscripts(
  stub: readonly RecordedCall[],
  stripe: readonly RecordedCall[],
): (Difference & { where: string })[] {
  const key = (c: RecordedCall) => `${c.sdk} | ${c.step} | call ${c.index + 1}`;
  const reference = new Map(stripe.map((c) => [key(c), c]));
  const seen = new Set<string>();
  const out: (Difference & { where: string })[] = [];
  for (const call of stub) {
    const where = key(call);
    seen.add(where);
    const other = reference.get(where);
    if (!other) {
      out.push({ where, path: "(call)", stub: "made", stripe: MISSING });
      continue;
    }
    for (const d of diffShapes(shapeOf(call.result), shapeOf(other.result))) out.push({ where, ...d });
  }
  for (const call of stripe)
    if (!seen.has(key(call))) out.push({ where: key(call), path: "(call)", stub: MISSING, stripe: "made" });
  return out;
}
