/**
 * The KV tenant registry through the real request path: tenants written by the CLI's planning core
 * into the real TENANT_REGISTRY binding are served by key and by host, env.TENANTS wins, changes
 * and revocations take effect after the cache TTL (clock from deps.now), a tenant's own Stripe key
 * is stored sealed and opened per request, and unknown keys cost no KV reads once remembered.
 */
import { env as workerEnv } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { issueProxyKey } from "../../src/auth/server-key.ts";
import type { Env } from "../../src/env.ts";
import { generateKekBase64, importKek, sealSecret } from "../../src/tenancy/key-encryption.ts";
import { REGISTRY_CACHE_TTL_MS } from "../../src/tenancy/registry-kv.ts";
import { proxyKeyKvKey, secretKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import { planDelete, planRevokeKey, planSetSecret } from "../../scripts/tenants/registry-ops.ts";
import { KvNamespaceStore } from "../../scripts/tenants/registry-store.ts";
import { signPayload } from "../../dev/stub/webhooks.ts";
import { type SecretKind, SECRET_KIND_INFO } from "../../src/tenancy/secret-kinds.ts";
import { browserInit, userToken } from "../helpers/browser.ts";
import { createHarness, type Harness, PROXY_KEYS, SECRETS, STRIPE_KEYS, testTenants } from "../helpers/harness.ts";
import { findSecretLeaks, useLogCapture } from "../helpers/log-capture.ts";
import { countingBinding, seedTenant, tenantConfig } from "../helpers/registry-fixtures.ts";
import { sha256Hex } from "../../src/encoding.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const OWN_STRIPE_KEY = "sk_test_fake_registry_own_key_0123456789";
const KEK = generateKekBase64();
const KEK_VARS = { TENANT_KEK: KEK, TENANT_KEK_ID: "test-2026" };

const kv = (workerEnv as unknown as Env).TENANT_REGISTRY as KVNamespace;
const store = new KvNamespaceStore(kv);
const secrets: string[] = [...SECRETS, OWN_STRIPE_KEY, KEK];

// Read after each test: tests and describes add the secrets they create.
const logs = useLogCapture({ secrets: () => secrets });
let skew = 0;
let reads: string[];
let binding: KVNamespace;

beforeEach(() => {
  skew = 0;
  ({ binding, reads } = countingBinding(kv));
});

/** A harness whose Worker sees a fresh registry cache (a new binding object) and a movable clock. */
function harness(vars: Record<string, unknown> = {}): Promise<Harness> {
  return createHarness({ vars: { TENANT_REGISTRY: binding, ...vars }, now: () => Date.now() + skew });
}

/** A KV tenant with one fresh proxy key. Ids are unique per test: KV storage lives for the whole file. */
async function kvTenant(id: string, extra: Partial<Parameters<typeof tenantConfig>[0]> = {}): Promise<string> {
  const issued = await issueProxyKey();
  secrets.push(issued.key);
  await seedTenant(store, id, tenantConfig({ keys: [{ name: "backend", sha256: issued.sha256 }], ...extra }));
  return issued.key;
}

const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

/** The log named the tenant's unusable secret and why (no value: the log capture checks that). */
function expectSecretMissingLogged(tenant: string, detail: string): void {
  expect(logs.records()).toContainEqual(
    expect.objectContaining({ event: "tenant_secret_missing", tenant, detail: expect.stringContaining(detail) }),
  );
}

describe("serving KV tenants", () => {
  it("a server key of a KV tenant creates a session with a shared platform key and the tenant's account", async () => {
    const key = await kvTenant("kv-connect", { stripe: { secret_key: "STRIPE_KEY_GLOBEX", account: "acct_1KvConnect" } });
    const h = await harness();
    const res = await h.post(SESSIONS, "type=document", { key });
    expect(res.status).toBe(200);
    const upstream = h.stub.requests.at(-1);
    expect(upstream?.headers.apiKey).toBe(STRIPE_KEYS.globex);
    expect(upstream?.headers.stripeAccount).toBe("acct_1KvConnect");
    const session = (await res.json()) as { client_secret: string; url: string };
    secrets.push(session.client_secret, session.url);
    expect(reads).toEqual([proxyKeyKvKey(await sha256Hex(key)), tenantKvKey("kv-connect")]);
  });

  it("a KV tenant on an env tenant's key and account answers tenant_misconfigured, and the env tenant keeps working", async () => {
    // globex (env.TENANTS) uses STRIPE_KEY_GLOBEX without an account; this KV tenant would read its sessions.
    const key = await kvTenant("kv-shares-globex", { stripe: { secret_key: "STRIPE_KEY_GLOBEX" } });
    const h = await harness();
    const before = h.stub.requests.length;
    const res = await h.call(SESSIONS, { key });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("tenant_misconfigured");
    expect(h.stub.requests.length).toBe(before);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ event: "tenant_stripe_credentials_shared", tenant: "kv-shares-globex" }),
    );
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.globex })).status).toBe(200);
  });

  it("a KV tenant whose sealed key is an env tenant's key, on the same account, is refused too", async () => {
    const id = "kv-sealed-globex";
    const key = await kvTenant(id, { stripe: { secret_key_ref: "kv" } });
    const kek = await importKek(KEK_VARS.TENANT_KEK_ID, KEK);
    const sealed = await sealSecret(STRIPE_KEYS.globex, { tenant: id, purpose: "stripe_secret_key" }, kek);
    await store.apply((await planSetSecret(store, id, "stripe_key", sealed)).changes);
    const h = await harness(KEK_VARS);
    const res = await h.call(SESSIONS, { key });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("tenant_misconfigured");
  });

  it("costs no KV read while cached, and two after the TTL", async () => {
    const key = await kvTenant("kv-warm");
    const h = await harness();
    for (let i = 0; i < 5; i++) expect((await h.call(SESSIONS, { key })).status).toBe(200);
    expect(reads).toHaveLength(2);
    skew = REGISTRY_CACHE_TTL_MS + 1;
    expect((await h.call(SESSIONS, { key })).status).toBe(200);
    expect(reads).toHaveLength(4);
  });

  it("a browser request finds a KV tenant by host and path prefix", async () => {
    await seedTenant(store, "kv-browser", {
      ...tenantConfig({ hosts: ["kv-browser.test"], prefix: "/id" }),
      verification: { session_types: ["document"], return_urls: ["https://kv-browser.test/done"] },
      browser: { auth: { type: "none" }, operations: ["create", "retrieve"] },
    });
    const h = await harness();
    const res = await h.call(`/id${SESSIONS}`, browserInit({ host: "kv-browser.test", method: "POST", body: "type=document" }));
    expect(res.status).toBe(200);
    const session = (await res.json()) as { client_secret: string; url: string };
    secrets.push(session.client_secret, session.url);
    expect(h.stub.requests.at(-1)?.headers.apiKey).toBe(STRIPE_KEYS.globex);
  });

  it("a KV tenant whose config fails the schema answers tenant_misconfigured; the others keep working", async () => {
    const good = await kvTenant("kv-good");
    const bad = await kvTenant("kv-bad");
    const config = JSON.parse((await kv.get(tenantKvKey("kv-bad"))) ?? "{}");
    config.verification.require_live_captur = true;
    await kv.put(tenantKvKey("kv-bad"), JSON.stringify(config));
    const h = await harness();
    const res = await h.call(SESSIONS, { key: bad });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("tenant_misconfigured");
    expect((await h.call(SESSIONS, { key: good })).status).toBe(200);
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "tenant_config_invalid", tenant: "kv-bad" }));
  });
});

