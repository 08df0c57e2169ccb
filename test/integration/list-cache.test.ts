/**
 * The KV list cache end to end: HIT answers the MISS's bytes without an upstream call, tenants never
 * see each other's lists, writes invalidate, KV holds only ciphertext, KV failures never fail a
 * request, concurrent misses share one upstream call, invalidation writes respect KV's 1 write/s.
 */
import { env as workerEnv } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { resetIsolateCache } from "../../src/cache/isolate-state.ts";
import type { Env } from "../../src/env.ts";
import { createHarness, type Harness, type HarnessOptions, PROXY_KEYS, SECRETS, testTenants } from "../helpers/harness.ts";
import { useLogCapture } from "../helpers/log-capture.ts";
import { sha256Hex } from "../../src/encoding.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const KV = (workerEnv as unknown as Env).LIST_CACHE as KVNamespace;
const TWIN_KEY = `iek_test_fake_twin_${"T".repeat(43)}`;
const logs = useLogCapture({ secrets: [...SECRETS, TWIN_KEY] });

/** Storage is per test file, not per test: every test starts with an empty KV and a cold isolate cache. */
beforeEach(async () => {
  resetIsolateCache();
  const { keys } = await KV.list();
  await Promise.all(keys.map((k) => KV.delete(k.name)));
});

async function harness(options: HarnessOptions = {}): Promise<Harness> {
  return createHarness({ listCache: true, ...options });
}

interface Listed {
  status: number;
  xCache: string | null;
  age: string | null;
  text: string;
  headers: Headers;
}

async function list(h: Harness, query = "", init: { key?: string; headers?: Record<string, string> } = {}): Promise<Listed> {
  const res = await h.call(`${SESSIONS}${query ? `?${query}` : ""}`, {
    key: init.key ?? PROXY_KEYS.acme,
    headers: init.headers ?? {},
  });
  return {
    status: res.status,
    xCache: res.headers.get("x-cache"),
    age: res.headers.get("age"),
    text: await res.text(),
    headers: res.headers,
  };
}

/** Upstream list calls the stub has seen. */
const listCalls = (h: Harness) => h.stub.requests.filter((r) => r.method === "GET" && r.path === SESSIONS).length;

async function create(h: Harness, key: string = PROXY_KEYS.acme): Promise<{ id: string; client_secret: string; url: string }> {
  const res = await h.post(SESSIONS, "type=document", { key });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id: string; client_secret: string; url: string };
  logs.secret(body.client_secret, body.url);
  return body;
}

/** A KV binding that reports its calls and can be told to fail. */
function spyKv(inner: KVNamespace, hooks: { get?: (key: string) => void; put?: (key: string) => void }): KVNamespace {
  return {
    get: (key: string, ...rest: unknown[]) => {
      hooks.get?.(key);
      return (inner.get as (...a: unknown[]) => unknown)(key, ...rest);
    },
    put: (key: string, ...rest: unknown[]) => {
      hooks.put?.(key);
      return (inner.put as (...a: unknown[]) => unknown)(key, ...rest);
    },
    delete: (key: string) => inner.delete(key),
    list: (...a: unknown[]) => (inner.list as (...b: unknown[]) => unknown)(...a),
    getWithMetadata: (...a: unknown[]) => (inner.getWithMetadata as (...b: unknown[]) => unknown)(...a),
  } as unknown as KVNamespace;
}

const warnings = (event: string) => logs.records().filter((r) => r.level === "warn" && r.event === event);

