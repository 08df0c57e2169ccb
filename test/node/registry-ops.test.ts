import { beforeEach, describe, expect, it } from "vitest";
import { importKek, openSecret, sealSecret, stripeKeyFingerprint } from "../../src/tenancy/key-encryption.ts";
import {
  accountKvKey,
  hostKvKey,
  parseSecretKvKey,
  proxyKeyKvKey,
  secretKvKey,
  tenantKvKey,
} from "../../src/tenancy/registry-layout.ts";
import { SECRET_KIND_INFO, SECRET_KINDS } from "../../src/tenancy/secret-kinds.ts";
import {
  listTenantIds,
  type Plan,
  planAddKey,
  planDelete,
  planPut,
  planRevokeKey,
  planRotateKek,
  planSetSecret,
} from "../../scripts/tenants/registry-ops.ts";
import { MemoryKvStore } from "../../scripts/tenants/registry-store.ts";
import { reachKvKey } from "../../scripts/tenants/stripe-reach-index.ts";
import { fakeHash, seedTenant, tenantConfig } from "../helpers/registry-fixtures.ts";
import { bytesToBase64 } from "../../src/encoding.ts";

let store: MemoryKvStore;
const accountOf = (config: unknown): string => String((config as { stripe: { account: string } }).stripe.account);
const json = (key: string): unknown => {
  const text = store.data.get(key);
  return text === undefined ? undefined : JSON.parse(text);
};
const ops = (plan: Plan) => plan.changes.map((c) => `${c.op} ${c.key}`);

async function apply(plan: Promise<Plan> | Plan): Promise<Plan> {
  const p = await plan;
  expect(p.errors).toEqual([]);
  await store.apply(p.changes);
  return p;
}

/** Every index entry agrees with the configs, and every config is fully indexed. */
function expectConsistent(): void {
  const expectedHosts = new Map<string, { tenant: string; prefix: string }[]>();
  const expectedKeys = new Map<string, { tenant: string; name: string }>();
  for (const [key, text] of store.data) {
    if (!key.startsWith("tenant:")) continue;
    const id = key.slice("tenant:".length);
    const config = JSON.parse(text);
    for (const host of config.hosts ?? []) {
      const list = expectedHosts.get(host) ?? [];
      list.push({ tenant: id, prefix: config.path_prefix ?? "" });
      expectedHosts.set(host, list);
    }
    for (const k of config.server_keys ?? []) expectedKeys.set(k.sha256, { tenant: id, name: k.name });
  }
  const actualHosts = new Map<string, unknown>();
  const actualKeys = new Map<string, unknown>();
  for (const [key, text] of store.data) {
    if (key.startsWith("host:")) actualHosts.set(key.slice(5), JSON.parse(text));
    if (key.startsWith("key:")) actualKeys.set(key.slice(4), JSON.parse(text));
  }
  const sorted = (m: Map<string, { tenant: string; prefix: string }[]>) =>
    new Map([...m].map(([h, l]) => [h, [...l].sort((a, b) => a.tenant.localeCompare(b.tenant))]));
  expect(actualHosts).toEqual(sorted(expectedHosts));
  expect(actualKeys).toEqual(expectedKeys);
}

beforeEach(() => {
  store = new MemoryKvStore();
});

