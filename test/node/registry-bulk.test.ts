/**
 * Bulk import planning (scripts/tenants/registry-bulk.ts) against in-memory stores: the plan's
 * classification, every problem listed and nothing planned on error, the same KV state as `put`
 * writes, drift repaired, --prune, hash-listing stores that read no values, and a concurrent write
 * between plan and apply detected.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { changedSince, type HashListingReader, planImport, type TenantEntry } from "../../scripts/tenants/registry-bulk.ts";
import { accountKvKey, hostKvKey, proxyKeyKvKey, secretKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import { importKek, sealSecret } from "../../src/tenancy/key-encryption.ts";
import { planPut, planSetSecret } from "../../scripts/tenants/registry-ops.ts";
import { type KvChange, MemoryKvStore } from "../../scripts/tenants/registry-store.ts";
import { fakeHash, seedTenant, tenantConfig } from "../helpers/registry-fixtures.ts";
import { bytesToBase64, sha256Hex } from "../../src/encoding.ts";

/** A tenant with its own host, account and key (so only the collisions a test builds exist). */
const tenant = (n: number, extra: Parameters<typeof tenantConfig>[0] = {}) =>
  tenantConfig({
    hosts: [`t${n}.test`],
    keys: [{ name: "backend", sha256: fakeHash(n) }],
    stripe: { secret_key: "STRIPE_KEY_PLATFORM", account: `acct_1T${n}` },
    ...extra,
  });
const entries = (ns: number[]): TenantEntry[] => ns.map((n) => ({ id: `t${n}`, config: tenant(n) }));

let store: MemoryKvStore;
beforeEach(() => {
  store = new MemoryKvStore();
});

async function applyImport(list: TenantEntry[], prune = false) {
  const plan = await planImport(store, list, { prune });
  expect(plan.errors).toEqual([]);
  await store.apply(plan.changes);
  return plan;
}

