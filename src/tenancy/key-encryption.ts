import * as v from "valibot";
import { base64ToBytes, bytesToBase64, sha256Hex } from "../encoding.ts";
import type { SecretPurpose } from "./secret-kinds.ts";

/**
 * Envelope encryption for the tenant secrets kept in the registry (a tenant's Stripe key, webhook
 * signing secret and HS256 JWT secret; secret-kinds.ts).
 *
 * - Each secret gets its own random 256-bit data key (DEK); the secret is sealed with AES-256-GCM under
 *   the DEK, and the DEK is sealed with AES-256-GCM under the key-encryption key (KEK, a Worker secret).
 * - Both layers carry additional authenticated data naming the tenant and the purpose (and, for the
 *   DEK, the KEK id), so a sealed value copied to another tenant, another purpose, or relabelled with
 *   another KEK id fails to open.
 * - Rotating the KEK re-seals only the DEKs (`resealSecret`); the secrets themselves are untouched.
 *
 * Runs unchanged in the Worker and in Node (WebCrypto only). Nothing here ever logs or returns a
 * plaintext other than to its caller.
 */

const KEY_BYTES = 32;
const IV_BYTES = 12;
/** The format version; a new version gets a new AAD domain, so records cannot be confused. */
const FORMAT = 1;

export interface Kek {
  id: string;
  key: CryptoKey;
}

/** What a sealed secret is bound to. */
export interface SecretContext {
  tenant: string;
  purpose: SecretPurpose;
}

const Base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]+={0,2}$/));

/** A sealed secret as stored in KV: every field is opaque except the KEK id, which names its KEK. */
export const SealedSecretSchema = v.strictObject({
  v: v.literal(FORMAT),
  alg: v.literal("A256GCM"),
  kek_id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)),
  /** base64(iv ‖ AES-GCM(KEK, DEK)) */
  dek: Base64,
  /** base64(iv ‖ AES-GCM(DEK, secret)) */
  ct: Base64,
  /** Stripe keys only: `stripeKeyFingerprint` of the key, so the CLI finds two tenants holding one key. */
  fingerprint: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
});
export type SealedSecret = v.InferOutput<typeof SealedSecretSchema>;

export const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Why a sealed secret could not be opened; none of these carries secret material. */
export type OpenFailure = "not_sealed" | "kek_unavailable" | "authentication_failed";

export class SecretOpenError extends Error {
  readonly reason: OpenFailure;
  constructor(reason: OpenFailure, message: string) {
    super(message);
    this.name = "SecretOpenError";
    this.reason = reason;
  }
}

const encoder = new TextEncoder();

function aad(context: SecretContext, layer: "dek" | "secret", kekId?: string): Uint8Array<ArrayBuffer> {
  const parts = [`identity-edge/sealed/v${FORMAT}`, layer, context.purpose, `tenant=${context.tenant}`];
  if (kekId !== undefined) parts.push(`kek=${kekId}`);
  return new Uint8Array(encoder.encode(parts.join("|")));
}

/**
 * Imports a KEK given as base64 of exactly 32 bytes. Throws (without echoing the value) when it is
 * not, so a truncated or hex-pasted secret fails loudly instead of weakening the key.
 */
export async function importKek(id: string, base64: string): Promise<Kek> {
  if (!KEK_ID.test(id)) throw new Error("the KEK id must be 1-64 letters, digits, '.', '_' or '-'");
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = base64ToBytes(base64.trim());
  } catch {
    throw new Error(`the KEK with id ${id} is not valid base64`);
  }
  if (raw.length !== KEY_BYTES) throw new Error(`the KEK with id ${id} must be ${KEY_BYTES} bytes (base64), got ${raw.length}`);
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  raw.fill(0);
  return { id, key };
}

/** A fresh random KEK, base64, for `TENANT_KEK` (the CLI prints it for `wrangler secret put`). */
export function generateKekBase64(): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

async function gcmSeal(
  key: CryptoKey,
  plaintext: Uint8Array<ArrayBuffer>,
  additionalData: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, plaintext));
  const out = new Uint8Array(IV_BYTES + ct.length);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return bytesToBase64(out);
}

async function gcmOpen(
  key: CryptoKey,
  sealed: string,
  additionalData: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = base64ToBytes(sealed);
  if (bytes.length <= IV_BYTES + 16) throw new SecretOpenError("not_sealed", "sealed value is too short");
  try {
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData },
      key,
      bytes.subarray(IV_BYTES),
    );
    return new Uint8Array(pt);
  } catch {
    throw new SecretOpenError("authentication_failed", "sealed value did not authenticate (wrong key, tenant or tampered)");
  }
}

/**
 * The fingerprint of a Stripe key, stored beside its sealed copy so the registry CLI can refuse two
 * tenants holding one key on one account without opening either: lowercase hex SHA-256 over a
 * domain-separated string. A plain hash suffices because a Stripe key carries far more than 128 bits
 * of randomness (there is no dictionary to try), and unlike an HMAC under the KEK it stays the same
 * across a KEK rotation. Who can read the registry learns only whether two tenants share a key.
 */
export function stripeKeyFingerprint(key: string): Promise<string> {
  return sha256Hex(`identity-edge/stripe-key-fingerprint/v1|${key}`);
}

