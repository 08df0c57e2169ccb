import { beforeEach, describe, expect, it } from "vitest";
import { KvTenantRegistry, REGISTRY_CACHE_TTL_MS, type RegistryLookup } from "../../src/tenancy/registry-kv.ts";
import { hostKvKey, proxyKeyKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import { planDelete, planRevokeKey } from "../../scripts/tenants/registry-ops.ts";
import { MemoryKvStore } from "../../scripts/tenants/registry-store.ts";
import { CountingKv, fakeHash, seedTenant, tenantConfig } from "../helpers/registry-fixtures.ts";

const H = { acme: fakeHash(1), acmeRo: fakeHash(2), globex: fakeHash(3), unknown: fakeHash(999) };

let kv: CountingKv;
let store: MemoryKvStore;
let registry: KvTenantRegistry;
let warnings: string[];
let envTenants: Set<string>;

const at = (now: number): RegistryLookup => ({
  now,
  isEnvTenant: (id) => envTenants.has(id),
  warn: (event, detail) => warnings.push(`${event}: ${detail}`),
});

beforeEach(async () => {
  kv = new CountingKv();
  store = new MemoryKvStore(kv.data);
  registry = new KvTenantRegistry(kv);
  warnings = [];
  envTenants = new Set();
  await seedTenant(
    store,
    "acme",
    tenantConfig({
      hosts: ["app.acme.test"],
      prefix: "/identity",
      keys: [
        { name: "backend", sha256: H.acme },
        { name: "reporting", sha256: H.acmeRo, operations: ["list", "retrieve"] },
      ],
    }),
  );
  await seedTenant(
    store,
    "globex",
    tenantConfig({ hosts: ["app.acme.test", "id.globex.test"], prefix: "/kyc", keys: [{ name: "backend", sha256: H.globex }] }),
  );
  kv.reads.length = 0;
});

describe("KvTenantRegistry: resolution", () => {
  it("finds a tenant by proxy-key hash with the key's name and operations, in two reads", async () => {
    const entry = await registry.findByKeyHash(H.acmeRo, at(0));
    expect(entry?.tenant.id).toBe("acme");
    expect(entry?.tenant.ok).toBe(true);
    expect(entry?.name).toBe("reporting");
    expect(entry?.operations).toEqual(["list", "retrieve"]);
    expect(kv.reads).toEqual([proxyKeyKvKey(H.acmeRo), tenantKvKey("acme")]);
  });

  it("answers from memory while fresh: no KV read for a warm key or a second key of the same tenant's config", async () => {
    await registry.findByKeyHash(H.acme, at(0));
    await registry.findByKeyHash(H.acme, at(1_000));
    await registry.findByKeyHash(H.acmeRo, at(2_000));
    expect(kv.reads).toEqual([proxyKeyKvKey(H.acme), tenantKvKey("acme"), proxyKeyKvKey(H.acmeRo)]);
  });

  it("finds a tenant by host and path prefix, longest prefix first, and strips the prefix", async () => {
    const acme = await registry.findByHost("APP.acme.test", "/identity/v1/identity/verification_sessions", at(0));
    expect(acme?.entry.tenant.id).toBe("acme");
    expect(acme?.path).toBe("/v1/identity/verification_sessions");
    const globex = await registry.findByHost("app.acme.test", "/kyc/v1/identity/verification_sessions", at(0));
    expect(globex?.entry.tenant.id).toBe("globex");
    expect(await registry.findByHost("app.acme.test", "/identityx/v1/identity/verification_sessions", at(0))).toBeUndefined();
    expect(await registry.findByHost("unknown.test", "/v1/x", at(0))).toBeUndefined();
  });

  it("gets a tenant by id", async () => {
    expect((await registry.get("globex", at(0)))?.id).toBe("globex");
    expect(await registry.get("nobody", at(0))).toBeUndefined();
  });
});

describe("KvTenantRegistry: env.TENANTS wins", () => {
  it("ignores KV entries of a tenant that env.TENANTS names", async () => {
    envTenants.add("acme");
    expect(await registry.findByKeyHash(H.acme, at(0))).toBeUndefined();
    expect(await registry.get("acme", at(0))).toBeUndefined();
    expect((await registry.findByHost("app.acme.test", "/identity/v1/x", at(0))) ?? undefined).toBeUndefined();
    expect((await registry.findByHost("app.acme.test", "/kyc/v1/x", at(0)))?.entry.tenant.id).toBe("globex");
  });
});

describe("KvTenantRegistry: negative caching", () => {
  it("a flood of one unknown key costs one KV read per TTL", async () => {
    for (let i = 0; i < 200; i++) expect(await registry.findByKeyHash(H.unknown, at(i))).toBeUndefined();
    expect(kv.reads).toEqual([proxyKeyKvKey(H.unknown)]);
    await registry.findByKeyHash(H.unknown, at(REGISTRY_CACHE_TTL_MS + 1));
    expect(kv.reads).toHaveLength(2);
  });

  it("a flood of distinct unknown keys stays bounded in memory and never evicts known entries", async () => {
    await registry.findByKeyHash(H.acme, at(0));
    for (let i = 0; i < 12_000; i++) await registry.findByKeyHash(fakeHash(100_000 + i), at(1));
    const sizes = registry.cacheSizes;
    expect(sizes.keys.missing).toBeLessThanOrEqual(10_000);
    expect(sizes.keys.found).toBe(1);
    kv.reads.length = 0;
    expect((await registry.findByKeyHash(H.acme, at(2)))?.tenant.id).toBe("acme");
    expect(kv.reads).toEqual([]);
  });

  it("an unknown host is remembered too", async () => {
    for (let i = 0; i < 20; i++) await registry.findByHost("evil.test", "/v1/identity/verification_sessions", at(i));
    expect(kv.reads).toEqual([hostKvKey("evil.test")]);
  });
});

describe("KvTenantRegistry: changes take effect within the TTL", () => {
  it("a revoked key keeps working until the TTL passes, then stops (the config is the truth)", async () => {
    expect((await registry.findByKeyHash(H.acme, at(0)))?.name).toBe("backend");
    const plan = await planRevokeKey(store, "acme", "backend");
    await store.apply(plan.changes);
    expect((await registry.findByKeyHash(H.acme, at(REGISTRY_CACHE_TTL_MS - 1)))?.name).toBe("backend");
    expect(await registry.findByKeyHash(H.acme, at(REGISTRY_CACHE_TTL_MS))).toBeUndefined();
  });

  it("a revocation holds even while a stale index entry still points at the tenant", async () => {
    const config = JSON.parse(kv.data.get(tenantKvKey("acme")) ?? "{}");
    config.server_keys = config.server_keys.filter((k: { name: string }) => k.name !== "backend");
    kv.data.set(tenantKvKey("acme"), JSON.stringify(config)); // config updated, index not (yet)
    expect(kv.data.has(proxyKeyKvKey(H.acme))).toBe(true);
    expect(await registry.findByKeyHash(H.acme, at(0))).toBeUndefined();
  });

  it("a deleted tenant stops resolving after the TTL", async () => {
    expect((await registry.findByKeyHash(H.globex, at(0)))?.tenant.id).toBe("globex");
    await store.apply((await planDelete(store, "globex")).changes);
    expect(await registry.findByKeyHash(H.globex, at(REGISTRY_CACHE_TTL_MS + 5))).toBeUndefined();
    expect(await registry.findByHost("id.globex.test", "/kyc/v1/x", at(REGISTRY_CACHE_TTL_MS + 5))).toBeUndefined();
  });

  it("a new host of a tenant whose index entry was written later is served once both are visible", async () => {
    expect(await registry.findByHost("new.globex.test", "/kyc/v1/x", at(0))).toBeUndefined(); // negative-cached
    await seedTenant(
      store,
      "globex",
      tenantConfig({ hosts: ["new.globex.test"], prefix: "/kyc", keys: [{ name: "backend", sha256: H.globex }] }),
    );
    expect(await registry.findByHost("new.globex.test", "/kyc/v1/x", at(1))).toBeUndefined();
    expect((await registry.findByHost("new.globex.test", "/kyc/v1/x", at(REGISTRY_CACHE_TTL_MS + 1)))?.entry.tenant.id).toBe(
      "globex",
    );
  });
});

describe("KvTenantRegistry: bad entries", () => {
  it("a config that fails the schema answers as a broken tenant (tenant_misconfigured), others keep working", async () => {
    const config = JSON.parse(kv.data.get(tenantKvKey("acme")) ?? "{}");
    config.verification.require_live_captur = true;
    kv.data.set(tenantKvKey("acme"), JSON.stringify(config));
    const entry = await registry.findByKeyHash(H.acme, at(0));
    expect(entry?.tenant.ok).toBe(false);
    expect(entry?.tenant.id).toBe("acme");
    expect((await registry.findByKeyHash(H.globex, at(0)))?.tenant.ok).toBe(true);
  });

  it("a config that is not JSON still resolves through its index, as a broken tenant", async () => {
    kv.data.set(tenantKvKey("acme"), "{not json");
    const entry = await registry.findByKeyHash(H.acme, at(0));
    expect(entry?.tenant).toMatchObject({ id: "acme", ok: false });
    expect(entry?.name).toBe("backend");
    expect((await registry.findByHost("app.acme.test", "/identity/v1/x", at(0)))?.entry.tenant.ok).toBe(false);
  });

  it("an index entry that is not valid is ignored, with a warning that names no key", async () => {
    kv.data.set(proxyKeyKvKey(H.unknown), "garbage");
    expect(await registry.findByKeyHash(H.unknown, at(0))).toBeUndefined();
    expect(warnings).toEqual(["tenant_registry_entry_invalid: a proxy-key index entry is not valid; it is ignored"]);
  });

  it("a KV failure propagates and is not remembered", async () => {
    kv.failNext = 1;
    await expect(registry.findByKeyHash(H.acme, at(0))).rejects.toThrow("KV unavailable");
    expect((await registry.findByKeyHash(H.acme, at(1)))?.tenant.id).toBe("acme");
  });
});