describe("hits and misses", () => {
  it("a HIT answers the MISS's exact bytes without calling Stripe, and carries X-Cache and Age", async () => {
    const h = await harness();
    await create(h);
    await create(h);
    const miss = await list(h);
    expect(miss.status).toBe(200);
    expect(miss.xCache).toBe("MISS");
    expect(miss.age).toBe("0");
    expect(listCalls(h)).toBe(1);

    const hit = await list(h);
    expect(hit.xCache).toBe("HIT");
    expect(hit.text).toBe(miss.text);
    expect(hit.headers.get("content-type")).toBe("application/json");
    expect(hit.headers.get("cache-control")).toBe("no-store");
    expect(hit.headers.get("stripe-version")).toBe(miss.headers.get("stripe-version"));
    expect(hit.headers.get("request-id")).toMatch(/^req_/);
    expect(Number(hit.age)).toBeGreaterThanOrEqual(0);
    expect(listCalls(h)).toBe(1);

    const page = JSON.parse(hit.text) as { data: Record<string, unknown>[] };
    expect(page.data).toHaveLength(2);
    for (const item of page.data) {
      // Issue 15 point 3: the keys stay (Stripe's schema has them), emptied to null.
      expect(item).toHaveProperty("client_secret", null);
      expect(item).toHaveProperty("url", null);
    }
    const access = logs.records().filter((r) => r.event === "request" && r.operation === "list");
    expect(access.map((r) => r.cache)).toEqual(["MISS", "HIT"]);
  });

  it("a HIT from KV (cold isolate) answers the same bytes", async () => {
    const h = await harness();
    await create(h);
    const miss = await list(h, "limit=5");
    resetIsolateCache();
    const hit = await list(h, "limit=5");
    expect(hit.xCache).toBe("HIT");
    expect(hit.text).toBe(miss.text);
    expect(listCalls(h)).toBe(1);
  });

  it("queries Stripe answers the same share an entry; different ones never do", async () => {
    const h = await harness();
    await create(h);
    expect((await list(h, "status=requires_input&limit=3")).xCache).toBe("MISS");
    expect((await list(h, "limit=3&status=requires_input")).xCache).toBe("HIT");
    expect((await list(h)).xCache).toBe("MISS");
    expect((await list(h, "limit=10")).xCache).toBe("HIT");
    expect((await list(h, "created[gte]=1&created[lte]=9999999999")).xCache).toBe("MISS");
    expect((await list(h, "created[lte]=9999999999&created[gte]=1")).xCache).toBe("HIT");
    expect((await list(h, "limit=4")).xCache).toBe("MISS");
    expect((await list(h, "status=verified&limit=3")).xCache).toBe("MISS");
    expect(listCalls(h)).toBe(5);
  });

  it("memory HITs can be served many times (the stored bytes are not consumed)", async () => {
    const h = await harness();
    await create(h);
    const miss = await list(h);
    for (let i = 0; i < 5; i++) expect((await list(h)).text).toBe(miss.text);
    expect(listCalls(h)).toBe(1);
  });

  it("Stripe errors are passed through and not cached", async () => {
    const h = await harness();
    const first = await list(h, "starting_after=vs_doesnotexist");
    expect(first.status).toBe(404);
    expect(first.xCache).toBe("MISS");
    const second = await list(h, "starting_after=vs_doesnotexist");
    expect(second.status).toBe(404);
    expect(listCalls(h)).toBe(2);
  });

  it("report lists are never cached", async () => {
    const h = await harness();
    for (let i = 0; i < 2; i++) {
      const res = await h.call("/v1/identity/verification_reports", { key: PROXY_KEYS.acme });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-cache")).toBeNull();
    }
    expect(h.stub.requests.filter((r) => r.path === "/v1/identity/verification_reports")).toHaveLength(2);
  });
});

describe("tenant isolation", () => {
  it("tenant A never sees tenant B's lists", async () => {
    const h = await harness();
    const a = await create(h, PROXY_KEYS.acme);
    const g = await create(h, PROXY_KEYS.globex);
    for (let round = 0; round < 2; round++) {
      const acme = await list(h, "", { key: PROXY_KEYS.acme });
      const globex = await list(h, "", { key: PROXY_KEYS.globex });
      expect(acme.text).toContain(a.id);
      expect(acme.text).not.toContain(g.id);
      expect(globex.text).toContain(g.id);
      expect(globex.text).not.toContain(a.id);
      expect([acme.xCache, globex.xCache]).toEqual(round === 0 ? ["MISS", "MISS"] : ["HIT", "HIT"]);
    }
  });

  it("two tenants with the same Stripe key and account are refused before the cache (one Stripe account, one tenant)", async () => {
    const tenants = await testTenants();
    const acme = tenants.acme as Record<string, unknown>;
    tenants.twin = {
      ...acme,
      hosts: [],
      path_prefix: undefined,
      server_keys: [{ name: "backend", sha256: await sha256Hex(TWIN_KEY) }],
    };
    delete (tenants.twin as Record<string, unknown>).path_prefix;
    const h = await harness({ tenants });
    // Each could read the other's sessions upstream, so neither is served (tenant_misconfigured); the
    // cache keys would still differ by tenant (test/unit/list-key.test.ts).
    expect((await list(h)).status).toBe(500);
    expect((await list(h, "", { key: TWIN_KEY })).status).toBe(500);
    expect(h.stub.requests).toHaveLength(0);
    expect((await KV.list({ prefix: "list:" })).keys).toEqual([]);
  });

  it("a tenant's invalidation leaves other tenants' entries alone", async () => {
    const h = await harness();
    await list(h, "", { key: PROXY_KEYS.globex });
    await create(h, PROXY_KEYS.acme);
    expect((await list(h, "", { key: PROXY_KEYS.globex })).xCache).toBe("HIT");
  });
});

