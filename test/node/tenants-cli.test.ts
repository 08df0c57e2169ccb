/**
 * The operator CLI (`npm run tenants`): every command against an in-memory store, then the real
 * process against wrangler's local KV state (`--local --persist-to`), which needs no account and no
 * network, and which a Worker (Miniflare, as under `wrangler dev`) then reads.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type CliIo, parseDotenv, runTenantsCli } from "../../scripts/tenants/cli.ts";
import { formatIssue, formatTenantsFile, parseTenantsFile } from "../../scripts/tenants/tenants-file.ts";
import { generateKekBase64, parseSealedSecret } from "../../src/tenancy/key-encryption.ts";
import { KvTenantRegistry } from "../../src/tenancy/registry-kv.ts";
import { accountKvKey, hostKvKey, proxyKeyKvKey, secretKvKey, tenantKvKey } from "../../src/tenancy/registry-layout.ts";
import { planPut } from "../../scripts/tenants/registry-ops.ts";
import { MemoryKvStore } from "../../scripts/tenants/registry-store.ts";
import { findSecretLeaks } from "../helpers/log-capture.ts";
import { sha256Hex } from "../../src/encoding.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const STRIPE_KEY = "sk_test_fake_cli_0123456789abcdef";
const KEK = generateKekBase64();

const ACME = {
  hosts: ["app.acme.test"],
  path_prefix: "/identity",
  stripe: { secret_key_ref: "kv", account: "acct_1Acme" },
  verification: { session_types: ["document"], return_urls: ["https://app.acme.test/identity/done"] },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenants-cli-test-"));
  await writeFile(join(dir, "acme.json"), JSON.stringify(ACME));
  await writeFile(join(dir, "acme-moved.json"), JSON.stringify({ ...ACME, hosts: ["id.acme.test"] }));
  await writeFile(join(dir, "bad.json"), JSON.stringify({ ...ACME, stripe: { secret_key: "sk_test_pastedhere123" } }));
  await writeFile(join(dir, "kek.env"), `# test KEK\nTENANT_KEK="${KEK}"\nTENANT_KEK_ID=test-1\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

function memoryIo(
  store: MemoryKvStore,
  env: Record<string, string | undefined> = {},
  stdin = "",
): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    outLines,
    errLines,
    out: (t) => outLines.push(t),
    err: (t) => errLines.push(t),
    readSecret: async () => stdin,
    env,
    store,
  };
}

describe("tenants CLI, in-memory store", () => {
  let store: MemoryKvStore;
  const run = async (argv: string[], env: Record<string, string | undefined> = {}, stdin = ""): Promise<Run> => {
    const io = memoryIo(store, env, stdin);
    const code = await runTenantsCli(argv, io);
    return { code, out: io.outLines.join("\n"), err: io.errLines.join("\n") };
  };

  beforeEach(() => {
    store = new MemoryKvStore();
  });

  it("put --dry-run prints the plan and writes nothing; put writes the config and its index", async () => {
    const dry = await run(["put", "acme", join(dir, "acme.json"), "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.err).toContain("Would apply 3 change(s)"); // config, host index, account index
    expect(dry.err).toContain(`put    ${tenantKvKey("acme")}`);
    expect(dry.err).toContain("set-stripe-key acme"); // a kv-keyed tenant without a key yet
    expect(store.data.size).toBe(0);

    expect((await run(["put", "acme", join(dir, "acme.json")])).code).toBe(0);
    expect([...store.data.keys()].sort()).toEqual([accountKvKey("acct_1Acme"), hostKvKey("app.acme.test"), tenantKvKey("acme")]);
    expect((await run(["put", "acme", join(dir, "acme.json")])).err).toContain("No change needed");
  });

  it("put refuses an invalid config and writes nothing", async () => {
    const res = await run(["put", "acme", join(dir, "bad.json")]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/error: acme\.stripe\.secret_key: .*Stripe secret/);
    expect(res.err).not.toContain("sk_test_pastedhere123");
    expect(store.data.size).toBe(0);
  });

  it("get, list, new-key, revoke-key, delete", async () => {
    await run(["put", "acme", join(dir, "acme.json")]);
    expect((await run(["list"])).out).toBe("acme");

    const dry = await run(["new-key", "acme", "backend", "--dry-run"]);
    expect(dry.out).toBe(""); // no key is shown for a key that is not stored
    const issued = await run(["new-key", "acme", "backend", "--operations", "create,retrieve"]);
    expect(issued.code).toBe(0);
    const key = issued.out.trim();
    expect(key).toMatch(/^iek_[A-Za-z0-9_-]{43}$/);
    const hash = await sha256Hex(key);
    expect(JSON.parse(store.data.get(proxyKeyKvKey(hash)) ?? "null")).toEqual({ tenant: "acme", name: "backend" });
    expect(findSecretLeaks([...store.data.values()], [key])).toEqual([]);

    const got = await run(["get", "acme"]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.out).server_keys).toEqual([{ name: "backend", sha256: hash, operations: ["create", "retrieve"] }]);
    expect(got.err).toContain("secret_key_ref is kv but NOTHING is stored (set-stripe-key)");
    expect(got.err).toContain("indexes: consistent");

    // Moving the tenant to a new host keeps its key (the file has no server_keys) and moves the index.
    const moved = await run(["put", "acme", join(dir, "acme-moved.json")]);
    expect(moved.err).toContain("keeps the 1 proxy key(s)");
    expect(store.data.has(hostKvKey("app.acme.test"))).toBe(false);
    expect(store.data.has(hostKvKey("id.acme.test"))).toBe(true);
    expect(store.data.has(proxyKeyKvKey(hash))).toBe(true);

    expect((await run(["revoke-key", "acme", "backend"])).code).toBe(0);
    expect(store.data.has(proxyKeyKvKey(hash))).toBe(false);

    expect((await run(["delete", "acme"])).err).toContain("--yes");
    expect((await run(["delete", "acme", "--yes"])).code).toBe(0);
    expect(store.data.size).toBe(0);
    expect((await run(["get", "acme"])).code).toBe(1);
  });

  it("set-stripe-key seals the key from stdin or a named variable, never stores it in plaintext, and rotate-kek re-seals", async () => {
    await run(["put", "acme", join(dir, "acme.json")]);
    expect((await run(["set-stripe-key", "acme"], {}, STRIPE_KEY)).err).toContain("TENANT_KEK and TENANT_KEK_ID must be set");

    const fromStdin = await run(["set-stripe-key", "acme", "--env-file", join(dir, "kek.env")], {}, `${STRIPE_KEY}\n`);
    expect(fromStdin.code).toBe(0);
    const sealed = parseSealedSecret(store.data.get(secretKvKey("acme", "stripe_key")) ?? "");
    expect(sealed?.kek_id).toBe("test-1");
    expect(findSecretLeaks([...store.data.values()], [STRIPE_KEY, KEK])).toEqual([]);
    expect(`${fromStdin.out}\n${fromStdin.err}`).not.toContain(STRIPE_KEY);

    const fromEnv = await run(["set-stripe-key", "acme", "--from-env", "ACME_STRIPE_KEY"], {
      ACME_STRIPE_KEY: STRIPE_KEY,
      TENANT_KEK: KEK,
      TENANT_KEK_ID: "test-1",
    });
    expect(fromEnv.code).toBe(0);
    expect((await run(["get", "acme"])).err).toContain("sealed in the registry under KEK test-1");

    const notAKey = await run(["set-stripe-key", "acme"], { TENANT_KEK: KEK, TENANT_KEK_ID: "test-1" }, "pk_test_publishable");
    expect(notAKey.code).toBe(1);
    expect(notAKey.err).not.toContain("pk_test_publishable");

    const newKek = generateKekBase64();
    const rotateEnv = { TENANT_KEK: newKek, TENANT_KEK_ID: "test-2", TENANT_KEK_PREVIOUS: KEK, TENANT_KEK_PREVIOUS_ID: "test-1" };
    const rotated = await run(["rotate-kek"], rotateEnv);
    expect(rotated.code).toBe(0);
    expect(rotated.err).toContain("KEK test-1 → test-2");
    expect(parseSealedSecret(store.data.get(secretKvKey("acme", "stripe_key")) ?? "")?.kek_id).toBe("test-2");
    expect(findSecretLeaks([...store.data.values(), rotated.out, rotated.err], [STRIPE_KEY, KEK, newKek])).toEqual([]);
  });

  it("set-webhook-secret and set-jwt-secret seal their secrets the same way, checked before sealing; delete removes them", async () => {
    const WHSEC = "whsec_test_fake_cli_0123456789";
    const JWT = "test-fake-cli-jwt-secret-0123456789abcdef";
    const keks = { TENANT_KEK: KEK, TENANT_KEK_ID: "test-1" };
    await run(["put", "acme", join(dir, "acme.json")]);

    const webhook = await run(["set-webhook-secret", "acme"], keks, `${WHSEC}\n`);
    expect(webhook.code).toBe(0);
    expect(webhook.err).toContain('set "stripe.webhook_secret_ref": "kv"'); // acme's config does not use it yet
    const jwt = await run(["set-jwt-secret", "acme", "--from-env", "ACME_JWT"], { ...keks, ACME_JWT: JWT });
    expect(jwt.code).toBe(0);
    for (const kind of ["webhook_secret", "jwt_hs256_secret"] as const)
      expect(parseSealedSecret(store.data.get(secretKvKey("acme", kind)) ?? "")?.kek_id).toBe("test-1");
    expect(findSecretLeaks([...store.data.values(), webhook.out, webhook.err, jwt.out, jwt.err], [WHSEC, JWT, KEK])).toEqual([]);

    const short = await run(["set-jwt-secret", "acme"], keks, "too-short-to-be-safe");
    expect(short.code).toBe(1);
    expect(short.err).toContain("shorter than 32 bytes");
    expect(short.err).not.toContain("too-short-to-be-safe");
    expect((await run(["set-webhook-secret", "acme"], keks, "   ")).code).toBe(1);

    const got = await run(["get", "acme"]);
    expect(got.err).toContain("webhook signing secret: none configured (a sealed one is stored too");
    expect(got.err).toContain("HS256 JWT secret: none configured (a sealed one is stored too");

    const rotated = await run(["rotate-kek"], {
      TENANT_KEK: generateKekBase64(),
      TENANT_KEK_ID: "test-2",
      TENANT_KEK_PREVIOUS: KEK,
      TENANT_KEK_PREVIOUS_ID: "test-1",
    });
    expect(rotated.err).toContain("re-seal the webhook signing secret of acme: KEK test-1 → test-2");
    expect(rotated.err).toContain("re-seal the HS256 JWT secret of acme: KEK test-1 → test-2");

    expect((await run(["delete", "acme", "--yes"])).code).toBe(0);
    expect(store.data.size).toBe(0);
  });

  it("takes no secret from argv", async () => {
    const res = await run(["set-stripe-key", "acme", STRIPE_KEY], { TENANT_KEK: KEK, TENANT_KEK_ID: "test-1" });
    expect(res.code).toBe(2);
    expect(store.data.size).toBe(0);
  });

  it("answers --help with the usage and exit 0; a usage error is one line, exit 2, and runs nothing", async () => {
    for (const argv of [["--help"], ["import", "-h"]]) {
      const help = await run(argv);
      expect(help.code).toBe(0);
      expect(help.out).toContain("Usage: npm run tenants -- <command>");
      expect(help.out).toContain("import <file>");
    }
    for (const argv of [
      ["frobnicate"],
      ["list", "--bogus"],
      ["import", "x.jsonl", "--prnue"],
      ["import"],
      ["export", "--format", "yaml"],
    ]) {
      const res = await run(argv);
      expect(res.code, argv.join(" ")).toBe(2);
      expect(res.err.split("\n"), argv.join(" ")).toHaveLength(1);
      expect(res.err).toMatch(/^error: .*\(npm run tenants -- --help\)$/);
      expect(store.reads, argv.join(" ")).toBe(0);
    }
    expect((await run(["new-key", "acme", "k", "--operations", "delete_everything"])).err).toContain("unknown operation");
  });

  it("parses dotenv files", () => {
    expect(parseDotenv(`# c\nA=1\nexport B="two words"\nC='x=y'\n  bad line\n`)).toEqual({ A: "1", B: "two words", C: "x=y" });
  });
});

/** A valid tenant of its own (host, account, key), for the bulk tests. */
const bulkTenant = (n: number, extra: Record<string, unknown> = {}) => ({
  hosts: [`t${n}.bulk.test`],
  stripe: { secret_key_ref: "kv", account: `acct_1Bulk${n}` },
  verification: { session_types: ["document"], return_urls: [`https://t${n}.bulk.test/done`] },
  server_keys: [{ name: "backend", sha256: String(n).padStart(64, "0") }],
  ...extra,
});
const jsonl = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join("\n")}\n`;

describe("tenants files (import/export formats)", () => {
  it("reads a TENANTS map and JSON Lines, and names the line of every bad line and duplicate", () => {
    const map = parseTenantsFile(JSON.stringify({ t1: bulkTenant(1), t2: bulkTenant(2) }));
    expect(map.format).toBe("json");
    expect(map.entries.map((e) => e.id)).toEqual(["t1", "t2"]);

    const lines = parseTenantsFile(
      [
        JSON.stringify({ id: "t1", config: bulkTenant(1) }),
        "",
        '{"id": "t2", "config": {',
        JSON.stringify({ id: "t3", config: bulkTenant(3), extra: 1 }),
        JSON.stringify({ id: "t1", config: bulkTenant(1) }),
        JSON.stringify(["not", "a", "record"]),
        JSON.stringify({ id: "t4", config: bulkTenant(4) }),
      ].join("\n"),
    );
    expect(lines.format).toBe("jsonl");
    expect(lines.entries.map((e) => `${e.line}:${e.id}`)).toEqual(["1:t1", "4:t3", "7:t4"]);
    expect(lines.errors.map(formatIssue)).toEqual([
      expect.stringMatching(/^line 3: not JSON: /),
      "line 4: tenant t3: unexpected field(s) extra beside id and config",
      "line 5: tenant t1: tenant t1 is already on line 1",
      'line 6: each line must be {"id": "<tenant id>", "config": {…}}',
    ]);
    // One record on one line is JSON Lines, not a map with tenants "id" and "config".
    expect(parseTenantsFile(JSON.stringify({ id: "t1", config: bulkTenant(1) })).entries.map((e) => e.id)).toEqual(["t1"]);
    expect(parseTenantsFile("[1]", "json").errors[0]?.message).toContain("JSON map");
  });

  it("never echoes the text of a line that is not JSON (it could be a pasted secret)", () => {
    const parsed = parseTenantsFile(`{"id": "t1", "config": sk_test_fake_pasted_0123456789}\n`, "jsonl");
    expect(parsed.errors).toHaveLength(1);
    expect(formatIssue(parsed.errors[0] ?? { path: "", message: "" })).not.toContain("sk_test_fake_pasted");
  });

  it("writes export files sorted by id, in either format, that read back to the same tenants", () => {
    const tenants = new Map<string, unknown>([
      ["t2", bulkTenant(2)],
      ["t1", bulkTenant(1)],
    ]);
    for (const format of ["json", "jsonl"] as const) {
      const back = parseTenantsFile(formatTenantsFile(tenants, format));
      expect(back.format).toBe(format);
      expect(back.entries.map((e) => [e.id, e.config])).toEqual([...tenants].sort());
    }
  });
});

describe("tenants CLI bulk commands, in-memory store", () => {
  let store: MemoryKvStore;
  const run = async (argv: string[], env: Record<string, string | undefined> = {}): Promise<Run> => {
    const io = memoryIo(store, env);
    const code = await runTenantsCli(argv, io);
    return { code, out: io.outLines.join("\n"), err: io.errLines.join("\n") };
  };
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  beforeEach(() => {
    store = new MemoryKvStore();
  });

  it("import lists every problem with its line, tenant and path, and writes nothing", async () => {
    const path = await file(
      "bad.jsonl",
      jsonl([
        { id: "t1", config: bulkTenant(1) },
        { id: "t2", config: bulkTenant(2, { hosts: ["t1.bulk.test"] }) },
        {
          id: "t3",
          config: { ...bulkTenant(3), verification: { session_types: ["document"], return_urls: ["http://t3.test/"] } },
        },
        { id: "t4", config: bulkTenant(4, { stripe: { secret_key: "sk_test_fake_pasted_0123456789" } }) },
      ]),
    );
    const res = await run(["import", path]);
    expect(res.code).toBe(1);
    expect(res.err).toContain("error: line 2: tenant t2: hosts[0]: overlaps tenant t1 on t1.bulk.test");
    expect(res.err).toContain("error: line 3: tenant t3: verification.return_urls[0]: ");
    expect(res.err).toContain("error: line 4: tenant t4: stripe.secret_key: looks like a Stripe secret");
    expect(res.err).toContain("Nothing was written.");
    expect(res.err).not.toContain("sk_test_fake_pasted");
    expect(store.data.size).toBe(0);
  });

  it("import --dry-run prints the plan only; import applies it; export → import is a no-op", async () => {
    const path = await file("ok.jsonl", jsonl([1, 2, 3].map((n) => ({ id: `t${n}`, config: bulkTenant(n) }))));
    const dry = await run(["import", path, "--dry-run"]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.err).toMatch(/create\s+3 {2}t1, t2, t3/);
    expect(dry.err).toContain("index entries: 9 to write");
    expect(dry.err).toContain("Dry run: nothing written");
    expect(store.data.size).toBe(0);

    const applied = await run(["import", path]);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.err).toMatch(/Done: 12 change\(s\) in \d+\.\d s/);
    expect(applied.err).toContain("read a secret from the registry that is not stored yet");
    expect(store.data.size).toBe(12);

    const exported = await run(["export"]);
    expect(exported.code).toBe(0);
    expect(Object.keys(JSON.parse(exported.out))).toEqual(["t1", "t2", "t3"]);
    const again = await run(["import", await file("exported.json", exported.out)]);
    expect(again.code).toBe(0);
    expect(again.err).toMatch(/unchanged\s+3/);
    expect(again.err).toContain("No change needed");

    // Drift shows in a diff of two exports.
    await store.apply((await planPut(store, "t2", bulkTenant(2, { hosts: ["t2-moved.bulk.test"] }))).changes);
    expect((await run(["export"])).out).not.toBe(exported.out);
  });

  it("import refuses to write when a key it would overwrite changed after it was read (another operator)", async () => {
    await run(["import", await file("base.jsonl", jsonl([1, 2].map((n) => ({ id: `t${n}`, config: bulkTenant(n) }))))]);
    // The other operator writes t1 between this import's read (its first listing) and its re-check.
    class Raced extends MemoryKvStore {
      listings = 0;
      override async list(prefix: string) {
        if (prefix === "tenant:" && ++this.listings === 2)
          this.data.set("tenant:t1", JSON.stringify(bulkTenant(1, { hosts: ["theirs.bulk.test"] })));
        return super.list(prefix);
      }
    }
    store = new Raced(new Map(store.data));
    const before = new Map(store.data);
    const moved = jsonl([1, 2].map((n) => ({ id: `t${n}`, config: bulkTenant(n, { hosts: [`t${n}-moved.bulk.test`] }) })));
    const res = await run(["import", await file("moved.jsonl", moved)]);
    expect(res.code).toBe(1);
    expect(res.err).toContain("changed in the given store since they were read");
    expect(res.err).toContain("tenant:t1");
    expect(res.err).toContain("Nothing was written; run the command again to re-plan.");
    // Only the other operator's write happened.
    expect([...store.data].filter(([k, v]) => before.get(k) !== v).map(([k]) => k)).toEqual(["tenant:t1"]);
    expect(store.data.get(hostKvKey("t2-moved.bulk.test"))).toBeUndefined();
  });

  it("import --prune deletes the tenants the file does not name, only with --yes", async () => {
    await run(["import", await file("three.jsonl", jsonl([1, 2, 3].map((n) => ({ id: `t${n}`, config: bulkTenant(n) }))))]);
    const one = await file("one.json", JSON.stringify({ t1: bulkTenant(1) }));
    const refused = await run(["import", one, "--prune"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/delete\s+2 {2}t2, t3/);
    expect(refused.err).toContain("add --yes");
    expect(store.data.size).toBe(12);
    expect((await run(["import", one, "--prune", "--yes"])).code).toBe(0);
    expect([...store.data.keys()].filter((k) => k.startsWith("tenant:"))).toEqual(["tenant:t1"]);
  });

  it("set-stripe-key --from-file seals each tenant's key from its variable; any problem writes nothing", async () => {
    await run(["import", await file("two.jsonl", jsonl([1, 2].map((n) => ({ id: `t${n}`, config: bulkTenant(n) }))))]);
    const before = new Map(store.data);
    const map = await file("keys.json", JSON.stringify({ t1: "T1_KEY", t2: "T2_KEY", t9: "T9_KEY" }));
    const env = { TENANT_KEK: KEK, TENANT_KEK_ID: "test-1", T1_KEY: STRIPE_KEY, T2_KEY: "pk_test_wrongkind" };
    const bad = await run(["set-stripe-key", "--from-file", map], { ...env });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("tenant t2: T2_KEY: that Stripe key");
    expect(bad.err).toContain("tenant t9: T9_KEY: that Stripe key is empty or not set");
    expect(store.data).toEqual(before);

    const good = await file("keys-ok.json", JSON.stringify({ t1: "T1_KEY", t2: "T2_KEY" }));
    const res = await run(["set-stripe-key", "--from-file", good], { ...env, T2_KEY: `${STRIPE_KEY}2` });
    expect(res.code, res.err).toBe(0);
    for (const id of ["t1", "t2"])
      expect(parseSealedSecret(store.data.get(secretKvKey(id, "stripe_key")) ?? "")?.kek_id).toBe("test-1");
    expect(findSecretLeaks([...store.data.values(), res.err, res.out], [STRIPE_KEY])).toEqual([]);
    // Two tenants of one file on one account with the same key: refused (one Stripe account, one tenant).
    const sameAccount = { stripe: { secret_key_ref: "kv", account: "acct_1Same" } };
    await run([
      "import",
      await file("same.jsonl", jsonl([5, 6].map((n) => ({ id: `t${n}`, config: bulkTenant(n, sameAccount) })))),
    ]);
    const twins = await file("twins.json", JSON.stringify({ t5: "T1_KEY", t6: "T1_KEY" }));
    const refused = await run(["set-stripe-key", "--from-file", twins], env);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("t6.stripe.secret_key_ref");
    expect(store.data.has(secretKvKey("t5", "stripe_key"))).toBe(false);
    // A tenant id and a file together are a usage error.
    expect((await run(["set-stripe-key", "t1", "--from-file", good], env)).code).toBe(2);
  });
});

/** Runs the real CLI process (tsx, as `npm run tenants` does). */
function cli(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "scripts/tenants.ts"), ...args],
      {
        cwd: root,
        env: { ...process.env, TENANT_KEK: KEK, TENANT_KEK_ID: "test-1" },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code: code ?? -1, out, err }));
    child.stdin.end(stdin ?? "");
  });
}

const RESOLVE = { now: 0, isEnvTenant: () => false, warn: () => {} };

/** The state is wrangler dev's: a Worker runtime (Miniflare) over the same directory reads the registry. */
async function withLocalRegistry(
  state: string,
  use: (kv: Awaited<ReturnType<Miniflare["getKVNamespace"]>>, registry: KvTenantRegistry) => Promise<void>,
): Promise<void> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    kvNamespaces: { TENANT_REGISTRY: "00000000000000000000000000000001" },
    kvPersist: join(state, "v3", "kv"),
  });
  try {
    const kv = await mf.getKVNamespace("TENANT_REGISTRY");
    await use(kv, new KvTenantRegistry({ get: (k) => kv.get(k) }));
  } finally {
    await mf.dispose();
  }
}

describe("tenants CLI against wrangler's local KV state (offline, no account)", () => {
  it("put, get, list, new-key, set-stripe-key, delete; a Worker then reads what it wrote", async () => {
    const state = join(dir, "state");
    // Through `wrangler kv` commands, the store --remote uses (the default opens local state directly).
    const local = ["--local", "--persist-to", state, "--via-wrangler"];

    const dry = await cli(["put", "acme", join(dir, "acme.json"), "--dry-run", ...local]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.err).toContain("Would apply 3 change(s) to TENANT_REGISTRY, local state in");

    expect((await cli(["list", ...local])).out.trim()).toBe("");
    const put = await cli(["put", "acme", join(dir, "acme.json"), ...local]);
    expect(put.code, put.err).toBe(0);

    const issued = await cli(["new-key", "acme", "backend", ...local]);
    expect(issued.code, issued.err).toBe(0);
    const key = issued.out.trim();
    expect(key).toMatch(/^iek_/);

    const sealed = await cli(["set-stripe-key", "acme", ...local], STRIPE_KEY);
    expect(sealed.code, sealed.err).toBe(0);

    expect((await cli(["list", ...local])).out.trim()).toBe("acme");
    const got = await cli(["get", "acme", ...local]);
    expect(got.code, got.err).toBe(0);
    expect(got.err).toContain("indexes: consistent");
    expect(got.err).toContain("sealed in the registry under KEK test-1");

    await withLocalRegistry(state, async (kv, registry) => {
      const entry = await registry.findByKeyHash(await sha256Hex(key), RESOLVE);
      expect(entry?.tenant.id).toBe("acme");
      expect(entry?.name).toBe("backend");
      const values = await Promise.all((await kv.list()).keys.map(async (k) => `${k.name}=${await kv.get(k.name)}`));
      expect(findSecretLeaks(values, [STRIPE_KEY, KEK, key])).toEqual([]);
    });

    const del = await cli(["delete", "acme", "--yes", ...local]);
    expect(del.code, del.err).toBe(0);
    expect((await cli(["list", ...local])).out.trim()).toBe("");
    for (const run of [dry, put, issued, sealed, got, del])
      expect(findSecretLeaks([run.err], [STRIPE_KEY, KEK, key])).toEqual([]);
  }, 180_000);

  it("import, export and an unchanged re-import in a few wrangler runs; a Worker resolves an imported key", async () => {
    const state = join(dir, "bulk-state");
    const local = ["--local", "--persist-to", state];
    const file = join(dir, "bulk.jsonl");
    await writeFile(file, jsonl([1, 2, 3].map((n) => ({ id: `t${n}`, config: bulkTenant(n) }))));

    // Local state opened directly (no wrangler run)...
    const imported = await cli(["import", file, ...local]);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.err).toMatch(/Done: 12 change\(s\) in [\d.]+ s, 0 wrangler run\(s\)/);

    // ... is the state `wrangler kv` reads: export and re-import through wrangler's commands.
    const viaWrangler = [...local, "--via-wrangler"];
    const out = join(dir, "bulk-export.jsonl");
    const exported = await cli(["export", "--out", out, ...viaWrangler]);
    expect(exported.code, exported.err).toBe(0);
    // Every value carries its hash in metadata: the unchanged re-import reads one key listing only.
    const again = await cli(["import", out, ...viaWrangler]);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/No change needed in .* \([\d.]+ s, 1 wrangler run\(s\)\)/);

    await withLocalRegistry(state, async (_kv, registry) => {
      expect((await registry.findByKeyHash("2".padStart(64, "0"), RESOLVE))?.tenant.id).toBe("t2");
    });
  }, 180_000);
});
