import { buildRegistry } from "../src/config/load.ts";
import { KvTenantRegistry, type RegistryLookup } from "../src/tenancy/registry-kv.ts";
import { hostKvKey, proxyKeyKvKey, tenantKvKey } from "../src/tenancy/registry-layout.ts";
import { sha256Hex } from "../src/encoding.ts";

/**
 * Bench-only Worker for bench/tenant-resolution.ts: a KV tenant registry of many tenants, resolved
 * N times in a loop per request (workerd's clock does not move while JavaScript runs, so the bench
 * times whole requests from Node and compares N iterations with zero).
 *
 * - `POST /seed?from=&to=`: writes tenants [from, to) exactly as the CLI lays them out (config, host
 *   index, key index); tenant i has the proxy key `iek_bench_{i}` (only its hash is stored).
 * - `GET /run?case=&n=`: `hit` resolves keys of a hot set (HOT tenants) through one warm registry;
 *   `miss` resolves a random tenant's key through a fresh registry each time (2 KV reads);
 *   `unknown` resolves an unknown key (remembered as unknown); `host_hit` resolves by Host + path;
 *   `validate` parses and validates one stored config (the CPU part of a miss, without KV).
 * - `POST /warm?hot=`: loads the hot set into the warm registry.
 */
interface BenchEnv {
  TENANT_REGISTRY: KVNamespace;
}

const lookup: RegistryLookup = { now: 0, isEnvTenant: () => false, warn: () => {} };
const hashes: string[] = [];
let warm: KvTenantRegistry | undefined;
let hot = 0;
let tenants = 0;
let cursor = 0;

function config(i: number, hash: string): Record<string, unknown> {
  return {
    hosts: [`t${i}.tenants.test`],
    path_prefix: "/identity",
    stripe: { secret_key: "STRIPE_PLATFORM_KEY", account: `acct_1Bench${i}` },
    verification: {
      session_types: ["document"],
      allowed_document_types: ["passport", "id_card"],
      require_live_capture: true,
      require_matching_selfie: true,
      return_urls: [`https://t${i}.tenants.test/identity/done`],
      default_return_url: `https://t${i}.tenants.test/identity/done`,
    },
    browser: { origins: [`https://t${i}.tenants.test`], auth: { type: "none" }, operations: ["create", "retrieve"] },
    server_keys: [{ name: "backend", sha256: hash }],
  };
}

async function hashOf(i: number): Promise<string> {
  let h = hashes[i];
  if (h === undefined) {
    h = await sha256Hex(`iek_bench_${i}`);
    hashes[i] = h;
  }
  return h;
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const num = (name: string) => Number(url.searchParams.get(name) ?? "0");
    if (url.pathname === "/seed") {
      const [from, to] = [num("from"), num("to")];
      const writes: Promise<void>[] = [];
      for (let i = from; i < to; i++) {
        const hash = await hashOf(i);
        writes.push(env.TENANT_REGISTRY.put(tenantKvKey(`t${i}`), JSON.stringify(config(i, hash))));
        writes.push(
          env.TENANT_REGISTRY.put(hostKvKey(`t${i}.tenants.test`), JSON.stringify([{ tenant: `t${i}`, prefix: "/identity" }])),
        );
        writes.push(env.TENANT_REGISTRY.put(proxyKeyKvKey(hash), JSON.stringify({ tenant: `t${i}`, name: "backend" })));
      }
      await Promise.all(writes);
      tenants = Math.max(tenants, to);
      return new Response(String(to - from));
    }
    if (url.pathname === "/warm") {
      hot = num("hot");
      tenants = Math.max(tenants, num("tenants"));
      warm = new KvTenantRegistry(env.TENANT_REGISTRY);
      for (let i = 0; i < hot; i++) {
        const entry = await warm.findByKeyHash(await hashOf(i), lookup);
        if (entry?.tenant.id !== `t${i}`) return new Response(`tenant t${i} did not resolve`, { status: 500 });
        await warm.findByHost(`t${i}.tenants.test`, "/identity/v1/identity/verification_sessions", lookup);
      }
      for (let i = 0; i < tenants; i++) await hashOf(i);
      return Response.json(warm.cacheSizes);
    }
    if (url.pathname === "/run") {
      const n = num("n");
      const kind = url.searchParams.get("case");
      if (!warm || hot === 0) return new Response("warm first", { status: 409 });
      let found = 0;
      for (let k = 0; k < n; k++) {
        cursor = (cursor + 7919) % Math.max(tenants, 1);
        switch (kind) {
          case "hit":
            if ((await warm.findByKeyHash(hashes[cursor % hot] ?? "", lookup)) !== undefined) found++;
            break;
          case "host_hit":
            if (
              (await warm.findByHost(`t${cursor % hot}.tenants.test`, "/identity/v1/identity/verification_sessions", lookup)) !==
              undefined
            )
              found++;
            break;
          case "unknown":
            if ((await warm.findByKeyHash("f".repeat(64), lookup)) !== undefined) found++;
            break;
          case "validate": {
            const view = buildRegistry({ [`t${cursor}`]: JSON.parse(JSON.stringify(config(cursor, hashes[cursor] ?? ""))) });
            if (view.tenants.get(`t${cursor}`)?.ok) found++;
            break;
          }
          case "miss":
            if ((await new KvTenantRegistry(env.TENANT_REGISTRY).findByKeyHash(hashes[cursor] ?? "", lookup)) !== undefined)
              found++;
            break;
          default:
            return new Response("unknown case", { status: 400 });
        }
      }
      if (n > 0 && kind !== "unknown" && found !== n) return new Response(`resolved ${found} of ${n}`, { status: 500 });
      return new Response(String(found));
    }
    return new Response("not found", { status: 404 });
  },
};