describe("invalidation by writes", () => {
  const writes: [string, (h: Harness, id: string) => Promise<Response>][] = [
    ["create", (h) => h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme })],
    ["update", (h, id) => h.post(`${SESSIONS}/${id}`, "metadata[order]=42", { key: PROXY_KEYS.acme })],
    ["cancel", (h, id) => h.post(`${SESSIONS}/${id}/cancel`, "", { key: PROXY_KEYS.acme })],
    ["redact", (h, id) => h.post(`${SESSIONS}/${id}/redact`, "", { key: PROXY_KEYS.acme })],
  ];

  it.each(writes)("%s invalidates the tenant's lists at once", async (_name, write) => {
    const h = await harness();
    const session = await create(h);
    const before = await list(h);
    expect((await list(h)).xCache).toBe("HIT");
    const res = await write(h, session.id);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { client_secret?: string; url?: string };
    logs.secret(body.client_secret, body.url);
    const after = await list(h);
    expect(after.xCache).toBe("MISS");
    expect(after.text).not.toBe(before.text);
    expect(listCalls(h)).toBe(2);
    expect(await KV.get("gen:acme")).toMatch(/^[0-9a-z]{10}\.[0-9a-z]{4}\.[0-9a-f]{8}$/);
  });

  it("refused writes (at the edge or by Stripe) do not invalidate", async () => {
    const h = await harness();
    const session = await create(h);
    await list(h);
    const atEdge = await h.post(`${SESSIONS}/${session.id}`, "nonsense=1", { key: PROXY_KEYS.acme });
    expect(atEdge.status).toBe(400);
    await h.post(`${SESSIONS}/${session.id}/cancel`, "", { key: PROXY_KEYS.acme });
    const byStripe = await h.post(`${SESSIONS}/${session.id}/cancel`, "", { key: PROXY_KEYS.acme });
    expect(byStripe.status).toBe(400);
    expect((await list(h)).xCache).toBe("MISS"); // the first cancel invalidated
    const again = await h.post(`${SESSIONS}/${session.id}/cancel`, "", { key: PROXY_KEYS.acme });
    expect(again.status).toBe(400);
    expect((await list(h)).xCache).toBe("HIT");
  });

  it("POST /v1/cache/purge clears the caller's tenant only", async () => {
    const h = await harness();
    await list(h);
    await list(h, "", { key: PROXY_KEYS.globex });
    const purge = await h.post("/v1/cache/purge", "", { key: PROXY_KEYS.acmeReadOnly });
    expect(purge.status).toBe(200);
    expect(await purge.json()).toEqual({ object: "cache_purge", purged: true });
    expect((await list(h)).xCache).toBe("MISS");
    expect((await list(h, "", { key: PROXY_KEYS.globex })).xCache).toBe("HIT");
    const access = logs.records().find((r) => r.event === "request" && r.operation === "cache_purge");
    expect(access).toMatchObject({ tenant: "acme", role: "server", status: 200 });
  });

  it("purge needs a proxy key that may list", async () => {
    const tenants = await testTenants();
    const acme = tenants.acme as { server_keys: unknown[] };
    acme.server_keys.push({ name: "writer", sha256: await sha256Hex(TWIN_KEY), operations: ["create"] });
    const h = await harness({ tenants });
    expect((await h.post("/v1/cache/purge", "")).status).toBe(401);
    expect((await h.post("/v1/cache/purge", "", { key: `iek_${"x".repeat(43)}` })).status).toBe(401);
    const refused = await h.post("/v1/cache/purge", "", { key: TWIN_KEY });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("operation_not_allowed");
  });
});

