import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INITIAL_GENERATION } from "../../src/cache/constants.ts";
import { isGeneration, laterGeneration, nextGeneration } from "../../src/cache/generation.ts";
import { canonicalListQuery, generationKvKey, type ListKeyParts, listKeyMaterial, listKvKey } from "../../src/cache/list-key.ts";
import { encodeForm, type Params, parseForm } from "../../src/stripe/form-codec.ts";
import { operationKey, validateParams } from "../../src/stripe/validate-params.ts";

const LIST = operationKey("GET", "/v1/identity/verification_sessions");

/** What the proxy does to a list query string before the cache sees it: decode, then validate. */
function paramsOf(query: string): Params {
  const decoded = parseForm(query);
  if (!decoded.ok) throw new Error(decoded.reason);
  const checked = validateParams(LIST, decoded.params);
  if (!checked.ok) throw new Error(checked.issue.message);
  return checked.params;
}

function canonical(query: string): string {
  const q = canonicalListQuery(paramsOf(query));
  if (!q.cacheable) throw new Error("not cacheable");
  return q.canonical;
}

const PARTS: ListKeyParts = {
  tenant: "acme",
  generation: INITIAL_GENERATION,
  path: "/v1/identity/verification_sessions",
  query: canonical(""),
  apiVersion: "2026-07-29.dahlia",
  account: "acct_1",
  upstream: "https://api.stripe.com",
  credential: "f".repeat(64),
  encryptionKeyId: "0123456789abcdef",
};

describe("canonicalListQuery", () => {
  it.each([
    ["status=verified&limit=3", "limit=3&status=verified"],
    ["", "limit=10"],
    ["status=canceled", "limit=10&status=canceled"],
    ["created[gte]=5&created[lt]=9", "created[lt]=9&created[gte]=5"],
    ["created[gte]=5&limit=2&status=processing", "status=processing&created[gte]=5&limit=2"],
    ["starting_after=vs_1&client_reference_id=u1", "client_reference_id=u1&starting_after=vs_1"],
  ])("%s ≡ %s", (a, b) => {
    expect(canonical(a)).toBe(canonical(b));
  });

  it.each([
    ["created=5", "created[gte]=5&created[lte]=5"], // same sessions, but not merged: conservative
    ["limit=10", "limit=010"],
    ["limit=10", "limit=11"],
    ["status=verified", "status=canceled"],
    ["", "client_reference_id="],
    ["starting_after=vs_1", "ending_before=vs_1"],
    ["created[gt]=5", "created[gte]=5"],
    ["created[gt]=5", "created=5"],
    ["related_customer=cus_1", "related_customer_account=cus_1"],
    ["client_reference_id=a%26b", "client_reference_id=a&b="],
  ])("%s ≢ %s", (a, b) => {
    const ca = (() => {
      try {
        return canonical(a);
      } catch {
        return `invalid:${a}`;
      }
    })();
    const cb = (() => {
      try {
        return canonical(b);
      } catch {
        return `invalid:${b}`;
      }
    })();
    expect(ca).not.toBe(cb);
  });

  it("does not cache lists with expand, whatever their value", () => {
    expect(canonicalListQuery({ expand: ["data.verified_outputs"] })).toEqual({ cacheable: false, reason: "expand" });
    expect(canonicalListQuery({ expand: [] })).toEqual({ cacheable: false, reason: "expand" });
    expect(canonicalListQuery(paramsOf("expand[0]=data.last_verification_report&limit=3")).cacheable).toBe(false);
  });
});

/* ---------------------------------------------------------------- property tests --- */

const id = fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/);
const int = fc.integer({ min: 0, max: 2_000_000_000 }).map(String);
const anyText = fc.string({ maxLength: 12 });
// A range with no bound cannot be written in a query string (`created` would simply be absent).
const createdRange = fc
  .record({ gt: int, gte: int, lt: int, lte: int }, { requiredKeys: [] })
  .filter((r) => Object.keys(r).length > 0);
