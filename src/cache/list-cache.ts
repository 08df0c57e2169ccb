import { sha256Hex } from "../encoding.ts";
import type { RequestState } from "../deps.ts";
import { errorFields } from "../log/logger.ts";
import type { Params } from "../stripe/form-codec.ts";
import type { UpstreamCall } from "../stripe/upstream.ts";
import {
  type CachedList,
  deriveTenantKey,
  importMasterKey,
  masterKeyId,
  openCachedList,
  sealCachedList,
} from "./cache-crypto.ts";
import {
  KEY_MEMO_MAX_ENTRIES,
  KV_MIN_TTL_SECONDS,
  MAX_CACHED_BODY_BYTES,
  SHARED_FETCH_MAX_WAIT_MS,
  SHARED_FETCH_POLL_MS,
  STALE_WHILE_REVALIDATE_SECONDS,
} from "./constants.ts";
import { currentGeneration } from "./invalidation.ts";
import { type FetchedList, type InflightList, isolateCache } from "./isolate-state.ts";
import { canonicalListQuery, listKeyMaterial, listKvKey } from "./list-key.ts";
import { createIsolateCache } from "../isolate-cache.ts";

export type CacheResult = "HIT" | "MISS" | "STALE" | "BYPASS";

/** The caller's response and, for the access log, how the cache answered. */
export interface ListAnswer {
  response: Response;
  cache: CacheResult;
  /** Stripe's status of the answer this request shared with another one in flight (it called no upstream itself). */
  joinedStatus?: number;
}

/** What the list cache needs to know about one list request. */
export interface ListCacheInput {
  tenant: string;
  /** Only server callers are cached: a browser's view of a list may differ, and must never be served to anyone else. */
  role: "server" | "browser";
  ttlSeconds: number;
  /** The validated parameters forwarded upstream. */
  params: Params;
  /** The upstream call (path, version, account, key) the list would be answered by. */
  call: UpstreamCall;
  /** Upstream origin. */
  upstream: string;
  /** The caller's `Cache-Control` request header. */
  cacheControl: string | null;
}

/**
 * Answers a list through the cache: memory tier, then KV, then Stripe (one call per key per isolate
 * however many requests miss at once). `fetchList` returns the caller's response as the proxy shapes
 * it (secrets already stripped); its bytes are what is cached, so a HIT answers exactly what the MISS
 * did. Fresh entries are HITs; entries in the stale window are served as STALE while one refresh
 * runs in `waitUntil`. Lists with `expand`, browser callers, `Cache-Control: no-cache|no-store`, a
 * missing or invalid CACHE_ENCRYPTION_KEY and an unreadable generation marker BYPASS (no-cache still
 * stores the fresh answer). KV errors never fail the request: they are logged and the list comes from
 * upstream. Every response carries `X-Cache` and `Age`; the result is returned for the access log.
 */
export async function listThroughCache(
  input: ListCacheInput,
  state: RequestState,
  fetchList: () => Promise<Response>,
): Promise<ListAnswer> {
  const plan = await planLookup(input, state);
  if (plan.kind === "bypass") {
    const fetched = await fetchShared(undefined, fetchList, state);
    if (plan.refresh && isCacheable(fetched)) storeFetched(plan.refresh, fetched, state);
    return respond(fetched, "BYPASS", state);
  }

  const now = state.deps.now();
  const memory = isolateCache.memory.get(plan.material)?.list;
  if (memory && isFresh(memory, plan.ttlMs, now)) return respond(memory, "HIT", state);

  let best = memory;
  const fromKv = await readKv(plan, state);
  if (fromKv && (!best || fromKv.storedAt > best.storedAt)) {
    best = fromKv;
    isolateCache.memory.set(plan.material, { tenant: plan.tenant, list: fromKv });
  }
  if (best && isFresh(best, plan.ttlMs, now)) return respond(best, "HIT", state);
  if (best && now - best.storedAt < plan.ttlMs + STALE_WHILE_REVALIDATE_SECONDS * 1000) {
    state.ctx.waitUntil(refreshInBackground(plan, fetchList, state));
    return respond(best, "STALE", state);
  }

  const fetched = await fetchShared(plan.material, fetchList, state);
  if (isCacheable(fetched) && !fetched.shared) storeFetched(plan, fetched, state);
  return respond(fetched, "MISS", state);
}

