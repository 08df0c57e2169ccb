/**
 * The `--local` store's direct bulk write (scripts/tenants/local-direct.ts): entries written straight
 * into the KV simulator's SQLite database and blob files must read back through Miniflare's own KV
 * (get, getWithMetadata with the hash the planner compares, list by prefix) and through the store's
 * Worker path, exactly as if Miniflare had written them. A Miniflare upgrade that changes the storage
 * format fails here (or makes the store fall back, which the tests also notice).
 */
import { mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTenantsCli } from "../../scripts/tenants/cli.ts";
import { simulatorFiles } from "../../scripts/tenants/local-direct.ts";
import { LocalKvStore, localNamespace } from "../../scripts/tenants/local-store.ts";
import type { KvChange } from "../../scripts/tenants/registry-store.ts";
import { valueMetadata, type WranglerTarget } from "../../scripts/tenants/wrangler-store.ts";
import { KvTenantRegistry } from "../../src/tenancy/registry-kv.ts";

/** wrangler.toml's TENANT_REGISTRY (the CLI finds it there, as the tests' stores do). */
const NAMESPACE = "00000000000000000000000000000001";

let dir: string;
let states = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-direct-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const newState = () => join(dir, `state-${++states}`);
const target = (state: string): WranglerTarget => ({ binding: "TENANT_REGISTRY", remote: false, persistTo: state });
const put = (key: string, value: string): KvChange => ({ op: "put", key, value, summary: "test" });
const del = (key: string): KvChange => ({ op: "delete", key, summary: "test" });

/** A store on `state` that writes through Miniflare's Worker only, or straight into storage from the first entry. */
function store(state: string, path: "worker" | "direct", notes: string[] = []): LocalKvStore {
  const s = new LocalKvStore(target(state), { directFrom: path === "worker" ? Number.POSITIVE_INFINITY : 0 });
  s.notice = (text) => notes.push(text);
  return s;
}

async function using<T>(s: LocalKvStore, use: (s: LocalKvStore) => Promise<T>): Promise<T> {
  try {
    return await use(s);
  } finally {
    await s.close();
  }
}

/** Miniflare's own KV binding on the state, as `wrangler dev` opens it. */
async function withMiniflareKv<T>(state: string, use: (kv: KVNamespace, mf: Miniflare) => Promise<T>): Promise<T> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    kvNamespaces: { KV: NAMESPACE },
    kvPersist: join(state, "v3", "kv"),
  });
  try {
    return await use((await mf.getKVNamespace("KV")) as unknown as KVNamespace, mf);
  } finally {
    await mf.dispose();
  }
}

async function listAll(kv: KVNamespace, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page: KVNamespaceListResult<unknown, string> = await kv.list(cursor ? { prefix, cursor } : { prefix });
    names.push(...page.keys.map((k) => k.name));
    if (page.list_complete) return names;
    cursor = page.cursor;
  }
}

/** Every value is in exactly one row and one blob file: a replaced or deleted value's blob is gone. */
async function blobsAndRows(state: string): Promise<{ blobs: number; rows: number }> {
  const files = simulatorFiles(join(state, "v3", "kv"), NAMESPACE);
  if ("unsupported" in files) throw new Error(files.unsupported);
  const db = new DatabaseSync(files.database, { readOnly: true });
  try {
    const rows = Number(db.prepare("SELECT count(*) AS n FROM _mf_entries").get()?.n);
    return { blobs: (await readdir(files.blobs)).length, rows };
  } finally {
    db.close();
  }
}

/** Checks every expected entry through Miniflare's KV (get, getWithMetadata, list by prefix) and the Worker-path store. */
async function expectStored(state: string, expected: Map<string, string>, absent: string[]): Promise<void> {
  await withMiniflareKv(state, async (kv) => {
    for (const [key, value] of expected) {
      expect(await kv.get(key), key).toBe(value);
      const withMeta = await kv.getWithMetadata<{ sha256: string }>(key);
      expect(withMeta.value, key).toBe(value);
      expect(withMeta.metadata, key).toEqual(valueMetadata(value));
    }
    for (const key of absent) expect(await kv.get(key), key).toBeNull();
    for (const prefix of ["tenant:", "host:", "key:"])
      expect(await listAll(kv, prefix), prefix).toEqual([...expected.keys()].filter((k) => k.startsWith(prefix)).sort());
  });
  await using(store(state, "worker"), async (reader) => {
    const hashes = await reader.listHashes();
    expect(new Map([...hashes].sort())).toEqual(
      new Map([...expected].sort().map(([k, v]) => [k, valueMetadata(v).sha256] as const)),
    );
    expect(await reader.getMany([...expected.keys(), ...absent])).toEqual(
      new Map([...[...expected], ...absent.map((k) => [k, null] as const)]),
    );
  });
}