/** Valid list parameters, as validateParams returns them. */
const listParams: fc.Arbitrary<Params> = fc.record(
  {
    client_reference_id: anyText,
    created: fc.oneof(int, createdRange),
    ending_before: id.map((s) => `vs_${s}`),
    starting_after: id.map((s) => `vs_${s}`),
    limit: fc.integer({ min: 1, max: 100 }).map(String),
    related_customer: id,
    related_customer_account: id,
    status: fc.constantFrom("canceled", "processing", "requires_input", "verified"),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Params>;

/** Params with a random permutation of their keys (and of created's sub-keys). */
const permutedParams: fc.Arbitrary<[Params, Params]> = listParams.chain((params) => {
  const keys = Object.keys(params);
  return fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }).map((order): [Params, Params] => {
    const out: Params = {};
    for (const k of order) {
      const value = params[k] as Params[string];
      out[k] = typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value;
    }
    return [params, out];
  });
});

/** The reference semantics: Stripe's answer depends on these values, with limit defaulting to 10. */
function semantic(params: Params): string {
  const withLimit = { limit: "10", ...params };
  const sortDeep = (v: Params[string]): unknown =>
    typeof v === "string" || Array.isArray(v) ? v : Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify(
    Object.entries(withLimit)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, sortDeep(v)]),
  );
}

function keyOf(params: Params): string {
  const q = canonicalListQuery(params);
  if (!q.cacheable) throw new Error("not cacheable");
  return q.canonical;
}

describe("canonicalListQuery properties", () => {
  it("any reordering of the same parameters gives the same key", () => {
    fc.assert(
      fc.property(permutedParams, ([params, permuted]) => {
        expect(keyOf(permuted)).toBe(keyOf(params));
      }),
    );
  });

  it("the key survives the round trip through a query string in any parameter order", () => {
    fc.assert(
      fc.property(permutedParams, ([params, permuted]) => {
        expect(keyOf(paramsOf(encodeForm(permuted)))).toBe(keyOf(params));
      }),
      { numRuns: 1000 },
    );
  });

  it("two queries share a key exactly when they are semantically the same", () => {
    fc.assert(
      fc.property(listParams, listParams, (a, b) => {
        expect(keyOf(a) === keyOf(b)).toBe(semantic(a) === semantic(b));
      }),
      { numRuns: 500 },
    );
  });

  it("changing any one value changes the key", () => {
    fc.assert(
      fc.property(
        listParams.filter((p) => Object.keys(p).length > 0),
        fc.nat(),
        anyText,
        (params, pick, replacement) => {
          const keys = Object.keys(params);
          const k = keys[pick % keys.length] as string;
          const before = params[k];
          const changed: Params = {
            ...params,
            [k]: typeof before === "string" ? `${before}${replacement}x` : { ...(before as Params), gt: "x" },
          };
          fc.pre(JSON.stringify(changed[k]) !== JSON.stringify(before));
          expect(keyOf(changed)).not.toBe(keyOf(params));
        },
      ),
    );
  });

  it("adding a parameter changes the key (except limit=10 where limit was absent)", () => {
    fc.assert(
      fc.property(listParams, anyText, (params, value) => {
        fc.pre(!("client_reference_id" in params));
        expect(keyOf({ ...params, client_reference_id: value })).not.toBe(keyOf(params));
      }),
    );
  });
});

describe("listKeyMaterial and listKvKey", () => {
  const variants: [keyof ListKeyParts, string | undefined][] = [
    ["tenant", "globex"],
    ["generation", "00mh3k2a1b.0a0b0c0d"],
    ["path", "/v1/identity/verification_reports"],
    ["query", canonical("status=verified")],
    ["apiVersion", "2025-01-01.acacia"],
    ["apiVersion", undefined],
    ["account", "acct_2"],
    ["account", undefined],
    ["upstream", "http://127.0.0.1:12111"],
    ["credential", "e".repeat(64)],
    ["encryptionKeyId", "fedcba9876543210"],
  ];

  it.each(variants)("a different %s gives a different key", async (field, value) => {
    const other = { ...PARTS, [field]: value };
    expect(listKeyMaterial(other)).not.toBe(listKeyMaterial(PARTS));
    expect(await listKvKey(other.tenant, listKeyMaterial(other))).not.toBe(await listKvKey(PARTS.tenant, listKeyMaterial(PARTS)));
  });

  it("values cannot be shifted between parts to collide", () => {
    const a = { ...PARTS, tenant: "a", generation: "b|c" };
    const b = { ...PARTS, tenant: "a|b", generation: "c" };
    expect(listKeyMaterial(a)).not.toBe(listKeyMaterial(b));
  });

  it("KV keys are bounded, hashed and prefixed by tenant; the query is not readable", async () => {
    const long = { ...PARTS, tenant: "t".repeat(63), query: canonical(`client_reference_id=${"secret-user-id".repeat(300)}`) };
    const key = await listKvKey(long.tenant, listKeyMaterial(long));
    expect(key).toMatch(/^list:t{63}:[0-9a-f]{64}$/);
    expect(new TextEncoder().encode(key).byteLength).toBeLessThanOrEqual(512);
    expect(key).not.toContain("secret-user-id");
    expect(generationKvKey("acme")).toBe("gen:acme");
  });

  it("property: distinct materials give distinct KV keys", async () => {
    await fc.assert(
      fc.asyncProperty(listParams, listParams, async (a, b) => {
        const ka = await listKvKey("acme", listKeyMaterial({ ...PARTS, query: keyOf(a) }));
        const kb = await listKvKey("acme", listKeyMaterial({ ...PARTS, query: keyOf(b) }));
        expect(ka === kb).toBe(semantic(a) === semantic(b));
      }),
      { numRuns: 100 },
    );
  });
});

