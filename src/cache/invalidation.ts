import type { RequestState } from "../deps.ts";
import { errorFields } from "../log/logger.ts";
import type { OperationSpec } from "../stripe/operations.ts";
import {
  INITIAL_GENERATION,
  MARKER_RETRY_DELAYS_MS,
  MARKER_TTL_SECONDS,
  MARKER_WRITE_INTERVAL_MS,
  MEMORY_STALENESS_MS,
} from "./constants.ts";
import { isGeneration, laterGeneration, nextGeneration } from "./generation.ts";
import { isolateCache, type MarkerWriter } from "./isolate-state.ts";
import { generationKvKey } from "./list-key.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * The tenant's current generation: this isolate's knowledge while it is younger than
 * MEMORY_STALENESS_MS, else re-read from KV (`gen:{tenant}`), keeping the later of the two so a
 * generation never goes backwards here. Undefined when KV cannot be read: the caller then bypasses
 * the cache (a guessed generation could serve a list from before an invalidation).
 */
export async function currentGeneration(tenant: string, kv: KVNamespace, state: RequestState): Promise<string | undefined> {
  const known = isolateCache.generations.get(tenant);
  const now = state.deps.now();
  if (known && now - known.checkedAt < MEMORY_STALENESS_MS) return known.generation;
  let stored: string | null;
  try {
    stored = await kv.get(generationKvKey(tenant), "text");
  } catch (err) {
    state.log.warn("kv_get_failed", { request_id: state.requestId, tenant, detail: "generation marker", ...errorFields(err) });
    return undefined;
  }
  let fromKv = INITIAL_GENERATION;
  if (stored !== null) {
    if (isGeneration(stored)) fromKv = stored;
    else
      state.log.warn("cache_marker_unreadable", {
        request_id: state.requestId,
        tenant,
        detail: "gen marker is not a generation; ignored",
      });
  }
  // Re-read what this isolate knows now: a bump may have happened while KV answered.
  const latest = laterGeneration(isolateCache.generations.get(tenant)?.generation ?? INITIAL_GENERATION, fromKv);
  isolateCache.generations.set(tenant, { generation: latest, checkedAt: state.deps.now() });
  return latest;
}

/**
 * Invalidates every cached list of a tenant: a new generation, effective at once in this isolate
 * (memory tier included), and written to KV for the other isolates and locations within KV's write
 * limit of 1/s per key: a bump less than a second after the last write is carried by one deferred
 * write, and a failed write (429, throw) is retried with backoff, all inside `ctx.waitUntil`.
 */
export function invalidateTenantLists(tenant: string, state: RequestState): void {
  const now = state.deps.now();
  const current = isolateCache.generations.get(tenant)?.generation ?? INITIAL_GENERATION;
  const generation = nextGeneration(current, now, crypto.getRandomValues(new Uint8Array(4)));
  isolateCache.generations.set(tenant, { generation, checkedAt: now });
  isolateCache.memory.deleteWhere((_, entry) => entry.tenant === tenant);
  const kv = state.env.LIST_CACHE;
  // Without an encryption key nothing is ever cached, so there is nothing for other isolates to drop.
  if (!kv || typeof state.env.CACHE_ENCRYPTION_KEY !== "string" || state.env.CACHE_ENCRYPTION_KEY === "") return;
  let writer = isolateCache.markerWriters.get(tenant);
  if (!writer) {
    writer = { lastAttemptAt: Number.NEGATIVE_INFINITY, running: false };
    isolateCache.markerWriters.set(tenant, writer);
  }
  if (writer.running) return;
  writer.running = true;
  state.ctx.waitUntil(writeMarker(tenant, kv, writer, state));
}

/** Invalidates the tenant's lists after a write operation Stripe accepted (2xx); refusals change nothing. */
export function invalidateAfterWrite(op: OperationSpec, status: number, tenant: string, state: RequestState): void {
  if (op.writes && status >= 200 && status < 300) invalidateTenantLists(tenant, state);
}

/**
 * Writes the tenant's latest generation to KV until KV holds what this isolate knows, pacing writes
 * MARKER_WRITE_INTERVAL_MS apart and retrying failures with MARKER_RETRY_DELAYS_MS. Never throws.
 */
async function writeMarker(tenant: string, kv: KVNamespace, writer: MarkerWriter, state: RequestState): Promise<void> {
  let failures = 0;
  try {
    for (;;) {
      const wait = Math.min(MARKER_WRITE_INTERVAL_MS, writer.lastAttemptAt + MARKER_WRITE_INTERVAL_MS - state.deps.now());
      if (wait > 0) await sleep(wait);
      const generation = isolateCache.generations.get(tenant)?.generation ?? INITIAL_GENERATION;
      writer.lastAttemptAt = state.deps.now();
      try {
        await kv.put(generationKvKey(tenant), generation, { expirationTtl: MARKER_TTL_SECONDS });
      } catch (err) {
        const delay = MARKER_RETRY_DELAYS_MS[failures++];
        if (delay === undefined) {
          state.log.error("cache_invalidation_not_persisted", {
            request_id: state.requestId,
            tenant,
            detail: "gen marker write failed after retries; other isolates may serve lists until their TTL",
            ...errorFields(err),
          });
          return;
        }
        state.log.warn("kv_put_failed", {
          request_id: state.requestId,
          tenant,
          detail: "gen marker; will retry",
          ...errorFields(err),
        });
        await sleep(delay);
        continue;
      }
      // A bump that arrived while the put was in flight is not in KV yet: write again, paced.
      if ((isolateCache.generations.get(tenant)?.generation ?? INITIAL_GENERATION) === generation) return;
    }
  } finally {
    writer.running = false;
  }
}
