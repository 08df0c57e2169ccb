import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { issueProxyKey, lookupProxyKey } from "../../src/auth/server-key.ts";
import type { KeyEntry, TenantRecord } from "../../src/config/load.ts";
import { sha256Hex } from "../../src/encoding.ts";
import { resetIsolateCaches } from "../../src/isolate-cache.ts";
import type { TenantDirectory } from "../../src/tenancy/directory.ts";

const tenant: TenantRecord = { id: "acme", ok: false, issues: [] };

/** A directory that knows the hashes in `known` and records every hash it is asked about. */
function directory(known: Map<string, KeyEntry>) {
  const asked: string[] = [];
  const dir: TenantDirectory = {
    findByKeyHash: async (hash) => {
      asked.push(hash);
      return known.get(hash);
    },
    findByHost: async () => undefined,
    get: async () => undefined,
  };
  return { dir, asked };
}

describe("lookupProxyKey", () => {
  let digests: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    resetIsolateCaches();
    digests = vi.spyOn(crypto.subtle, "digest");
  });
  afterEach(() => {
    digests.mockRestore();
  });

  it("asks the directory by the key's SHA-256, never by the key", async () => {
    const { key, sha256 } = await issueProxyKey();
    expect(sha256).toBe(await sha256Hex(key));
    const entry: KeyEntry = { tenant, name: "backend" };
    const { dir, asked } = directory(new Map([[sha256, entry]]));
    expect(await lookupProxyKey(dir, key)).toBe(entry);
    expect(asked).toEqual([sha256]);
  });

  it("hashes a key that matched once, and still asks the directory on every request", async () => {
    const { key, sha256 } = await issueProxyKey();
    const { dir, asked } = directory(new Map([[sha256, { tenant, name: "backend" }]]));
    digests.mockClear();
    for (let i = 0; i < 3; i++) expect(await lookupProxyKey(dir, key)).toBeDefined();
    expect(digests).toHaveBeenCalledTimes(1);
    expect(asked).toEqual([sha256, sha256, sha256]);
  });

  it("stops accepting a remembered key the moment the directory no longer knows its hash", async () => {
    const { key, sha256 } = await issueProxyKey();
    const known = new Map([[sha256, { tenant, name: "backend" } satisfies KeyEntry]]);
    const { dir } = directory(known);
    expect(await lookupProxyKey(dir, key)).toBeDefined();
    known.delete(sha256); // the key is revoked in the config or the registry
    expect(await lookupProxyKey(dir, key)).toBeUndefined();
  });

  it("never remembers a key that matched no tenant (junk keys cannot fill the cache or skip the hash)", async () => {
    const { key } = await issueProxyKey();
    const { dir, asked } = directory(new Map());
    digests.mockClear();
    for (let i = 0; i < 3; i++) expect(await lookupProxyKey(dir, key)).toBeUndefined();
    expect(digests).toHaveBeenCalledTimes(3);
    expect(asked).toHaveLength(3);
  });

  it("does not hash or look up what is not shaped like a proxy key", async () => {
    const { dir, asked } = directory(new Map());
    digests.mockClear();
    for (const key of ["", "iek_short", "sk_test_fake_0000000000000000000000000000000000000000000", `iek_${"a".repeat(257)}`])
      expect(await lookupProxyKey(dir, key)).toBeUndefined();
    expect(digests).not.toHaveBeenCalled();
    expect(asked).toEqual([]);
  });
});