describe("the --local store's direct bulk write, read back through Miniflare", () => {
  it("finds the simulator's files where Miniflare keeps the namespace, and refuses ids it would escape", async () => {
    const { id, kvPersist } = await localNamespace(target("/tmp/x"));
    expect(id).toBe(NAMESPACE);
    const files = simulatorFiles(kvPersist, id);
    expect(files).toHaveProperty("blobs", join(kvPersist, NAMESPACE, "blobs"));
    expect(files).toHaveProperty("database", expect.stringMatching(/\/miniflare-KVNamespaceObject\/[0-9a-f]{64}\.sqlite$/));
    for (const odd of ["../x", "a/b", "a b", "con", ""]) expect(simulatorFiles(kvPersist, odd)).toHaveProperty("unsupported");
  });

  it("applies a mixed plan (creates, an overwrite, a delete) in one write that Miniflare reads back exactly", async () => {
    const state = newState();
    await using(store(state, "worker"), (s) =>
      s.apply([put("tenant:keep", '{"v":"keep"}'), put("tenant:old", '{"v":1}'), put("host:gone.test", "gone")]),
    );
    const notes: string[] = [];
    const created = Array.from({ length: 300 }, (_, i) => put(`key:${String(i).padStart(64, "0")}`, `t${i}`));
    const direct = store(state, "direct", notes);
    await using(direct, async (s) => {
      await s.listHashes(); // the import's re-check for other writers lists just before it writes
      await s.apply([...created, put("tenant:old", '{"v":2}'), del("host:gone.test")]);
    });
    expect(direct.lastWrite).toBe("direct");
    expect(notes).toEqual([]);

    const expected = new Map<string, string>([
      ["tenant:keep", '{"v":"keep"}'],
      ["tenant:old", '{"v":2}'],
      ...created.map((c) => [c.key, c.op === "put" ? c.value : ""] as const),
    ]);
    await expectStored(state, expected, ["host:gone.test"]);
    expect(await blobsAndRows(state)).toEqual({ blobs: expected.size, rows: expected.size });
  }, 120_000);

  it("writes into an empty namespace (its first entry through Miniflare, as the format reference)", async () => {
    const state = newState();
    const puts = Array.from({ length: 50 }, (_, i) => put(`tenant:t${i}`, JSON.stringify({ i })));
    const direct = store(state, "direct");
    await using(direct, (s) => s.apply(puts));
    expect(direct.lastWrite).toBe("direct");
    await expectStored(state, new Map(puts.map((c) => [c.key, c.op === "put" ? c.value : ""])), []);
  }, 120_000);

  it("falls back to the Worker, with a note, when the table is not the one it knows (a Miniflare upgrade)", async () => {
    const state = newState();
    await using(store(state, "worker"), (s) => s.apply([put("tenant:a", "1")]));
    const files = simulatorFiles(join(state, "v3", "kv"), NAMESPACE);
    if ("unsupported" in files) throw new Error(files.unsupported);
    const db = new DatabaseSync(files.database);
    db.exec("ALTER TABLE _mf_entries ADD COLUMN version INTEGER");
    db.close();

    const notes: string[] = [];
    const direct = store(state, "direct", notes);
    await using(direct, (s) => s.apply([put("tenant:b", "2"), put("tenant:a", "3")]));
    expect(direct.lastWrite).toBe("worker");
    expect(notes).toEqual([expect.stringMatching(/not those of the known format; writing through Miniflare instead/)]);
    await expectStored(
      state,
      new Map([
        ["tenant:a", "3"],
        ["tenant:b", "2"],
      ]),
      [],
    );
  }, 120_000);

  it("falls back to the Worker when a value is not in the blob file it expects (a changed blob format)", async () => {
    const state = newState();
    await using(store(state, "worker"), (s) => s.apply([put("tenant:a", "1")]));
    const files = simulatorFiles(join(state, "v3", "kv"), NAMESPACE);
    if ("unsupported" in files) throw new Error(files.unsupported);
    // Blob ids of another shape: Miniflare still reads the value, this module must not assume it knows the layout.
    const db = new DatabaseSync(files.database);
    const { blob_id } = db.prepare("SELECT blob_id FROM _mf_entries WHERE key = 'tenant:a'").get() as { blob_id: string };
    await rename(join(files.blobs, blob_id), join(files.blobs, `v2-${blob_id}`));
    db.prepare("UPDATE _mf_entries SET blob_id = ? WHERE key = 'tenant:a'").run(`v2-${blob_id}`);
    db.close();
    await withMiniflareKv(state, async (kv) => expect(await kv.get("tenant:a")).toBe("1"));

    const notes: string[] = [];
    const direct = store(state, "direct", notes);
    await using(direct, (s) => s.apply([put("tenant:b", "2")]));
    expect(direct.lastWrite).toBe("worker");
    expect(notes).toEqual([expect.stringMatching(/the entry tenant:a is not stored as expected/)]);
    await withMiniflareKv(state, async (kv) =>
      expect(await kv.getWithMetadata("tenant:b")).toMatchObject({ value: "2", metadata: valueMetadata("2") }),
    );
  }, 120_000);

  it("writes nothing when the state changed after the listing it was planned against (another writer)", async () => {
    const state = newState();
    await using(store(state, "worker"), (s) => s.apply([put("tenant:a", "1")]));
    const direct = store(state, "direct");
    await using(direct, async (s) => {
      await s.listHashes();
      await using(store(state, "worker"), (other) => other.apply([put("tenant:a", "changed by another operator")]));
      await expect(s.apply([put("tenant:b", "2"), put("tenant:c", "3")])).rejects.toThrow(
        /1 key\(s\) of the local state changed .*tenant:a.*wrote nothing/,
      );
    });
    await expectStored(state, new Map([["tenant:a", "changed by another operator"]]), ["tenant:b", "tenant:c"]);
    expect(await blobsAndRows(state)).toEqual({ blobs: 1, rows: 1 });
  }, 120_000);

  it("a Miniflare already serving the state (as wrangler dev does) reads the new values at once, and the operator is told", async () => {
    const state = newState();
    await using(store(state, "worker"), (s) => s.apply([put("tenant:a", "old")]));
    await withMiniflareKv(state, async (served) => {
      expect(await served.get("tenant:a")).toBe("old");
      const notes: string[] = [];
      const direct = store(state, "direct", notes);
      await using(direct, (s) => s.apply([put("tenant:a", "new"), put("tenant:b", "b")]));
      expect(direct.lastWrite).toBe("direct");
      expect(notes).toEqual([expect.stringMatching(/another process has this local state open \(wrangler dev\?\)/)]);
      expect(await served.get("tenant:a")).toBe("new");
      expect(await served.getWithMetadata("tenant:b")).toMatchObject({ value: "b", metadata: valueMetadata("b") });
    });
  }, 120_000);
});