describe("env.TENANTS wins", () => {
  it("serves env tenants without reading KV, and ignores KV entries for a tenant id env.TENANTS names", async () => {
    const shadowKey = await kvTenant("globex"); // same id as an env tenant
    const h = await harness();
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.globex })).status).toBe(200);
    expect(reads).toEqual([]);
    const res = await h.call(SESSIONS, { key: shadowKey });
    expect(res.status).toBe(401);
    expect(h.stub.requests).toHaveLength(1);
  });

  it("a host env.TENANTS serves is never looked up in KV", async () => {
    await seedTenant(store, "kv-squatter", {
      ...tenantConfig({ hosts: ["app.acme.test"], prefix: "/other" }),
      browser: { auth: { type: "none" } },
    });
    const h = await harness();
    const res = await h.call(`/other${SESSIONS}`, browserInit({ method: "POST", body: "type=document" }));
    expect(res.status).toBeGreaterThanOrEqual(400); // refused as an unknown tenant, whatever the code
    expect(reads).toEqual([]);
    expect(h.stub.requests).toHaveLength(0);
  });
});

describe("changes take effect within the TTL", () => {
  it("a revoked key works until the TTL passes, then answers 401", async () => {
    const key = await kvTenant("kv-revoke");
    const h = await harness();
    expect((await h.call(SESSIONS, { key })).status).toBe(200);
    await store.apply((await planRevokeKey(store, "kv-revoke", "backend")).changes);
    expect((await h.call(SESSIONS, { key })).status).toBe(200);
    skew = REGISTRY_CACHE_TTL_MS;
    expect((await h.call(SESSIONS, { key })).status).toBe(401);
  });

  it("a deleted tenant stops working after the TTL", async () => {
    const key = await kvTenant("kv-delete");
    const h = await harness();
    expect((await h.call(SESSIONS, { key })).status).toBe(200);
    await store.apply((await planDelete(store, "kv-delete")).changes);
    skew = REGISTRY_CACHE_TTL_MS + 1;
    expect((await h.call(SESSIONS, { key })).status).toBe(401);
  });
});