describe("generations", () => {
  const rand = (n: number) => new Uint8Array([n, n, n, n]);

  it("a bump sorts after what it replaces, even with a clock that is behind", () => {
    const first = nextGeneration(INITIAL_GENERATION, 1_700_000_000_000, rand(1));
    expect(isGeneration(first)).toBe(true);
    expect(first > INITIAL_GENERATION).toBe(true);
    const behind = nextGeneration(first, 1_600_000_000_000, rand(2));
    expect(behind > first).toBe(true);
    expect(laterGeneration(first, behind)).toBe(behind);
    expect(laterGeneration(behind, first)).toBe(behind);
  });

  it("property: generations order like their times", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 1, max: 1e9 }), (t, dt) => {
        const a = nextGeneration(INITIAL_GENERATION, t, rand(255));
        const b = nextGeneration(INITIAL_GENERATION, t + dt, rand(0));
        expect(a < b).toBe(true);
      }),
    );
  });

  it("a burst of bumps within one ms counts up the sequence and never runs ahead of the clock", () => {
    const now = 1_700_000_000_000;
    let g = INITIAL_GENERATION;
    const seen: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const next = nextGeneration(g, now, rand(i % 256));
      expect(next > g).toBe(true);
      g = next;
      seen.push(g);
    }
    // Every marker is still stamped with the clock's ms...
    expect(new Set(seen.map((m) => m.split(".")[0]))).toEqual(new Set([now.toString(36).padStart(10, "0")]));
    // ...so another isolate's bump one ms later (which never saw this burst) sorts after all of them.
    const elsewhere = nextGeneration(INITIAL_GENERATION, now + 1, rand(0));
    expect(laterGeneration(g, elsewhere)).toBe(elsewhere);
  });

  it("the sequence wraps into the next ms only when it is exhausted", () => {
    const now = 1_700_000_000_000;
    const last = `${now.toString(36).padStart(10, "0")}.zzzz.00000000`;
    expect(isGeneration(last)).toBe(true);
    const next = nextGeneration(last, now, rand(0));
    expect(next > last).toBe(true);
    expect(next.startsWith(`${(now + 1).toString(36).padStart(10, "0")}.0000.`)).toBe(true);
  });

  it("property: any chain of bumps from any clock readings is strictly increasing", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4e12 }), { minLength: 1, maxLength: 50 }), (clocks) => {
        let g = INITIAL_GENERATION;
        for (const [i, t] of clocks.entries()) {
          const next = nextGeneration(g, t, rand(i % 256));
          expect(isGeneration(next)).toBe(true);
          expect(next > g).toBe(true);
          g = next;
        }
      }),
    );
  });

  it("refuses strings it did not write", () => {
    expect(isGeneration("0")).toBe(true);
    expect(isGeneration("zzz")).toBe(false);
    expect(isGeneration("")).toBe(false);
    expect(isGeneration("0lo5zq1kw0.a1b2c3d4")).toBe(false); // no sequence
    expect(isGeneration("0lo5zq1kw0.0000.A1B2C3D4")).toBe(false); // upper-case hex
  });
});
