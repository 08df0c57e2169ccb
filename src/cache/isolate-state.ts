import { createIsolateCache, registerIsolateState } from "../isolate-cache.ts";
import type { CachedList } from "./cache-crypto.ts";
import { LIST_WRITE_INTERVAL_MS, LIST_WRITE_MEMO_MAX_ENTRIES, MEMORY_MAX_BYTES, MEMORY_MAX_ENTRIES } from "./constants.ts";

/** A tenant's generation as this isolate knows it, and when it was last confirmed from KV. */
export interface KnownGeneration {
  generation: string;
  /** ms (deps.now) when KV was last read or this isolate bumped it; trusted for MEMORY_STALENESS_MS. */
  checkedAt: number;
}

/** The pacing of one tenant's marker writes (KV: 1 write/s per key). */
export interface MarkerWriter {
  /** ms of the last put attempt (successful or not). */
  lastAttemptAt: number;
  /** A write loop is running (in some request's waitUntil); later bumps ride on it. */
  running: boolean;
}

/** An upstream list answer, shared by every request waiting on the same key. */
export interface FetchedList {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  storedAt: number;
  stripeVersion: string | undefined;
}

/** A list call in flight; `settled` is plain data that another request may read (never await). */
export interface InflightList {
  settled?: { ok: true; value: FetchedList } | { ok: false };
}

/**
 * Per-isolate state of the list cache. Workers reuse an isolate for many requests, so this is where
 * the memory tier, known generations, single-flight calls and marker-write pacing live; every
 * structure is bounded (src/isolate-cache.ts) or holds one entry per tenant or call in flight, and
 * `resetIsolateCaches()` forgets all of it.
 */
export const isolateCache = {
  /**
   * The in-isolate tier in front of KV: decrypted list responses by key material, so a hit costs
   * neither a KV read nor a decryption. LRU bounded by entries and bytes. The material holds the
   * tenant's generation: an invalidation makes the old entries unreachable, and dropping the tenant's
   * entries (`deleteWhere`) frees them at once.
   */
  memory: createIsolateCache<string, { tenant: string; list: CachedList }>({
    maxEntries: MEMORY_MAX_ENTRIES,
    weight: { of: (entry) => entry.list.body.byteLength, max: MEMORY_MAX_BYTES },
  }),
  /** One entry per tenant this isolate served from the cache. */
  generations: registerIsolateState(new Map<string, KnownGeneration>()),
  /** One entry per tenant this isolate invalidated. */
  markerWriters: registerIsolateState(new Map<string, MarkerWriter>()),
  /** Upstream list calls in flight, by key material: concurrent misses share one (removed when settled). */
  inflight: registerIsolateState(new Map<string, InflightList>()),
  /** List entries this isolate wrote to KV within the last LIST_WRITE_INTERVAL_MS, by key material: paces the writes. */
  listWrites: createIsolateCache<string, true>({ maxEntries: LIST_WRITE_MEMO_MAX_ENTRIES, ttlMs: LIST_WRITE_INTERVAL_MS }),
  /** Misconfiguration warnings already logged by this isolate (a handful of fixed reasons). */
  warned: registerIsolateState(new Set<string>()),
};