describe("what KV holds", () => {
  it("only ciphertext: no client_secret, url, id or any plaintext item; keys are hashed", async () => {
    const h = await harness();
    const sessions = [await create(h), await create(h)];
    await list(h);
    await list(h, "client_reference_id=user-visible-marker");
    const { keys } = await KV.list();
    const names = keys.map((k) => k.name);
    expect(names.filter((n) => n.startsWith("list:"))).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^(list:acme:[0-9a-f]{64}|gen:acme)$/);
    expect(names.join(" ")).not.toContain("user-visible-marker");
    for (const name of names.filter((n) => n.startsWith("list:"))) {
      const raw = new Uint8Array((await KV.get(name, "arrayBuffer")) as ArrayBuffer);
      const asText = new TextDecoder("latin1").decode(raw);
      for (const needle of [
        "client_secret",
        "url",
        "vs_",
        "verification_session",
        "requires_input",
        "list",
        "2026-07-29",
        ...sessions.map((s) => s.id),
      ]) {
        expect(asText).not.toContain(needle);
      }
      for (const s of sessions) {
        expect(asText).not.toContain(s.client_secret);
        expect(asText).not.toContain(s.url);
      }
    }
  });

  it("entries expire with the tenant's TTL plus the stale window", async () => {
    const h = await harness();
    await list(h);
    const { keys } = await KV.list({ prefix: "list:" });
    const expiration = keys[0]?.expiration ?? 0;
    const remaining = expiration - Date.now() / 1000;
    expect(remaining).toBeGreaterThan(80);
    expect(remaining).toBeLessThanOrEqual(91);
  });

  it("without CACHE_ENCRYPTION_KEY the cache is off (BYPASS) and says so, and nothing is stored", async () => {
    const h = await createHarness({ listCache: false });
    expect((await list(h)).xCache).toBe("BYPASS");
    expect((await list(h)).xCache).toBe("BYPASS");
    expect(listCalls(h)).toBe(2);
    expect(warnings("list_cache_disabled")).toHaveLength(1); // once per isolate, not per request
    expect(warnings("list_cache_disabled")[0]).toMatchObject({ binding: "CACHE_ENCRYPTION_KEY" });
    await create(h); // nothing is cached anywhere, so a write does not spend a KV write on the marker
    expect((await KV.list()).keys).toHaveLength(0);
  });

  it("an invalid CACHE_ENCRYPTION_KEY also disables it", async () => {
    const h = await createHarness({ vars: { CACHE_ENCRYPTION_KEY: btoa("short") } });
    expect((await list(h)).xCache).toBe("BYPASS");
    expect(warnings("list_cache_disabled")[0]?.detail).toContain("32 bytes");
  });

  it("a value copied under another key is refused and refetched", async () => {
    const h = await harness();
    await list(h, "limit=1");
    await list(h, "limit=2");
    const { keys } = await KV.list({ prefix: "list:" });
    const [a, b] = keys.map((k) => k.name) as [string, string];
    await KV.put(b, (await KV.get(a, "arrayBuffer")) as ArrayBuffer);
    resetIsolateCache();
    const res = await list(h, "limit=2");
    expect(res.status).toBe(200);
    expect(res.xCache).toBe("MISS");
    expect(warnings("cache_value_unreadable")).toHaveLength(1);
  });
});

