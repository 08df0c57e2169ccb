import { sha256Hex } from "../encoding.ts";
import type { ParamValue, Params } from "../stripe/form-codec.ts";
import { CACHE_FORMAT_VERSION, KV_PREFIX, STRIPE_DEFAULT_LIST_LIMIT } from "./constants.ts";

/**
 * Cache keys for list queries. Two queries share a key only when Stripe answers them the same, and
 * the rules that merge queries are deliberately few:
 * - parameter order is irrelevant (`a=1&b=2` ≡ `b=2&a=1`, also inside `created[...]`);
 * - an absent `limit` is Stripe's default, `limit=10`.
 * Nothing else is merged: `created=5` and `created[gte]=5&created[lte]=5` select the same sessions
 * but are different requests, `limit=010` is not `limit=10`, an empty string is not an absent
 * parameter. A missed merge only costs a cache miss; a wrong merge would serve the wrong list.
 */
export type ListQuery = { cacheable: true; canonical: string } | { cacheable: false; reason: "expand" };

type Canonical = string | { a: Canonical[] } | { o: [string, Canonical][] };

/** Strings stay strings, arrays keep their order, objects become key-sorted pairs; tagged so no two shapes collide. */
function canonicalValue(value: ParamValue): Canonical {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return { a: value.map(canonicalValue) };
  const keys = Object.keys(value).sort();
  return { o: keys.map((k) => [k, canonicalValue(value[k] as ParamValue)]) };
}

/**
 * The canonical form of a list's (validated) parameters, or why it is not cached. Lists with `expand`
 * are not cached: expanded objects are not part of the list's own invalidation story.
 */
export function canonicalListQuery(params: Params): ListQuery {
  if (Object.hasOwn(params, "expand")) return { cacheable: false, reason: "expand" };
  const effective: Params = { ...params };
  if (!Object.hasOwn(effective, "limit")) effective.limit = STRIPE_DEFAULT_LIST_LIMIT;
  return { cacheable: true, canonical: JSON.stringify(canonicalValue(effective)) };
}

/** Everything besides the query that changes Stripe's answer, and the tenant's invalidation marker. */
export interface ListKeyParts {
  tenant: string;
  /** The tenant's generation marker: bumping it orphans every key built under the old one. */
  generation: string;
  /** The upstream path (the list endpoint). */
  path: string;
  /** `canonicalListQuery(...).canonical`. */
  query: string;
  /** Stripe-Version sent upstream (tenant pin or caller's header); undefined = the account default. */
  apiVersion: string | undefined;
  /** Stripe-Account sent upstream (the tenant's connected account), if any. */
  account: string | undefined;
  /** Upstream origin (Stripe, or the local stub). */
  upstream: string;
  /** A fingerprint of the Stripe key used upstream (test vs live mode, another account): never the key. */
  credential: string;
  /** Identifies the cache encryption key, so a rotated key starts a fresh keyspace instead of failing to decrypt. */
  encryptionKeyId: string;
}

/**
 * The unambiguous string a key is derived from: a JSON array, so no choice of values can make two
 * different part lists collide. It stays in memory (the memory tier's key); only its hash goes to KV.
 */
export function listKeyMaterial(p: ListKeyParts): string {
  return JSON.stringify([
    CACHE_FORMAT_VERSION,
    p.tenant,
    p.generation,
    p.path,
    p.apiVersion ?? null,
    p.account ?? null,
    p.upstream,
    p.credential,
    p.encryptionKeyId,
    p.query,
  ]);
}

/**
 * The KV key for a list: `list:{tenant}:{sha256 hex of the material}`. Bounded length (≤ 133 bytes,
 * KV allows 512), the query is not readable in KV, and the tenant prefix lets an operator list or
 * delete one tenant's entries.
 */
export async function listKvKey(tenant: string, material: string): Promise<string> {
  return `${KV_PREFIX.list}${tenant}:${await sha256Hex(material)}`;
}

/** The KV key of a tenant's generation marker. */
export function generationKvKey(tenant: string): string {
  return `${KV_PREFIX.generation}${tenant}`;
}