describe("planPut", () => {
  it("writes the config, then one host entry per host, one key entry per key and its Stripe reach", async () => {
    const config = tenantConfig({ hosts: ["a.test", "b.test"], prefix: "/id", keys: [{ name: "backend", sha256: fakeHash(1) }] });
    const plan = await apply(planPut(store, "acme", config));
    expect(ops(plan)).toEqual([
      `put ${tenantKvKey("acme")}`,
      `put ${hostKvKey("a.test")}`,
      `put ${hostKvKey("b.test")}`,
      `put ${proxyKeyKvKey(fakeHash(1))}`,
      `put ${await reachKvKey(config, undefined)}`,
      `put ${accountKvKey(accountOf(config))}`,
    ]);
    expect(json(hostKvKey("a.test"))).toEqual([{ tenant: "acme", prefix: "/id" }]);
    expect(json(proxyKeyKvKey(fakeHash(1)))).toEqual({ tenant: "acme", name: "backend" });
    expectConsistent();
  });

  it("is idempotent: the same config again changes nothing", async () => {
    const config = tenantConfig({ hosts: ["a.test"], keys: [{ name: "k", sha256: fakeHash(1) }] });
    await apply(planPut(store, "acme", config));
    expect((await planPut(store, "acme", config)).changes).toEqual([]);
  });

  it("moves indexes when hosts, prefix, keys and account change, removing stale entries", async () => {
    const before = tenantConfig({ hosts: ["a.test", "b.test"], prefix: "/id", keys: [{ name: "old", sha256: fakeHash(1) }] });
    await apply(planPut(store, "acme", before));
    const after = tenantConfig({ hosts: ["b.test", "c.test"], prefix: "/kyc", keys: [{ name: "new", sha256: fakeHash(2) }] });
    const plan = await apply(planPut(store, "acme", after));
    expect(ops(plan).sort()).toEqual(
      [
        `put ${tenantKvKey("acme")}`,
        `delete ${hostKvKey("a.test")}`,
        `put ${hostKvKey("b.test")}`,
        `put ${hostKvKey("c.test")}`,
        `put ${proxyKeyKvKey(fakeHash(2))}`,
        `delete ${proxyKeyKvKey(fakeHash(1))}`,
        `put ${await reachKvKey(after, undefined)}`,
        `delete ${await reachKvKey(before, undefined)}`,
        `put ${accountKvKey(accountOf(after))}`,
        `delete ${accountKvKey(accountOf(before))}`,
      ].sort(),
    );
    expect(plan.notes).toContain("revokes proxy key acme/old");
    expect(plan.changes[0]?.key).toBe(tenantKvKey("acme")); // the config (the truth) goes first
    expectConsistent();
  });

  it("keeps another tenant's entry on a shared host", async () => {
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["shared.test"], prefix: "/acme" })));
    await apply(planPut(store, "globex", tenantConfig({ hosts: ["shared.test"], prefix: "/globex" })));
    expect(json(hostKvKey("shared.test"))).toEqual([
      { tenant: "acme", prefix: "/acme" },
      { tenant: "globex", prefix: "/globex" },
    ]);
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["other.test"], prefix: "/acme" })));
    expect(json(hostKvKey("shared.test"))).toEqual([{ tenant: "globex", prefix: "/globex" }]);
    expectConsistent();
  });

  it("repairs a missing index entry", async () => {
    const config = tenantConfig({ hosts: ["a.test"], keys: [{ name: "k", sha256: fakeHash(1) }] });
    await apply(planPut(store, "acme", config));
    store.data.delete(proxyKeyKvKey(fakeHash(1)));
    expect(ops(await planPut(store, "acme", config))).toEqual([`put ${proxyKeyKvKey(fakeHash(1))}`]);
  });

  it("keeps stored keys when the file has no server_keys, and says so", async () => {
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["a.test"], keys: [{ name: "k", sha256: fakeHash(1) }] })));
    const { server_keys: _, ...withoutKeys } = tenantConfig({ hosts: ["a.test", "b.test"] });
    const plan = await apply(planPut(store, "acme", withoutKeys));
    expect(plan.notes[0]).toMatch(/keeps the 1 proxy key/);
    expect((json(tenantKvKey("acme")) as { server_keys: unknown[] }).server_keys).toHaveLength(1);
    expectConsistent();
  });

  describe("refuses, writing nothing", () => {
    beforeEach(async () => {
      await apply(
        planPut(
          store,
          "acme",
          tenantConfig({ hosts: ["app.test"], prefix: "/acme", keys: [{ name: "k", sha256: fakeHash(1) }] }),
        ),
      );
    });

    it.each([
      ["a schema error", tenantConfig({ hosts: ["App.Test"] }), "globex.hosts[0]"],
      ["an unknown field", { ...tenantConfig(), extra: 1 }, "globex.extra"],
      ["a host+prefix another tenant serves", tenantConfig({ hosts: ["app.test"], prefix: "/acme" }), "globex.hosts[0]"],
      ["an overlapping prefix on a shared host", tenantConfig({ hosts: ["app.test"] }), "globex.hosts[0]"],
      ["the same host with :443", tenantConfig({ hosts: ["app.test:443"], prefix: "/acme/x" }), "globex.hosts[0]"],
      [
        "a key hash another tenant holds",
        tenantConfig({ keys: [{ name: "k", sha256: fakeHash(1) }] }),
        "globex.server_keys[0].sha256",
      ],
      ["a pasted Stripe key", tenantConfig({ stripe: { secret_key: "sk_test_abcdefghijkl" } }), "globex.stripe.secret_key"],
      [
        "both secret_key and secret_key_ref",
        tenantConfig({ stripe: { secret_key: "S", secret_key_ref: "kv" } }),
        "globex.stripe.secret_key",
      ],
      ["neither secret_key nor secret_key_ref", tenantConfig({ stripe: { account: "acct_1" } }), "globex.stripe.secret_key"],
      [
        "both webhook_secret and webhook_secret_ref",
        tenantConfig({ stripe: { secret_key: "S", webhook_secret: "W", webhook_secret_ref: "kv" } }),
        "globex.stripe.webhook_secret",
      ],
      [
        "a webhook_secret_ref that is not kv",
        tenantConfig({ stripe: { secret_key: "S", webhook_secret_ref: "vault" } }),
        "globex.stripe.webhook_secret_ref",
      ],
      [
        "a pasted webhook secret",
        tenantConfig({ stripe: { secret_key: "S", webhook_secret: "whsec_abcdefghijkl" } }),
        "globex.stripe.webhook_secret",
      ],
      [
        "both hs256_secret and hs256_secret_ref",
        tenantConfig({
          hosts: ["b.test"],
          browser: { auth: { type: "jwt", issuer: "i", audience: "a", hs256_secret: "J", hs256_secret_ref: "kv" } },
        }),
        "globex.browser.auth",
      ],
    ])("%s", async (_, config, path) => {
      const before = new Map(store.data);
      const plan = await planPut(store, "globex", config);
      expect(plan.changes).toEqual([]);
      expect(plan.errors.map((e) => e.path)).toContain(path);
      expect(store.data).toEqual(before);
    });

    it("a bad tenant id", async () => {
      expect((await planPut(store, "Bad Id", tenantConfig())).errors[0]?.path).toBe("Bad Id");
    });

    it("a whole TENANTS map instead of one config", async () => {
      expect((await planPut(store, "x", [tenantConfig()])).errors[0]?.message).toMatch(/one tenant's config/);
    });
  });

  it("accepts a stale index entry of another tenant and takes it over", async () => {
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["app.test"], keys: [{ name: "k", sha256: fakeHash(1) }] })));
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["app.test"] })));
    store.data.set(proxyKeyKvKey(fakeHash(1)), JSON.stringify({ tenant: "acme", name: "k" })); // stale
    await apply(planPut(store, "globex", tenantConfig({ keys: [{ name: "k2", sha256: fakeHash(1) }] })));
    expect(json(proxyKeyKvKey(fakeHash(1)))).toEqual({ tenant: "globex", name: "k2" });
  });

  it("notes a tenant that reads a secret from KV before one is stored, for each kind", async () => {
    const plan = await planPut(
      store,
      "acme",
      tenantConfig({
        hosts: ["a.test"],
        stripe: { secret_key_ref: "kv", webhook_secret_ref: "kv" },
        browser: { auth: { type: "jwt", issuer: "https://auth.a.test", audience: "edge", hs256_secret_ref: "kv" } },
      }),
    );
    expect(plan.errors).toEqual([]);
    expect(plan.notes.join()).toMatch(/set-stripe-key acme/);
    expect(plan.notes.join()).toMatch(/set-webhook-secret acme/);
    expect(plan.notes.join()).toMatch(/set-jwt-secret acme/);
  });
});