/** Seals `plaintext` for `context` under a fresh data key wrapped by `kek` (a Stripe key gets its fingerprint). */
export async function sealSecret(plaintext: string, context: SecretContext, kek: Kek): Promise<SealedSecret> {
  const dekBytes = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const dek = await crypto.subtle.importKey("raw", dekBytes, "AES-GCM", false, ["encrypt"]);
  const wrapped = await gcmSeal(kek.key, dekBytes, aad(context, "dek", kek.id));
  dekBytes.fill(0);
  const ct = await gcmSeal(dek, new Uint8Array(encoder.encode(plaintext)), aad(context, "secret"));
  const sealed: SealedSecret = { v: FORMAT, alg: "A256GCM", kek_id: kek.id, dek: wrapped, ct };
  if (context.purpose === "stripe_secret_key") sealed.fingerprint = await stripeKeyFingerprint(plaintext);
  return sealed;
}

async function openDek(sealed: SealedSecret, context: SecretContext, keks: readonly Kek[]): Promise<Uint8Array<ArrayBuffer>> {
  const kek = keks.find((k) => k.id === sealed.kek_id);
  if (!kek) throw new SecretOpenError("kek_unavailable", `sealed under KEK id ${sealed.kek_id}, which is not configured`);
  return gcmOpen(kek.key, sealed.dek, aad(context, "dek", sealed.kek_id));
}

/** Opens a sealed secret with whichever of `keks` its KEK id names. Throws `SecretOpenError`. */
export async function openSecret(sealed: SealedSecret, context: SecretContext, keks: readonly Kek[]): Promise<string> {
  const dekBytes = await openDek(sealed, context, keks);
  const dek = await crypto.subtle.importKey("raw", dekBytes, "AES-GCM", false, ["decrypt"]);
  dekBytes.fill(0);
  return new TextDecoder().decode(await gcmOpen(dek, sealed.ct, aad(context, "secret")));
}

/**
 * Re-seals the data key of `sealed` under `to` (KEK rotation). The secret's own ciphertext is kept,
 * and it is checked to still open, so a rotation never writes a record that cannot be read.
 */
export async function resealSecret(
  sealed: SealedSecret,
  context: SecretContext,
  from: readonly Kek[],
  to: Kek,
): Promise<SealedSecret> {
  const dekBytes = await openDek(sealed, context, from);
  const dek = await crypto.subtle.importKey("raw", dekBytes, "AES-GCM", false, ["decrypt"]);
  await gcmOpen(dek, sealed.ct, aad(context, "secret"));
  const wrapped = await gcmSeal(to.key, dekBytes, aad(context, "dek", to.id));
  dekBytes.fill(0);
  return { ...sealed, kek_id: to.id, dek: wrapped };
}

/** Parses a stored sealed secret; undefined when it is not one (e.g. a plaintext someone wrote by hand). */
export function parseSealedSecret(text: string): SealedSecret | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = v.safeParse(SealedSecretSchema, raw);
  return result.success ? result.output : undefined;
}

/** Where the KEKs come from: Worker secrets in the Worker, environment variables in the CLI. */
export interface KekSource {
  TENANT_KEK?: unknown;
  TENANT_KEK_ID?: unknown;
  TENANT_KEK_PREVIOUS?: unknown;
  TENANT_KEK_PREVIOUS_ID?: unknown;
}

export interface KekSet {
  /** The KEK new secrets are sealed under. */
  current: Kek | undefined;
  /** Every KEK that may open a secret: current first, then previous. */
  all: Kek[];
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

/**
 * Reads `TENANT_KEK` + `TENANT_KEK_ID` (and optionally `TENANT_KEK_PREVIOUS` + `TENANT_KEK_PREVIOUS_ID`,
 * kept during a rotation). Throws with a message naming the variable, never its value.
 */
export async function loadKeks(source: KekSource): Promise<KekSet> {
  const all: Kek[] = [];
  let current: Kek | undefined;
  const pairs = [
    ["TENANT_KEK", "TENANT_KEK_ID"],
    ["TENANT_KEK_PREVIOUS", "TENANT_KEK_PREVIOUS_ID"],
  ] as const;
  for (const [keyName, idName] of pairs) {
    const b64 = str(source[keyName]);
    const id = str(source[idName]);
    if (b64 === undefined && id === undefined) continue;
    if (b64 === undefined || id === undefined) throw new Error(`${keyName} and ${idName} must be set together`);
    const kek = await importKek(id, b64);
    if (all.some((k) => k.id === kek.id)) throw new Error(`${idName} must differ from the other KEK id`);
    if (keyName === "TENANT_KEK") current = kek;
    all.push(kek);
  }
  return { current, all };
}

// The Worker reads its KEKs on every cold secret lookup; importing is cached per distinct value.
const kekCache = new Map<string, Promise<KekSet>>();

/** `loadKeks`, memoized per distinct set of values (an isolate only ever sees one or two). */
export function cachedKeks(source: KekSource): Promise<KekSet> {
  const id = [source.TENANT_KEK, source.TENANT_KEK_ID, source.TENANT_KEK_PREVIOUS, source.TENANT_KEK_PREVIOUS_ID]
    .map((x) => str(x) ?? "")
    .join("\n");
  let set = kekCache.get(id);
  if (!set) {
    if (kekCache.size >= 4) kekCache.clear();
    set = loadKeks(source);
    // A failed load is not kept: the error is reported on each use until the secret is fixed.
    set.catch(() => kekCache.delete(id));
    kekCache.set(id, set);
  }
  return set;
}