describe("planImport", () => {
  it("creates, changes, leaves unchanged and (with prune) deletes tenants, and a second run plans nothing", async () => {
    const first = await applyImport(entries([1, 2, 3]));
    expect(first.tenants).toEqual({ created: ["t1", "t2", "t3"], changed: [], unchanged: [], deleted: [] });
    // host:, key:, stripe: (one Stripe account, one tenant) and account: (Connect routing) for each.
    expect(first.entries).toEqual({ indexPuts: 12, indexDeletes: 0, secretDeletes: 0 });

    const again = await planImport(store, entries([1, 2, 3]));
    expect(again.changes).toEqual([]);
    expect(again.tenants.unchanged).toEqual(["t1", "t2", "t3"]);

    const moved = [...entries([1, 3, 4]), { id: "t2", config: tenant(2, { hosts: ["t2-new.test"] }) }];
    const second = await planImport(store, moved, { prune: true });
    expect(second.tenants).toEqual({ created: ["t4"], changed: ["t2"], unchanged: ["t1", "t3"], deleted: [] });
    await store.apply(second.changes);
    expect(store.data.has(hostKvKey("t2.test"))).toBe(false);
    expect(JSON.parse(store.data.get(hostKvKey("t2-new.test")) ?? "null")).toEqual([{ tenant: "t2", prefix: "" }]);

    await store.apply((await planPut(store, "t9", tenant(9))).changes);
    await store.apply([{ op: "put", key: secretKvKey("t9", "stripe_key"), value: "{}", summary: "" }]);
    const pruned = await planImport(store, entries([1, 3, 4]), { prune: true });
    expect(pruned.tenants.deleted).toEqual(["t2", "t9"]);
    expect(pruned.entries).toEqual({ indexPuts: 0, indexDeletes: 8, secretDeletes: 1 });
    await store.apply(pruned.changes);
    expect([...store.data.keys()].filter((k) => !k.startsWith("stripe:") && !k.startsWith("account:")).sort()).toEqual(
      [1, 3, 4].flatMap((n) => [tenantKvKey(`t${n}`), hostKvKey(`t${n}.test`), proxyKeyKvKey(fakeHash(n))]).sort(),
    );
    expect([...store.data.keys()].filter((k) => k.startsWith("stripe:"))).toHaveLength(3);
    expect([...store.data.keys()].filter((k) => k.startsWith("account:")).sort()).toEqual(
      [1, 3, 4].map((n) => accountKvKey(`acct_1T${n}`)),
    );
  });

  it("writes exactly the state that put writes for the same tenants", async () => {
    const configs = [
      tenant(1, { hosts: ["shared.test"], prefix: "/a" }),
      tenant(2, { hosts: ["shared.test"], prefix: "/b" }),
      tenant(3),
    ];
    for (const [i, config] of configs.entries()) await seedTenant(store, `t${i + 1}`, config);
    const byPut = new Map(store.data);
    store = new MemoryKvStore();
    await applyImport(configs.map((config, i) => ({ id: `t${i + 1}`, config })));
    expect(store.data).toEqual(byPut);
  });

  it("lists every problem of every tenant with its path, against the registry's other tenants too, and plans nothing", async () => {
    await seedTenant(store, "owner", tenant(50, { hosts: ["taken.test"] }));
    const before = new Map(store.data);
    const bad: TenantEntry[] = [
      { id: "ok", config: tenant(1), line: 1 },
      {
        id: "badurl",
        config: { ...tenant(2), verification: { session_types: ["document"], return_urls: ["http://x.test/"] } },
        line: 2,
      },
      { id: "squatter", config: tenant(3, { hosts: ["taken.test"] }), line: 3 },
      { id: "dupkey", config: tenant(4, { keys: [{ name: "k", sha256: fakeHash(1) }] }), line: 4 },
      { id: "Bad_Id", config: tenant(5), line: 5 },
      { id: "typo", config: { ...tenant(6), hostz: [] }, line: 6 },
    ];
    const plan = await planImport(store, bad);
    expect(plan.changes).toEqual([]);
    const got = plan.errors.map((e) => `${e.line} ${e.tenant} ${e.path}`);
    expect(got).toEqual(
      expect.arrayContaining([
        "2 badurl verification.return_urls[0]",
        "3 squatter hosts[0]",
        "4 dupkey server_keys[0].sha256",
        "5 Bad_Id ",
        "6 typo hostz",
      ]),
    );
    expect(plan.errors.find((e) => e.tenant === "squatter")?.message).toContain("overlaps tenant owner");
    expect(plan.errors.some((e) => e.tenant === "ok")).toBe(false);
    expect(store.data).toEqual(before);

    // The same host is free once --prune removes its owner.
    const pruned = await planImport(store, [bad[2] as TenantEntry], { prune: true });
    expect(pruned.errors).toEqual([]);
    expect(pruned.tenants.deleted).toEqual(["owner"]);
  });

  it("refuses a tenant id that would be an object's prototype or any other invalid id, rather than dropping it", async () => {
    for (const id of ["__proto__", "constructor", "Bad Id"]) {
      const plan = await planImport(store, [{ id, config: tenant(1) }, ...entries([2])]);
      if (id === "constructor") {
        // A valid id (lowercase letters) that merely names an Object method: imported like any other.
        expect(plan.errors).toEqual([]);
        expect(plan.tenants.created).toEqual(["constructor", "t2"]);
        continue;
      }
      expect(
        plan.errors.map((e) => e.tenant),
        id,
      ).toEqual([id]);
      expect(plan.changes).toEqual([]);
    }
  });

  it("keeps the stored proxy keys of a tenant whose file entry has no server_keys", async () => {
    await applyImport(entries([1]));
    const { server_keys: _, ...withoutKeys } = tenant(1);
    const plan = await planImport(store, [{ id: "t1", config: withoutKeys }]);
    expect(plan.changes).toEqual([]);
    expect(plan.notes.join("\n")).toContain("keep the proxy keys already stored: t1");
  });

  it("repairs index drift: stale entries go, missing ones come back", async () => {
    await applyImport(entries([1, 2]));
    store.data.delete(proxyKeyKvKey(fakeHash(2)));
    store.data.set(hostKvKey("ghost.test"), JSON.stringify([{ tenant: "t1", prefix: "" }]));
    const plan = await planImport(store, entries([1, 2]));
    expect(plan.tenants.unchanged).toEqual(["t1", "t2"]);
    expect(plan.changes.map((c) => `${c.op} ${c.key}`).sort()).toEqual([
      `delete ${hostKvKey("ghost.test")}`,
      `put ${proxyKeyKvKey(fakeHash(2))}`,
    ]);
  });

  it("detects a key changed by someone else between plan and apply", async () => {
    await applyImport(entries([1, 2]));
    const plan = await planImport(store, [...entries([1, 3]), { id: "t2", config: tenant(2, { hosts: ["moved.test"] }) }]);
    expect(await changedSince(store, plan.expected)).toEqual([]);
    // Another operator moves t2 meanwhile, and creates t3 under the plan's feet.
    await store.apply((await planPut(store, "t2", tenant(2, { hosts: ["elsewhere.test"] }))).changes);
    await store.apply((await planPut(store, "t3", tenant(3, { prefix: "/x" }))).changes);
    const moved = await changedSince(store, plan.expected);
    expect(moved).toEqual(
      expect.arrayContaining([
        hostKvKey("t2.test"),
        hostKvKey("t3.test"),
        proxyKeyKvKey(fakeHash(3)),
        tenantKvKey("t2"),
        tenantKvKey("t3"),
      ]),
    );
    // ... and t3's "one Stripe account" and Connect account index entries.
    expect(moved.filter((k) => k.startsWith("stripe:"))).toHaveLength(1);
    expect(moved).toContain(accountKvKey("acct_1T3"));
    expect(moved).toHaveLength(7);
  });
});