describe("account index (Connect routing of events)", () => {
  // Two tenants may share an account only through different keys (one key and account, one tenant).
  const withAccount = (account: string, key = "STRIPE_KEY_A") => tenantConfig({ stripe: { secret_key: key, account } });

  it("lists each tenant under its stripe.account, moves it when the account changes, drops it on delete", async () => {
    const first = await apply(planPut(store, "acme", withAccount("acct_1One")));
    expect(ops(first)).toContain("put account:acct_1One");
    expect(json("account:acct_1One")).toEqual(["acme"]);
    await apply(planPut(store, "globex", withAccount("acct_1One", "STRIPE_KEY_B")));
    expect(json("account:acct_1One")).toEqual(["acme", "globex"]);

    const moved = await apply(planPut(store, "acme", withAccount("acct_1Two")));
    expect(ops(moved).filter((op) => op.includes("account:"))).toEqual(["put account:acct_1One", "put account:acct_1Two"]);
    expect(json("account:acct_1One")).toEqual(["globex"]);
    expect(json("account:acct_1Two")).toEqual(["acme"]);
    expect((await planPut(store, "acme", withAccount("acct_1Two"))).changes).toEqual([]);

    await apply(planDelete(store, "globex"));
    expect(store.data.has("account:acct_1One")).toBe(false);
    await apply(planPut(store, "acme", tenantConfig()));
    expect(store.data.has("account:acct_1Two")).toBe(false);
  });

  it("notes two tenants sharing an account: their Connect events are not relayed", async () => {
    await apply(planPut(store, "acme", withAccount("acct_1Shared")));
    const plan = await apply(planPut(store, "globex", withAccount("acct_1Shared", "STRIPE_KEY_B")));
    expect(plan.notes.join("\n")).toMatch(/acme, globex share stripe.account acct_1Shared/);
  });
});