describe("tenants import --local, through the direct write", () => {
  /** A tenant of its own: config, host, proxy key and account entries. */
  const tenant = (n: number, version = 1) => ({
    hosts: [`t${n}.direct.test`],
    stripe: { secret_key_ref: "kv", account: `acct_1Direct${n}` },
    verification: { session_types: ["document"], return_urls: [`https://t${n}.direct.test/v${version}`] },
    server_keys: [{ name: "backend", sha256: String(n).padStart(64, "0") }],
  });
  const run = async (argv: string[]) => {
    const err: string[] = [];
    const code = await runTenantsCli(argv, { out: () => {}, err: (t) => err.push(t), readSecret: async () => "", env: {} });
    return { code, err: err.join("\n") };
  };

  it("--dry-run writes nothing; the import writes 1,000+ entries directly and a Worker resolves the last tenant", async () => {
    const state = newState();
    const local = ["--local", "--persist-to", state];
    const file = join(dir, "direct.jsonl");
    const ids = Array.from({ length: 260 }, (_, n) => n);
    await writeFile(file, ids.map((n) => `${JSON.stringify({ id: `t${n}`, config: tenant(n) })}\n`).join(""));

    const dry = await run(["import", file, "--dry-run", ...local]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.err).toContain("Dry run: nothing written");
    await withMiniflareKv(state, async (kv) => expect((await kv.list()).keys).toEqual([]));

    const imported = await run(["import", file, ...local]);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.err).toContain("1,040/1,040 written straight into local state");
    expect(imported.err).toMatch(/Done: 1,040 change\(s\) in [\d.]+ s, 0 wrangler run\(s\)/);

    // Changing 10 tenants is a small write: it goes through the Worker, on the state the direct write made.
    await writeFile(file, ids.map((n) => `${JSON.stringify({ id: `t${n}`, config: tenant(n, n < 10 ? 2 : 1) })}\n`).join(""));
    const changed = await run(["import", file, ...local]);
    expect(changed.code, changed.err).toBe(0);
    expect(changed.err).not.toContain("straight into local state");
    expect(changed.err).toMatch(/change +10 /);

    await withMiniflareKv(state, async (kv) => {
      const registry = new KvTenantRegistry({ get: (k) => kv.get(k) });
      const resolve = { now: 0, isEnvTenant: () => false, warn: () => {} };
      expect((await registry.findByKeyHash("259".padStart(64, "0"), resolve))?.tenant.id).toBe("t259");
      const changedTenant = (await registry.findByKeyHash("3".padStart(64, "0"), resolve))?.tenant;
      expect(changedTenant?.ok && changedTenant.config.verification.return_urls).toEqual(["https://t3.direct.test/v2"]);
    });
  }, 180_000);
});