describe("negative caching", () => {
  it("a flood of one unknown proxy key costs one KV read per isolate per TTL", async () => {
    const h = await harness();
    const unknown = (await issueProxyKey()).key;
    secrets.push(unknown);
    for (let i = 0; i < 25; i++) expect((await h.call(SESSIONS, { key: unknown })).status).toBe(401);
    expect(reads).toHaveLength(1);
    skew = REGISTRY_CACHE_TTL_MS + 1;
    await h.call(SESSIONS, { key: unknown });
    expect(reads).toHaveLength(2);
  });

  it("an unknown host is remembered too", async () => {
    const h = await harness();
    for (let i = 0; i < 10; i++) {
      const res = await h.call(`/x${SESSIONS}`, browserInit({ host: "nobody.test", method: "POST", body: "type=document" }));
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    expect(reads).toEqual(["host:nobody.test"]);
    expect(h.stub.requests).toHaveLength(0);
  });

  it("a Host no tenant could have (510 characters, a 64-character label) costs no KV read and no 500", async () => {
    const h = await harness();
    const hostile = [
      `${"a".repeat(62)}.`.repeat(8).concat("test"), // 508 characters: over DNS's 253, and a KV key over 512 bytes
      `${"b".repeat(64)}.test`,
      "under_score.test",
    ];
    for (const host of hostile) {
      const res = await h.call(`/identity${SESSIONS}`, browserInit({ host, method: "POST", body: "type=document" }));
      expect(res.status, host).toBe(401);
      expect(await errorCode(res)).toBe("authentication_required");
    }
    expect(reads).toEqual([]);
    expect(logs.records().filter((r) => r.level === "error")).toEqual([]);
    // Positive control: a well-formed unknown host of the maximum length is looked up.
    const longest = `${"c".repeat(63)}.${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(56)}.test`;
    expect(longest).toHaveLength(253);
    await h.call(`/identity${SESSIONS}`, browserInit({ host: longest, method: "POST", body: "type=document" }));
    expect(reads).toEqual([`host:${longest}`]);
  });
});

describe("a tenant's own Stripe key, sealed in KV", () => {
  async function sealedTenant(id: string): Promise<string> {
    // Each on an account of its own: one key on one account serves one tenant (set-stripe-key refuses a second).
    const account = `acct_1Sealed${id.replace(/[^A-Za-z0-9]/g, "")}`;
    const key = await kvTenant(id, { stripe: { secret_key_ref: "kv", account } });
    const sealed = await sealSecret(
      OWN_STRIPE_KEY,
      { tenant: id, purpose: "stripe_secret_key" },
      await importKek(KEK_VARS.TENANT_KEK_ID, KEK),
    );
    await store.apply((await planSetSecret(store, id, "stripe_key", sealed)).changes);
    return key;
  }

  it("is opened with TENANT_KEK and sent upstream; KV never holds it in plaintext", async () => {
    const key = await sealedTenant("kv-sealed");
    const h = await harness(KEK_VARS);
    const res = await h.post(SESSIONS, "type=document", { key });
    expect(res.status).toBe(200);
    const session = (await res.json()) as { client_secret: string; url: string };
    secrets.push(session.client_secret, session.url);
    expect(h.stub.requests.at(-1)?.headers.apiKey).toBe(OWN_STRIPE_KEY);

    const stored: string[] = [];
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<unknown, string> = await kv.list(cursor ? { cursor } : {});
      for (const k of page.keys) stored.push(k.name, (await kv.get(k.name)) ?? "");
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    expect(stored.join("\n")).toContain("secret:kv-sealed:stripe_key");
    expect(findSecretLeaks(stored, [OWN_STRIPE_KEY, KEK])).toEqual([]);
  });

  it("answers tenant_misconfigured, naming the reason and no secret, when the KEK is missing or wrong", async () => {
    const key = await sealedTenant("kv-sealed-wrong-kek");
    const wrong = await harness({ TENANT_KEK: generateKekBase64(), TENANT_KEK_ID: "test-2026" });
    const res = await wrong.call(SESSIONS, { key });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("tenant_misconfigured");
    expectSecretMissingLogged("kv-sealed-wrong-kek", "does not open");
    ({ binding, reads } = countingBinding(kv));
    const none = await harness({ TENANT_KEK: undefined, TENANT_KEK_ID: undefined });
    expect(await errorCode(await none.call(SESSIONS, { key }))).toBe("tenant_misconfigured");
    expect(wrong.stub.requests).toHaveLength(0);
    expect(none.stub.requests).toHaveLength(0);
  });

  it("a tenant without a stored key answers tenant_misconfigured", async () => {
    const key = await kvTenant("kv-no-key", { stripe: { secret_key_ref: "kv" } });
    const h = await harness(KEK_VARS);
    expect(await errorCode(await h.call(SESSIONS, { key }))).toBe("tenant_misconfigured");
  });
});

describe("webhook and end-user JWT secrets, sealed in KV", () => {
  const WHSEC = "whsec_test_fake_registry_webhook_0123456789";
  const JWT_SECRET = "test-fake-registry-jwt-secret-0123456789abcdef";
  const ISSUER = "https://auth.kvjwt.test";
  secrets.push(WHSEC, JWT_SECRET);

  async function storeSecret(id: string, kind: SecretKind, value: string, purposeOf: SecretKind = kind): Promise<void> {
    const kek = await importKek(KEK_VARS.TENANT_KEK_ID, KEK);
    const sealed = await sealSecret(value, { tenant: id, purpose: SECRET_KIND_INFO[purposeOf].purpose }, kek);
    await store.apply((await planSetSecret(store, id, kind, sealed)).changes);
  }

  async function deliver(h: Harness, id: string, secret: string): Promise<Response> {
    const payload = JSON.stringify({ id: "evt_1Kv", object: "event", type: "identity.verification_session.verified" });
    return h.call(`/webhooks/stripe/${id}`, {
      method: "POST",
      body: payload,
      headers: {
        "Content-Type": "application/json",
        "Stripe-Signature": await signPayload(secret, payload, Math.floor(Date.now() / 1000)),
      },
    });
  }

  const refusals = (tenant: string) =>
    logs
      .records()
      .filter((r) => r.event === "webhook_secret_missing" && r.tenant === tenant)
      .map((r) => r.detail);

  it("a delivery signed with the tenant's sealed webhook secret is accepted; any other signature is refused", async () => {
    await kvTenant("kv-whsec", {
      stripe: { secret_key: "STRIPE_KEY_GLOBEX", account: "acct_1KvWhsec1", webhook_secret_ref: "kv" },
    });
    await storeSecret("kv-whsec", "webhook_secret", WHSEC);
    const h = await harness(KEK_VARS);
    expect((await deliver(h, "kv-whsec", WHSEC)).status).toBe(200);
    const forged = await deliver(h, "kv-whsec", "whsec_test_fake_attacker_0123456789");
    expect(forged.status).toBe(400);
    expect(await errorCode(forged)).toBe("signature_invalid");
  });

  it("a sealed value moved to another tenant or another kind does not open: refused like a bad signature", async () => {
    await kvTenant("kv-whsec-moved", {
      stripe: { secret_key: "STRIPE_KEY_GLOBEX", account: "acct_1KvWhsec2", webhook_secret_ref: "kv" },
    });
    // Sealed for another tenant, stored under this one (what an operator's copy-paste would do).
    const kek = await importKek(KEK_VARS.TENANT_KEK_ID, KEK);
    const foreign = await sealSecret(WHSEC, { tenant: "kv-whsec", purpose: "webhook_secret" }, kek);
    await kv.put(secretKvKey("kv-whsec-moved", "webhook_secret"), JSON.stringify(foreign));
    const h = await harness(KEK_VARS);
    expect(await errorCode(await deliver(h, "kv-whsec-moved", WHSEC))).toBe("signature_invalid");
    expect(refusals("kv-whsec-moved")).toEqual([expect.stringContaining("does not open")]);

    // Sealed for this tenant, but as its Stripe key: a value of one kind never serves as another.
    await kvTenant("kv-whsec-kind", {
      stripe: { secret_key: "STRIPE_KEY_GLOBEX", account: "acct_1KvWhsec3", webhook_secret_ref: "kv" },
    });
    await storeSecret("kv-whsec-kind", "webhook_secret", WHSEC, "stripe_key");
    const h2 = await harness(KEK_VARS);
    expect(await errorCode(await deliver(h2, "kv-whsec-kind", WHSEC))).toBe("signature_invalid");
    expect(refusals("kv-whsec-kind")).toEqual([expect.stringContaining("does not open")]);
  });

  it("a tenant whose webhook secret is not stored refuses every delivery, and the log says what to run", async () => {
    await kvTenant("kv-whsec-none", {
      stripe: { secret_key: "STRIPE_KEY_GLOBEX", account: "acct_1KvWhsec4", webhook_secret_ref: "kv" },
    });
    const h = await harness(KEK_VARS);
    expect(await errorCode(await deliver(h, "kv-whsec-none", WHSEC))).toBe("signature_invalid");
    expect(refusals("kv-whsec-none")).toEqual([expect.stringContaining("set-webhook-secret")]);
  });

  async function jwtTenant(id: string): Promise<string> {
    const host = `app.${id}.test`;
    await kvTenant(id, {
      hosts: [host],
      prefix: "/identity",
      browser: { auth: { type: "jwt", issuer: ISSUER, audience: "identity-edge", hs256_secret_ref: "kv" } },
    });
    return host;
  }

  it("an HS256 tenant whose JWT secret is sealed in KV accepts its users' tokens and refuses forged ones", async () => {
    const host = await jwtTenant("kv-jwt");
    await storeSecret("kv-jwt", "jwt_hs256_secret", JWT_SECRET);
    const h = await harness(KEK_VARS);
    const create = async (secret: string) =>
      h.call(
        `/identity${SESSIONS}`,
        browserInit({
          host,
          method: "POST",
          body: "type=document",
          token: await userToken("user_kv", { secret, issuer: ISSUER }),
        }),
      );
    const ok = await create(JWT_SECRET);
    expect(ok.status).toBe(200);
    const session = (await ok.json()) as { client_secret: string; url: string };
    secrets.push(session.client_secret, session.url);
    expect(h.stub.requests.at(-1)?.params?.client_reference_id).toBe("user_kv");

    const before = h.stub.requests.length;
    const forged = await create("test-fake-attacker-jwt-secret-0123456789abcdef");
    expect(forged.status).toBe(401);
    expect(h.stub.requests).toHaveLength(before);
  });

  it("an HS256 tenant without its sealed secret, or with one too short to be safe, answers tenant_misconfigured", async () => {
    const host = await jwtTenant("kv-jwt-none");
    const h = await harness(KEK_VARS);
    const token = await userToken("user_kv", { secret: JWT_SECRET, issuer: ISSUER });
    const res = await h.call(`/identity${SESSIONS}`, browserInit({ host, method: "POST", body: "type=document", token }));
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("tenant_misconfigured");

    const shortHost = await jwtTenant("kv-jwt-short");
    await storeSecret("kv-jwt-short", "jwt_hs256_secret", "short-secret");
    const h2 = await harness(KEK_VARS);
    const weak = await userToken("user_kv", { secret: "short-secret", issuer: ISSUER });
    const refused = await h2.call(
      `/identity${SESSIONS}`,
      browserInit({ host: shortHost, method: "POST", body: "type=document", token: weak }),
    );
    expect(await errorCode(refused)).toBe("tenant_misconfigured");
    expectSecretMissingLogged("kv-jwt-short", "shorter than 32 bytes");
    expect(h.stub.requests).toHaveLength(0);
    expect(h2.stub.requests).toHaveLength(0);
  });
});

describe("without the binding, or when KV fails", () => {
  it("behaves as before when TENANT_REGISTRY is not bound", async () => {
    const key = await kvTenant("kv-unbound");
    const h = await createHarness({ vars: { TENANT_REGISTRY: undefined } });
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.acme })).status).toBe(200);
    expect((await h.call(SESSIONS, { key })).status).toBe(401);
  });

  it("fails closed with internal_error when KV cannot be read, and logs why", async () => {
    const failing = { get: async () => Promise.reject(new Error("KV read failed: upstream 503")) } as unknown as KVNamespace;
    const h = await createHarness({ vars: { TENANT_REGISTRY: failing }, tenants: await testTenants() });
    const unknown = (await issueProxyKey()).key;
    secrets.push(unknown);
    const res = await h.call(SESSIONS, { key: unknown });
    expect(res.status).toBe(500);
    expect(await errorCode(res)).toBe("internal_error");
    expect(logs.records()).toContainEqual(expect.objectContaining({ event: "tenant_registry_read_failed" }));
    expect((await h.call(SESSIONS, { key: PROXY_KEYS.acme })).status).toBe(200); // env tenants unaffected
  });
});