describe("planDelete", () => {
  it("removes the config, its index entries and its sealed key, and nothing of others", async () => {
    await apply(
      planPut(store, "acme", tenantConfig({ hosts: ["shared.test"], prefix: "/a", keys: [{ name: "k", sha256: fakeHash(1) }] })),
    );
    await apply(
      planPut(
        store,
        "globex",
        tenantConfig({ hosts: ["shared.test"], prefix: "/g", keys: [{ name: "k", sha256: fakeHash(2) }] }),
      ),
    );
    for (const kind of SECRET_KINDS) {
      store.data.set(secretKvKey("acme", kind), "{}");
      store.data.set(secretKvKey("globex", kind), "{}");
    }
    const plan = await apply(planDelete(store, "acme"));
    expect(plan.changes[0]).toMatchObject({ op: "delete", key: tenantKvKey("acme") });
    expect([...store.data.keys()].sort()).toEqual(
      [
        hostKvKey("shared.test"),
        proxyKeyKvKey(fakeHash(2)),
        tenantKvKey("globex"),
        ...SECRET_KINDS.map((kind) => secretKvKey("globex", kind)),
        String(await reachKvKey(json(tenantKvKey("globex")), undefined)),
        accountKvKey(accountOf(json(tenantKvKey("globex")))),
      ].sort(),
    );
    expectConsistent();
    expect(await listTenantIds(store)).toEqual(["globex"]);
  });

  it("refuses an unknown tenant", async () => {
    expect((await planDelete(store, "nobody")).errors[0]?.message).toMatch(/no such tenant/);
  });
});