describe("bypass", () => {
  it("lists with expand are never cached", async () => {
    const h = await harness();
    await create(h);
    for (let i = 0; i < 2; i++) expect((await list(h, "expand[]=data.last_verification_report")).xCache).toBe("BYPASS");
    expect(listCalls(h)).toBe(2);
    expect((await KV.list({ prefix: "list:" })).keys).toHaveLength(0);
    expect(
      logs
        .records()
        .filter((r) => r.event === "request" && r.operation === "list")
        .map((r) => r.cache),
    ).toEqual(["BYPASS", "BYPASS"]);
  });

  it("Cache-Control: no-cache bypasses and refreshes the entry; no-store bypasses and stores nothing", async () => {
    const h = await harness();
    const session = await create(h);
    const old = await list(h);
    h.stub.setOutcome(session.id, "verified"); // changes Stripe's data without telling the proxy
    expect((await list(h)).text).toBe(old.text);
    const fresh = await list(h, "", { headers: { "Cache-Control": "no-cache" } });
    expect(fresh.xCache).toBe("BYPASS");
    expect(fresh.text).toContain('"verified"');
    const after = await list(h);
    expect(after.xCache).toBe("HIT");
    expect(after.text).toBe(fresh.text);

    expect((await list(h, "limit=7", { headers: { "Cache-Control": "no-store" } })).xCache).toBe("BYPASS");
    expect((await list(h, "limit=7")).xCache).toBe("MISS");
  });

  it("no-cache polling writes a list key to KV at most once a second (KV's per-key limit); the memory tier stays freshest", async () => {
    let offset = 0;
    const listPuts: number[] = [];
    const h = await harness({
      now: () => Date.now() + offset,
      kv: (kv) => spyKv(kv, { put: (key) => key.startsWith("list:") && listPuts.push(offset) }),
    });
    const session = await create(h);
    const noCache = { headers: { "Cache-Control": "no-cache" } };
    for (let i = 0; i < 5; i++) expect((await list(h, "", noCache)).xCache).toBe("BYPASS");
    expect(listCalls(h)).toBe(5);
    expect(listPuts).toEqual([0]);

    h.stub.setOutcome(session.id, "verified");
    const fresh = await list(h, "", noCache);
    expect(listPuts).toEqual([0]); // still inside the second: not written...
    expect((await list(h)).text).toBe(fresh.text); // ...but this isolate answers the fresh list

    offset = 1_000;
    await list(h, "", noCache);
    expect(listPuts).toEqual([0, 1_000]);
    resetIsolateCache(); // another isolate reads KV: the entry written a moment ago, verified included
    const cold = await list(h);
    expect(cold.xCache).toBe("HIT");
    expect(cold.text).toContain('"verified"');
  });

  it("browser callers never reach the cache (they may not list, even when a tenant lists it for them)", async () => {
    const tenants = await testTenants();
    const acme = tenants.acme as Record<string, unknown>;
    acme.browser = { origins: ["https://app.acme.test"], auth: { type: "none" }, operations: ["create", "retrieve", "list"] };
    const h = await harness({ tenants });
    await list(h); // a server caller fills the cache
    const res = await h.call(`/identity${SESSIONS}`, { host: "app.acme.test", headers: { "Sec-Fetch-Site": "same-origin" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-cache")).toBeNull();
    expect(await res.text()).not.toContain("vs_");
    expect(listCalls(h)).toBe(1);
  });
});

describe("KV failures never fail a request", () => {
  it("get throwing: the list comes from upstream and a warning is logged", async () => {
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          get: () => {
            throw new Error("KV GET failed: 503 Service Unavailable");
          },
        }),
    });
    await create(h);
    // Cold isolate: the generation marker cannot be read, so the cache is bypassed.
    for (let i = 0; i < 2; i++) {
      resetIsolateCache();
      const res = await list(h);
      expect(res.status).toBe(200);
      expect(res.xCache).toBe("BYPASS");
      expect(JSON.parse(res.text).object).toBe("list");
    }
    expect(listCalls(h)).toBe(2);
    expect(warnings("kv_get_failed")[0]).toMatchObject({
      tenant: "acme",
      detail: "generation marker",
      error_message: "KV GET failed: 503 Service Unavailable",
    });
    // Warm isolate (generation known from this isolate's own write): memory still serves.
    await create(h);
    expect((await list(h)).xCache).toBe("MISS");
    expect((await list(h)).xCache).toBe("HIT");
    expect(listCalls(h)).toBe(3);
  });

  it("a failing value read after a good marker read still answers (MISS) and warns", async () => {
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          get: (key) => {
            if (key.startsWith("list:")) throw new Error("KV GET failed: 429 Too Many Requests");
          },
        }),
    });
    const res = await list(h);
    expect(res.status).toBe(200);
    expect(res.xCache).toBe("MISS");
    expect(warnings("kv_get_failed")[0]?.detail).toBe("list entry");
  });

  it("put throwing (429): the request succeeds, the memory tier still serves, a warning is logged", async () => {
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          put: (key) => {
            if (key.startsWith("list:")) throw new Error("KV PUT failed: 429 Too Many Requests");
          },
        }),
    });
    const miss = await list(h);
    expect(miss.status).toBe(200);
    expect((await list(h)).xCache).toBe("HIT");
    expect(warnings("kv_put_failed")[0]).toMatchObject({ tenant: "acme", detail: "list entry" });
  });

  it("a marker write that fails is retried, and the invalidation is effective at once in the isolate", async () => {
    let failures = 1;
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          put: (key) => {
            if (key.startsWith("gen:") && failures-- > 0) throw new Error("KV PUT failed: 429 Too Many Requests");
          },
        }),
    });
    await list(h);
    await create(h); // the marker put fails once, then succeeds within waitUntil
    expect(warnings("kv_put_failed")[0]).toMatchObject({ detail: "gen marker; will retry" });
    expect(await KV.get("gen:acme")).toMatch(/^[0-9a-z]{10}\./);
    expect((await list(h)).xCache).toBe("MISS");
  });
});