interface CachePlan {
  kind: "cache";
  tenant: string;
  material: string;
  ttlMs: number;
  kv: KVNamespace;
  key: CryptoKey;
  /** Computed on first use: the memory tier does not need it. */
  kvKey?: Promise<string>;
}

type Plan = CachePlan | { kind: "bypass"; refresh?: CachePlan };

async function planLookup(input: ListCacheInput, state: RequestState): Promise<Plan> {
  if (input.role !== "server") return { kind: "bypass" };
  const query = canonicalListQuery(input.params);
  if (!query.cacheable) return { kind: "bypass" };
  const directives = cacheDirectives(input.cacheControl);
  if (directives.noStore) return { kind: "bypass" };
  const kv = state.env.LIST_CACHE;
  if (!kv) return cacheDisabled("LIST_CACHE", "binding missing", state);
  const master = await masterKeyFor(state.env.CACHE_ENCRYPTION_KEY);
  if (!master.ok) return cacheDisabled("CACHE_ENCRYPTION_KEY", master.reason, state);
  const generation = await currentGeneration(input.tenant, kv, state);
  if (generation === undefined) return { kind: "bypass" };
  const [key, credential] = await Promise.all([tenantKeyFor(master, input.tenant), credentialFingerprint(input.call.secretKey)]);
  const plan: CachePlan = {
    kind: "cache",
    tenant: input.tenant,
    material: listKeyMaterial({
      tenant: input.tenant,
      generation,
      path: input.call.path,
      query: query.canonical,
      apiVersion: input.call.apiVersion,
      account: input.call.account,
      upstream: input.upstream,
      credential,
      encryptionKeyId: master.id,
    }),
    ttlMs: Math.max(input.ttlSeconds, KV_MIN_TTL_SECONDS) * 1000,
    kv,
    key,
  };
  return directives.noCache ? { kind: "bypass", refresh: plan } : plan;
}

/** A misconfiguration that turns the cache off: logged once per isolate and reason (every request is still a BYPASS in the access log). */
function cacheDisabled(binding: string, detail: string, state: RequestState): Plan {
  const reason = `${binding}: ${detail}`;
  if (!isolateCache.warned.has(reason)) {
    isolateCache.warned.add(reason);
    state.log.warn("list_cache_disabled", { request_id: state.requestId, binding, detail: `${detail}; lists are not cached` });
  }
  return { kind: "bypass" };
}

/** The request directives that matter here: `no-cache` (revalidate: bypass, then store) and `no-store` (bypass, store nothing). */
export function cacheDirectives(header: string | null): { noCache: boolean; noStore: boolean } {
  const names = (header ?? "").split(",").map((d) => d.trim().split("=")[0]?.trim().toLowerCase());
  return { noCache: names.includes("no-cache"), noStore: names.includes("no-store") };
}

function isFresh(list: CachedList, ttlMs: number, now: number): boolean {
  return now - list.storedAt < ttlMs;
}

function kvKeyOf(plan: CachePlan): Promise<string> {
  plan.kvKey ??= listKvKey(plan.tenant, plan.material);
  return plan.kvKey;
}

async function readKv(plan: CachePlan, state: RequestState): Promise<CachedList | undefined> {
  const kvKey = await kvKeyOf(plan);
  let value: ArrayBuffer | null;
  try {
    value = await plan.kv.get(kvKey, "arrayBuffer");
  } catch (err) {
    state.log.warn("kv_get_failed", {
      request_id: state.requestId,
      tenant: plan.tenant,
      detail: "list entry",
      ...errorFields(err),
    });
    return undefined;
  }
  if (value === null) return undefined;
  const opened = await openCachedList(plan.key, kvKey, value);
  if (!opened)
    state.log.warn("cache_value_unreadable", {
      request_id: state.requestId,
      tenant: plan.tenant,
      detail: "list entry did not decrypt; refetching",
    });
  return opened;
}

