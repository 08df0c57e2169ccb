import { MEMORY_MAX_BYTES, MEMORY_MAX_ENTRIES } from "./constants.ts";
import { MemoryTier } from "./memory-tier.ts";

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

/**
 * Per-isolate state of the list cache. Workers reuse an isolate for many requests, so this is where
 * the memory tier, known generations, single-flight calls and marker-write pacing live; every
 * structure is bounded or self-cleaning.
 */
/** A list call in flight; `settled` is plain data that another request may read (never await). */
export interface InflightList {
  settled?: { ok: true; value: FetchedList } | { ok: false };
}

export const isolateCache = {
  memory: new MemoryTier(MEMORY_MAX_ENTRIES, MEMORY_MAX_BYTES),
  generations: new Map<string, KnownGeneration>(),
  markerWriters: new Map<string, MarkerWriter>(),
  /** Upstream list calls in flight, by key material: concurrent misses share one. */
  inflight: new Map<string, InflightList>(),
  /** When this isolate last wrote each list entry to KV (ms), by key material: paces the writes. */
  listWrites: new Map<string, number>(),
  /** Misconfiguration warnings already logged by this isolate. */
  warned: new Set<string>(),
};

/** Forgets everything this isolate cached (tests; never needed in production). */
export function resetIsolateCache(): void {
  isolateCache.memory = new MemoryTier(MEMORY_MAX_ENTRIES, MEMORY_MAX_BYTES);
  isolateCache.generations.clear();
  isolateCache.markerWriters.clear();
  isolateCache.inflight.clear();
  isolateCache.listWrites.clear();
  isolateCache.warned.clear();
}