/** A store that records each value's hash as metadata and lists it, as the CLI's wrangler store does. */
class HashingStore extends MemoryKvStore implements HashListingReader {
  readonly hashes = new Map<string, string>();
  valuesRead = 0;
  override async getMany(keys: readonly string[]) {
    this.valuesRead += keys.length;
    return super.getMany(keys);
  }
  async listHashes() {
    return new Map([...this.data.keys()].map((k) => [k, this.hashes.get(k)] as const));
  }
  override async apply(changes: readonly KvChange[]) {
    await super.apply(changes);
    for (const c of changes) if (c.op === "put") this.hashes.set(c.key, await sha256Hex(c.value));
  }
}

describe("planImport: one Stripe account, one tenant", () => {
  it("refuses two tenants of the file on one key binding and account, and a tenant moved onto another's sealed key and account", async () => {
    const shared = { secret_key: "STRIPE_KEY_PLATFORM", account: "acct_1Same" };
    const plan = await planImport(store, [
      { id: "a", config: tenant(1, { stripe: shared }) },
      { id: "b", config: tenant(2, { stripe: shared }) },
    ]);
    expect(plan.errors.map((e) => `${e.tenant} ${e.path}`)).toEqual(["b stripe.secret_key"]);

    // Sealed keys: the same key stored for two tenants on different accounts is fine...
    const kek = await importKek("k", bytesToBase64(new Uint8Array(32).fill(7)));
    const kv = (account: string) => ({ secret_key_ref: "kv", account });
    await applyImport([
      { id: "c", config: tenant(3, { stripe: kv("acct_1C") }) },
      { id: "d", config: tenant(4, { stripe: kv("acct_1D") }) },
    ]);
    for (const id of ["c", "d"]) {
      const sealed = await sealSecret("sk_test_fake_shared_0123456789", { tenant: id, purpose: "stripe_secret_key" }, kek);
      const set = await planSetSecret(store, id, "stripe_key", sealed);
      expect(set.errors).toEqual([]);
      await store.apply(set.changes);
    }
    // ... until an import puts d on c's account: found through the sealed keys' fingerprints.
    const moved = await planImport(store, [{ id: "d", config: tenant(4, { stripe: kv("acct_1C") }) }]);
    expect(moved.errors.map((e) => `${e.tenant} ${e.path}`)).toEqual(["d stripe.secret_key_ref"]);
  });
});

describe("planImport with recorded hashes", () => {
  it("re-plans an unchanged registry from the listing alone, and reads values that have no recorded hash", async () => {
    const hashing = new HashingStore();
    const all = entries(Array.from({ length: 50 }, (_, i) => i));
    await hashing.apply((await planImport(hashing, all)).changes);
    hashing.valuesRead = 0;
    const again = await planImport(hashing, all);
    expect(again.changes).toEqual([]);
    expect(hashing.valuesRead).toBe(0);

    // Written without metadata (e.g. `wrangler kv key put` by hand): read and compared by value.
    hashing.data.set(tenantKvKey("t7"), JSON.stringify({ ...tenant(7), hosts: ["hand.test"] }));
    hashing.hashes.delete(tenantKvKey("t7"));
    const drift = await planImport(hashing, all);
    expect(hashing.valuesRead).toBe(1);
    expect(drift.tenants.changed).toEqual(["t7"]);
  });
});