describe("concurrency and KV write limits", () => {
  it("N concurrent misses in an isolate share one upstream call", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const h = await harness({
      upstream: (stub) => async (r) => {
        if (r.method === "GET") await sleep(50);
        return stub(r);
      },
    });
    await create(h);
    const results = await Promise.all(Array.from({ length: 8 }, () => list(h)));
    expect(listCalls(h)).toBe(1);
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.every((r) => r.status === 200 && r.xCache === "MISS")).toBe(true);
  });

  it("a burst of writes makes at most one marker write per second", async () => {
    const puts: number[] = [];
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          put: (key) => {
            if (key === "gen:acme") puts.push(Date.now());
          },
        }),
    });
    await Promise.all(
      Array.from({ length: 6 }, () => h.post(SESSIONS, "type=document", { key: PROXY_KEYS.acme }).then((r) => r.json())),
    );
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(puts.length).toBeLessThanOrEqual(2);
    for (let i = 1; i < puts.length; i++) expect((puts[i] ?? 0) - (puts[i - 1] ?? 0)).toBeGreaterThanOrEqual(990);
    // Whatever the pacing, KV ends with the isolate's latest generation.
    const latest = await KV.get("gen:acme");
    resetIsolateCache();
    await list(h);
    expect(await KV.get("gen:acme")).toBe(latest);
  });

  it("sequential writes are paced too", async () => {
    const puts: number[] = [];
    const h = await harness({
      kv: (kv) =>
        spyKv(kv, {
          put: (key) => {
            if (key === "gen:acme") puts.push(Date.now());
          },
        }),
    });
    for (let i = 0; i < 3; i++) await create(h);
    for (let i = 1; i < puts.length; i++) expect((puts[i] ?? 0) - (puts[i - 1] ?? 0)).toBeGreaterThanOrEqual(990);
  });
});

describe("staleness", () => {
  it("serves STALE within the window while one background refresh runs, then MISS beyond it", async () => {
    let offset = 0;
    const h = await harness({ now: () => Date.now() + offset });
    const session = await create(h);
    const miss = await list(h);
    offset = 5_000;
    const aged = await list(h);
    expect(aged.xCache).toBe("HIT");
    expect(Number(aged.age)).toBeGreaterThanOrEqual(5);

    h.stub.setOutcome(session.id, "verified");
    offset = 61_000; // past acme's 60 s TTL, inside the 30 s stale window
    const stale = await list(h);
    expect(stale.xCache).toBe("STALE");
    expect(stale.text).toBe(miss.text);
    expect(listCalls(h)).toBe(2); // the refresh ran in waitUntil
    const refreshed = await list(h);
    expect(refreshed.xCache).toBe("HIT");
    expect(refreshed.text).toContain('"verified"');

    offset = 61_000 + 91_000; // beyond TTL + window of the refreshed entry
    expect((await list(h)).xCache).toBe("MISS");
  });
});