describe("one Stripe account, one tenant", () => {
  const STRIPE_KEY = "sk_test_fake_shared_0123456789abcdef";
  const kekOf = () => importKek("k", bytesToBase64(new Uint8Array(32).fill(9)));
  const sealFor = async (id: string, key = STRIPE_KEY) =>
    sealSecret(key, { tenant: id, purpose: "stripe_secret_key" }, await kekOf());

  it("refuses a second tenant on the same key binding and no account, whatever hosts and keys it has", async () => {
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["a.test"], stripe: { secret_key: "STRIPE_PLATFORM" } })));
    const plan = await planPut(store, "globex", tenantConfig({ hosts: ["g.test"], stripe: { secret_key: "STRIPE_PLATFORM" } }));
    expect(plan.changes).toEqual([]);
    expect(plan.errors).toEqual([
      {
        path: "globex.stripe.secret_key",
        message: expect.stringMatching(/reaches Stripe like tenant acme: the same key binding/),
      },
    ]);
  });

  it("refuses the same binding and the same account; accepts its own account (Connect)", async () => {
    const connect = (account: string) => tenantConfig({ stripe: { secret_key: "STRIPE_PLATFORM", account } });
    await apply(planPut(store, "acme", connect("acct_1A")));
    expect((await planPut(store, "globex", connect("acct_1A"))).errors[0]?.path).toBe("globex.stripe.secret_key");
    await apply(planPut(store, "globex", connect("acct_1B")));
    // acme moving onto globex's account is refused too; re-putting its own config is not.
    expect((await planPut(store, "acme", connect("acct_1B"))).errors[0]?.path).toBe("acme.stripe.secret_key");
    expect((await planPut(store, "acme", connect("acct_1A"))).errors).toEqual([]);
  });

  it("frees the slot when the holder moves or is deleted (stale index entries do not block)", async () => {
    const same = () => tenantConfig({ stripe: { secret_key: "STRIPE_PLATFORM" } });
    await apply(planPut(store, "acme", same()));
    await apply(planPut(store, "acme", tenantConfig({ stripe: { secret_key: "STRIPE_ACME_OWN" } })));
    await apply(planPut(store, "globex", same()));
    await apply(planDelete(store, "globex"));
    await apply(planPut(store, "initech", same()));
  });

  it("refuses set-stripe-key with a key another tenant holds sealed on the same account", async () => {
    const sealedRef = { secret_key_ref: "kv", account: "acct_1Same" };
    await seedTenant(store, "acme", tenantConfig({ stripe: sealedRef }));
    await seedTenant(store, "globex", tenantConfig({ stripe: sealedRef }));
    await apply(planSetSecret(store, "acme", "stripe_key", await sealFor("acme")));
    const refused = await planSetSecret(store, "globex", "stripe_key", await sealFor("globex"));
    expect(refused.changes).toEqual([]);
    expect(refused.errors).toEqual([
      { path: "globex.stripe.secret_key_ref", message: expect.stringMatching(/tenant acme: the same sealed Stripe key/) },
    ]);
    expect(store.data.has(secretKvKey("globex", "stripe_key"))).toBe(false);
    // Positive control: another key is fine, and so is the same key once acme has replaced its own.
    await apply(planSetSecret(store, "globex", "stripe_key", await sealFor("globex", "sk_test_fake_other_0123456789abcdef")));
    await apply(planSetSecret(store, "acme", "stripe_key", await sealFor("acme", "sk_test_fake_third_0123456789abcdef")));
    await apply(planSetSecret(store, "globex", "stripe_key", await sealFor("globex")));
  });

  it("refuses a put that moves a sealed-key tenant onto another's account with the same key", async () => {
    await seedTenant(store, "acme", tenantConfig({ stripe: { secret_key_ref: "kv", account: "acct_1A" } }));
    await seedTenant(store, "globex", tenantConfig({ stripe: { secret_key_ref: "kv", account: "acct_1B" } }));
    await apply(planSetSecret(store, "acme", "stripe_key", await sealFor("acme")));
    await apply(planSetSecret(store, "globex", "stripe_key", await sealFor("globex")));
    const plan = await planPut(store, "globex", tenantConfig({ stripe: { secret_key_ref: "kv", account: "acct_1A" } }));
    expect(plan.errors[0]?.path).toBe("globex.stripe.secret_key_ref");
  });

  it("stores the key's fingerprint, never the key", async () => {
    await seedTenant(store, "acme", tenantConfig({ stripe: { secret_key_ref: "kv" } }));
    await apply(planSetSecret(store, "acme", "stripe_key", await sealFor("acme")));
    expect(json(secretKvKey("acme", "stripe_key"))).toMatchObject({ fingerprint: await stripeKeyFingerprint(STRIPE_KEY) });
    for (const value of store.data.values()) expect(value).not.toContain(STRIPE_KEY);
  });
});

