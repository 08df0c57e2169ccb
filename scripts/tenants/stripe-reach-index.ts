import { sha256Hex } from "../../src/encoding.ts";
import type { ConfigIssue } from "../../src/config/schema.ts";
import { parseSealedSecret } from "../../src/tenancy/key-encryption.ts";
import {
  parseIndexValue,
  ReachIndexSchema,
  secretKvKey,
  stripeReachKvKey,
  tenantKvKey,
} from "../../src/tenancy/registry-layout.ts";
import { findSharedStripeCredentials, stripeReachOf } from "../lib/tenant-checks.ts";
import type { KvChange, RegistryReader } from "./registry-store.ts";

/**
 * The registry's "one Stripe account, one tenant" index (`stripe:{sha256 of credential+account}` →
 * `{ "tenant": id }`), which lets the CLI find, in one read, the tenant that already reaches Stripe the
 * way a config being written would: by the same key binding, or by a sealed key with the same
 * fingerprint, on the same account. Like the other indexes it only says where to look: a hit counts
 * only when that tenant's own config (and sealed key) confirms it (`findSharedStripeCredentials`).
 */

/** The fingerprint stored with a sealed Stripe key (`secret:{id}:stripe_key`), if any. */
export function sealedKeyFingerprint(text: string | null | undefined): string | undefined {
  return text ? parseSealedSecret(text)?.fingerprint : undefined;
}

/** The index key for how a raw config reaches Stripe; undefined when it names nothing comparable. */
export async function reachKvKey(config: unknown, fingerprint: string | undefined): Promise<string | undefined> {
  const reach = stripeReachOf(config, fingerprint);
  return reach && stripeReachKvKey(await sha256Hex(`${reach.credential}\n${reach.account}`));
}

/** The tenant an index value names. */
export function reachOwner(text: string | null | undefined): string | undefined {
  return text ? parseIndexValue(ReachIndexSchema, text)?.tenant : undefined;
}

/** The other tenant's config and sealed-key fingerprint, read in one round trip. */
export async function readReachOwner(
  reader: RegistryReader,
  owner: string,
): Promise<{ config: unknown; fingerprint: string | undefined }> {
  const values = await reader.getMany([tenantKvKey(owner), secretKvKey(owner, "stripe_key")]);
  let config: unknown;
  try {
    config = JSON.parse(values.get(tenantKvKey(owner)) ?? "null");
  } catch {
    config = undefined;
  }
  return { config, fingerprint: sealedKeyFingerprint(values.get(secretKvKey(owner, "stripe_key"))) };
}

/** The cross-tenant rule between tenant `id` (as it would be) and the tenant the index names. */
export function sharedReachIssues(
  owner: string,
  theirs: { config: unknown; fingerprint: string | undefined },
  id: string,
  mine: { config: unknown; fingerprint: string | undefined },
): ConfigIssue[] {
  const fingerprints = new Map<string, string>();
  if (theirs.fingerprint) fingerprints.set(owner, theirs.fingerprint);
  if (mine.fingerprint) fingerprints.set(id, mine.fingerprint);
  return findSharedStripeCredentials({ [owner]: theirs.config, [id]: mine.config }, fingerprints);
}

/** The index writes that move tenant `id` from `oldKey` to `nextKey` (either may be undefined). */
export function reachIndexChanges(
  id: string,
  oldKey: string | undefined,
  nextKey: string | undefined,
  index: ReadonlyMap<string, string | null>,
): KvChange[] {
  const changes: KvChange[] = [];
  const wanted = JSON.stringify({ tenant: id });
  if (nextKey !== undefined && index.get(nextKey) !== wanted)
    changes.push({ op: "put", key: nextKey, value: wanted, summary: `index how ${id} reaches Stripe` });
  if (oldKey !== undefined && oldKey !== nextKey && reachOwner(index.get(oldKey)) === id)
    changes.push({ op: "delete", key: oldKey, summary: `unindex how ${id} reached Stripe` });
  return changes;
}

/**
 * `set-stripe-key` for a tenant whose config reads its key from the registry: refuses a key another
 * tenant already holds on the same account, and moves the tenant's index entry to the new key's
 * fingerprint. A tenant that still reads a binding is indexed when `put` switches it to the registry.
 */
export async function planSealedKeyReach(
  reader: RegistryReader,
  id: string,
  config: unknown,
  newFingerprint: string | undefined,
): Promise<{ changes: KvChange[]; errors: ConfigIssue[] }> {
  const oldFingerprint = sealedKeyFingerprint(
    (await reader.getMany([secretKvKey(id, "stripe_key")])).get(secretKvKey(id, "stripe_key")),
  );
  const oldKey = await reachKvKey(config, oldFingerprint);
  const nextKey = await reachKvKey(config, newFingerprint);
  const keys = [oldKey, nextKey].filter((k): k is string => k !== undefined);
  const index = keys.length > 0 ? await reader.getMany(keys) : new Map<string, string | null>();
  const owner = nextKey === undefined ? undefined : reachOwner(index.get(nextKey));
  if (owner !== undefined && owner !== id) {
    const issues = sharedReachIssues(owner, await readReachOwner(reader, owner), id, { config, fingerprint: newFingerprint });
    if (issues.length > 0) return { changes: [], errors: issues };
  }
  return { changes: reachIndexChanges(id, oldKey, nextKey, index), errors: [] };
}