type Shared = FetchedList & { shared: boolean };

/**
 * Runs `fetchList` once per key material in this isolate: a request that misses while another one
 * is already fetching the same key waits for that answer instead of calling Stripe again.
 */
async function fetchShared(
  material: string | undefined,
  fetchList: () => Promise<Response>,
  state: RequestState,
): Promise<Shared> {
  const pending = material === undefined ? undefined : isolateCache.inflight.get(material);
  if (pending) {
    const fetched = await joinInflight(pending);
    if (fetched) {
      // A copy: each response owns its body bytes.
      return { ...fetched, body: fetched.body.slice(), shared: true };
    }
  }
  const entry: InflightList = {};
  if (material !== undefined) isolateCache.inflight.set(material, entry);
  try {
    const response = await fetchList();
    const body = new Uint8Array(await response.arrayBuffer());
    const value: FetchedList = {
      status: response.status,
      headers: [...response.headers],
      body,
      storedAt: state.deps.now(),
      stripeVersion: response.headers.get("stripe-version") ?? undefined,
    };
    entry.settled = { ok: true, value };
    return { ...value, shared: false };
  } catch (err) {
    entry.settled = { ok: false };
    throw err;
  } finally {
    if (material !== undefined && isolateCache.inflight.get(material) === entry) isolateCache.inflight.delete(material);
  }
}

/** Waits, on this request's own timers, for another request's list call; undefined if it failed or took too long. */
async function joinInflight(entry: InflightList): Promise<FetchedList | undefined> {
  for (let waited = 0; !entry.settled && waited < SHARED_FETCH_MAX_WAIT_MS; waited += SHARED_FETCH_POLL_MS) {
    await new Promise((resolve) => setTimeout(resolve, SHARED_FETCH_POLL_MS));
  }
  return entry.settled?.ok ? entry.settled.value : undefined;
}

function isCacheable(fetched: FetchedList): boolean {
  return fetched.status === 200 && fetched.body.byteLength <= MAX_CACHED_BODY_BYTES;
}

/** Puts an upstream answer in the memory tier now and in KV (encrypted) in the background. */
function storeFetched(plan: CachePlan, fetched: FetchedList, state: RequestState): void {
  const list: CachedList = { storedAt: fetched.storedAt, stripeVersion: fetched.stripeVersion, body: fetched.body };
  isolateCache.memory.set(plan.material, { tenant: plan.tenant, list });
  state.ctx.waitUntil(writeKv(plan, list, state));
}

async function writeKv(plan: CachePlan, list: CachedList, state: RequestState): Promise<void> {
  if (!claimListWrite(plan.material, state.deps.now())) return;
  try {
    const kvKey = await kvKeyOf(plan);
    const sealed = await sealCachedList(plan.key, kvKey, list);
    await plan.kv.put(kvKey, sealed, { expirationTtl: plan.ttlMs / 1000 + STALE_WHILE_REVALIDATE_SECONDS });
  } catch (err) {
    state.log.warn("kv_put_failed", {
      request_id: state.requestId,
      tenant: plan.tenant,
      detail: "list entry",
      ...errorFields(err),
    });
  }
}

/**
 * Whether this isolate may write the list entry now (KV: 1 write/s per key); records the write if so.
 * A skipped write loses nothing: the memory tier holds the answer, and KV's copy is under a second old.
 */
function claimListWrite(material: string, now: number): boolean {
  if (isolateCache.listWrites.has(material, now)) return false;
  isolateCache.listWrites.set(material, true, now);
  return true;
}