describe("planAddKey / planRevokeKey", () => {
  beforeEach(async () => {
    await apply(planPut(store, "acme", tenantConfig({ hosts: ["a.test"] })));
  });

  it("adds a key to the config and the index, with its operations", async () => {
    await apply(planAddKey(store, "acme", { name: "backend", sha256: fakeHash(7), operations: ["list"] }));
    expect((json(tenantKvKey("acme")) as { server_keys: unknown[] }).server_keys).toEqual([
      { name: "backend", sha256: fakeHash(7), operations: ["list"] },
    ]);
    expect(json(proxyKeyKvKey(fakeHash(7)))).toEqual({ tenant: "acme", name: "backend" });
    expectConsistent();
  });

  it("refuses a duplicate name and an unknown tenant", async () => {
    await apply(planAddKey(store, "acme", { name: "backend", sha256: fakeHash(7) }));
    expect((await planAddKey(store, "acme", { name: "backend", sha256: fakeHash(8) })).errors[0]?.message).toMatch(
      /already has a key named backend/,
    );
    expect((await planAddKey(store, "nobody", { name: "backend", sha256: fakeHash(8) })).errors[0]?.message).toMatch(
      /no such tenant/,
    );
  });

  it("revokes: the config first, then the index entry", async () => {
    await apply(planAddKey(store, "acme", { name: "backend", sha256: fakeHash(7) }));
    const plan = await apply(planRevokeKey(store, "acme", "backend"));
    expect(ops(plan)).toEqual([`put ${tenantKvKey("acme")}`, `delete ${proxyKeyKvKey(fakeHash(7))}`]);
    expectConsistent();
    expect((await planRevokeKey(store, "acme", "backend")).errors[0]?.message).toMatch(/no key named backend/);
  });
});