/** One background refresh per key: a STALE answer while another refresh runs starts none. */
async function refreshInBackground(plan: CachePlan, fetchList: () => Promise<Response>, state: RequestState): Promise<void> {
  if (isolateCache.inflight.has(plan.material)) return;
  try {
    const fetched = await fetchShared(plan.material, fetchList, state);
    if (isCacheable(fetched)) {
      const list: CachedList = { storedAt: fetched.storedAt, stripeVersion: fetched.stripeVersion, body: fetched.body };
      isolateCache.memory.set(plan.material, { tenant: plan.tenant, list });
      await writeKv(plan, list, state);
    }
  } catch (err) {
    state.log.warn("list_refresh_failed", { request_id: state.requestId, tenant: plan.tenant, ...errorFields(err) });
  }
}

/** The headers `respond` sets (a fetched answer's own copies of them are replaced). */
const CACHE_HEADER_NAMES: ReadonlySet<string> = new Set(["x-cache", "age"]);

/**
 * The caller's response. Cached answers replay the body and Stripe-Version, with the proxy's own
 * Request-Id (no Stripe request served them), set here so the router need not re-wrap the response.
 */
function respond(list: CachedList | Shared, result: CacheResult, state: RequestState): ListAnswer {
  const age = result === "HIT" || result === "STALE" ? Math.max(0, Math.floor((state.deps.now() - list.storedAt) / 1000)) : 0;
  const cacheHeaders: [string, string][] = [
    ["X-Cache", result],
    ["Age", String(age)],
  ];
  // A fetched answer keeps its own headers; a cached one gets the ones the MISS had. Built as a list
  // and handed to the Response once (every Headers call crosses into the runtime).
  const headers: [string, string][] =
    "headers" in list
      ? [...list.headers.filter(([name]) => !CACHE_HEADER_NAMES.has(name.toLowerCase())), ...cacheHeaders]
      : [
          ["Content-Type", "application/json"],
          ["Cache-Control", "no-store"],
          ["Request-Id", state.requestId],
          ...(list.stripeVersion ? [["Stripe-Version", list.stripeVersion] as [string, string]] : []),
          ...cacheHeaders,
        ];
  const status = "status" in list ? list.status : 200;
  const response = new Response(list.body, { status, headers });
  return "shared" in list && list.shared ? { response, cache: result, joinedStatus: list.status } : { response, cache: result };
}

type MasterKey = { ok: true; key: CryptoKey; id: string } | { ok: false; reason: string };
/** The imported master key, for the last CACHE_ENCRYPTION_KEY value seen (an isolate sees one). */
const masterKeys = createIsolateCache<unknown, Promise<MasterKey>>({ maxEntries: 1 });
const tenantKeys = createIsolateCache<string, Promise<CryptoKey>>({ maxEntries: KEY_MEMO_MAX_ENTRIES });
const fingerprints = createIsolateCache<string, Promise<string>>({ maxEntries: KEY_MEMO_MAX_ENTRIES });

function masterKeyFor(source: unknown): Promise<MasterKey> {
  const known = masterKeys.get(source);
  if (known) return known;
  const result = importMasterKey(source).then(
    async (r): Promise<MasterKey> => (r.ok ? { ok: true, key: r.key, id: await masterKeyId(r.key) } : r),
  );
  masterKeys.set(source, result);
  tenantKeys.clear();
  return result;
}

function tenantKeyFor(master: { key: CryptoKey; id: string }, tenant: string): Promise<CryptoKey> {
  const memoKey = `${master.id}:${tenant}`;
  let key = tenantKeys.get(memoKey);
  if (!key) {
    key = deriveTenantKey(master.key, tenant);
    tenantKeys.set(memoKey, key);
  }
  return key;
}

/** SHA-256 of the upstream Stripe key: tells test from live mode and one account from another in the cache key. */
function credentialFingerprint(secretKey: string): Promise<string> {
  let fp = fingerprints.get(secretKey);
  if (!fp) {
    fp = sha256Hex(`identity-edge list-cache credential\n${secretKey}`);
    fingerprints.set(secretKey, fp);
  }
  return fp;
}