describe("planSetSecret / planRotateKek", () => {
  const STRIPE_KEY = "sk_test_fake_rotate_0123456789abcdef";
  const kek = (id: string, fill: number) => importKek(id, bytesToBase64(new Uint8Array(32).fill(fill)));

  it("stores a sealed key, and rotation re-seals every key not under the new KEK", async () => {
    const [oldKek, newKek] = [await kek("old", 1), await kek("new", 2)];
    // One key on two accounts (a Connect platform key sealed per tenant) is allowed.
    for (const id of ["acme", "globex"])
      await seedTenant(store, id, tenantConfig({ stripe: { secret_key_ref: "kv", account: `acct_1${id}` } }));
    for (const id of ["acme", "globex"]) {
      const sealed = await sealSecret(STRIPE_KEY, { tenant: id, purpose: "stripe_secret_key" }, oldKek);
      const plan = await apply(planSetSecret(store, id, "stripe_key", sealed));
      expect(plan.notes).toEqual([]);
    }
    for (const value of store.data.values()) expect(value).not.toContain(STRIPE_KEY);

    const rotation = await apply(planRotateKek(store, [newKek, oldKek], newKek));
    expect(ops(rotation).sort()).toEqual([
      `put ${secretKvKey("acme", "stripe_key")}`,
      `put ${secretKvKey("globex", "stripe_key")}`,
    ]);
    for (const id of ["acme", "globex"]) {
      const sealed = json(secretKvKey(id, "stripe_key")) as Parameters<typeof openSecret>[0];
      expect(sealed.kek_id).toBe("new");
      expect(await openSecret(sealed, { tenant: id, purpose: "stripe_secret_key" }, [newKek])).toBe(STRIPE_KEY);
    }
    expect((await planRotateKek(store, [newKek], newKek)).changes).toEqual([]);
  });

  it("rotation re-seals every kind of secret under its own purpose", async () => {
    const [oldKek, newKek] = [await kek("old", 1), await kek("new", 2)];
    const values = {
      stripe_key: STRIPE_KEY,
      webhook_secret: "whsec_test_fake_rotate",
      jwt_hs256_secret: "x".repeat(40),
      events_secret: `whsec_${btoa("test-fake-events-secret-32-bytes")}`,
    };
    await seedTenant(store, "acme", tenantConfig());
    for (const kind of SECRET_KINDS) {
      const sealed = await sealSecret(values[kind], { tenant: "acme", purpose: SECRET_KIND_INFO[kind].purpose }, oldKek);
      await apply(planSetSecret(store, "acme", kind, sealed));
    }
    const rotation = await apply(planRotateKek(store, [newKek, oldKek], newKek));
    expect(ops(rotation).sort()).toEqual(SECRET_KINDS.map((kind) => `put ${secretKvKey("acme", kind)}`).sort());
    for (const kind of SECRET_KINDS) {
      const sealed = json(secretKvKey("acme", kind)) as Parameters<typeof openSecret>[0];
      const purpose = SECRET_KIND_INFO[kind].purpose;
      expect(await openSecret(sealed, { tenant: "acme", purpose }, [newKek])).toBe(values[kind]);
      // Bound to its kind: the same record does not open as any other.
      for (const other of SECRET_KINDS.filter((k) => k !== kind)) {
        await expect(
          openSecret(sealed, { tenant: "acme", purpose: SECRET_KIND_INFO[other].purpose }, [newKek]),
        ).rejects.toThrow();
      }
    }
  });

  it("secret keys parse back to their tenant and kind, and nothing else does", () => {
    for (const kind of SECRET_KINDS) expect(parseSecretKvKey(secretKvKey("acme", kind))).toEqual({ tenant: "acme", kind });
    for (const key of ["secret:acme:other", "secret:acme", "secret::stripe_key", "tenant:acme", "secret:a:b:stripe_key"])
      expect(parseSecretKvKey(key)).toBeUndefined();
  });

  it("refuses a rotation when a stored key cannot be opened, writing nothing", async () => {
    await seedTenant(store, "acme", tenantConfig({ stripe: { secret_key_ref: "kv" } }));
    await apply(
      planSetSecret(
        store,
        "acme",
        "stripe_key",
        await sealSecret(STRIPE_KEY, { tenant: "acme", purpose: "stripe_secret_key" }, await kek("lost", 3)),
      ),
    );
    const plan = await planRotateKek(store, [await kek("new", 2)], await kek("new", 2));
    expect(plan.changes).toEqual([]);
    expect(plan.errors[0]?.path).toBe(secretKvKey("acme", "stripe_key"));
  });

  it("notes a tenant whose config does not use the stored webhook or JWT secret yet", async () => {
    await seedTenant(store, "acme", tenantConfig({ stripe: { secret_key: "STRIPE_KEY_GLOBEX", webhook_secret: "WHSEC_ACME" } }));
    const webhook = await planSetSecret(
      store,
      "acme",
      "webhook_secret",
      await sealSecret("whsec_test_fake", { tenant: "acme", purpose: "webhook_secret" }, await kek("k", 1)),
    );
    expect(webhook.notes[0]).toMatch(/binding WHSEC_ACME.*stripe\.webhook_secret_ref/);
    expect(ops(webhook)).toEqual([`put ${secretKvKey("acme", "webhook_secret")}`]);
    const jwt = await planSetSecret(
      store,
      "acme",
      "jwt_hs256_secret",
      await sealSecret("y".repeat(40), { tenant: "acme", purpose: "jwt_hs256_secret" }, await kek("k", 1)),
    );
    expect(jwt.notes[0]).toMatch(/has no HS256 JWT secret configured.*browser\.auth\.hs256_secret_ref/);
  });

  it("notes a tenant whose config still names a binding", async () => {
    await seedTenant(store, "acme", tenantConfig());
    const plan = await planSetSecret(
      store,
      "acme",
      "stripe_key",
      await sealSecret(STRIPE_KEY, { tenant: "acme", purpose: "stripe_secret_key" }, await kek("k", 1)),
    );
    expect(plan.notes[0]).toMatch(/secret_key_ref/);
  });
});
