import fc from "fast-check";
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  CLOCK_TOLERANCE_SECONDS,
  hs256Key,
  MAX_TOKEN_LENGTH,
  type TokenRules,
  type VerificationKey,
  verifyBrowserToken,
} from "../../src/auth/browser-jwt.ts";
import { remoteJwks } from "../../src/auth/jwks.ts";

const ISSUER = "https://auth.acme.test";
const AUDIENCE = "identity-edge";
const RULES: TokenRules = { issuer: ISSUER, audience: AUDIENCE, subjectClaim: "sub" };
const SECRET_TEXT = "an-hs256-secret-of-at-least-32-bytes!!";
const SECRET = new TextEncoder().encode(SECRET_TEXT);
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const NOW_S = Math.floor(NOW / 1000);
// The key as the request path makes it (imported once per secret), so every attack below meets it.
const HS: VerificationKey = await hs256Key(SECRET_TEXT);

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub: "user_123",
  iat: NOW_S,
  exp: NOW_S + 300,
  ...extra,
});

function hs256(
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
  secret: Uint8Array = SECRET,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", ...header }).sign(secret);
}

/** A JWKS served by a fake fetch that counts its calls; each test gets its own URL (the cache is per URL). */
let urlCounter = 0;
function jwksKey(keys: JWK[], respond?: () => Promise<Response>): { key: VerificationKey; fetches: () => number } {
  let count = 0;
  const url = `https://auth.acme.test/jwks-${++urlCounter}.json`;
  const fetch = async (request: Request) => {
    count++;
    expect(request.url).toBe(url);
    return respond ? respond() : Response.json({ keys });
  };
  return { key: { kind: "jwks", getKey: remoteJwks(url, fetch) }, fetches: () => count };
}

let rsa: CryptoKeyPair;
let ec: CryptoKeyPair;
let attacker: CryptoKeyPair;
let rsaJwk: JWK;
let ecJwk: JWK;

beforeAll(async () => {
  rsa = (await generateKeyPair("RS256", { extractable: true })) as CryptoKeyPair;
  ec = (await generateKeyPair("ES256", { extractable: true })) as CryptoKeyPair;
  attacker = (await generateKeyPair("RS256", { extractable: true })) as CryptoKeyPair;
  rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" };
  ecJwk = { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" };
});

function rs256(
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = { kid: "rsa-1" },
  key = rsa.privateKey,
) {
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", ...header }).sign(key);
}

describe("verifyBrowserToken with an HS256 secret", () => {
  it("accepts a valid token and returns its subject", async () => {
    expect(await verifyBrowserToken(await hs256(), RULES, HS, NOW)).toEqual({ ok: true, subject: "user_123" });
  });

  it("reads the subject from the configured claim", async () => {
    const token = await hs256(claims({ uid: "u-42" }));
    expect(await verifyBrowserToken(token, { ...RULES, subjectClaim: "uid" }, HS, NOW)).toEqual({ ok: true, subject: "u-42" });
  });

  it("accepts an audience array that contains the audience", async () => {
    const token = await hs256(claims({ aud: ["other", AUDIENCE] }));
    expect((await verifyBrowserToken(token, RULES, HS, NOW)).ok).toBe(true);
  });

  it(`tolerates ${CLOCK_TOLERANCE_SECONDS} s of clock skew on exp and nbf, and no more`, async () => {
    const ok = async (extra: Record<string, unknown>) =>
      (await verifyBrowserToken(await hs256(claims(extra)), RULES, HS, NOW)).ok;
    expect(await ok({ exp: NOW_S - 10 })).toBe(true);
    expect(await ok({ nbf: NOW_S + 10 })).toBe(true);
    expect(await ok({ exp: NOW_S - CLOCK_TOLERANCE_SECONDS - 1 })).toBe(false);
    expect(await ok({ nbf: NOW_S + CLOCK_TOLERANCE_SECONDS + 1 })).toBe(false);
  });

  const noneHeader = (alg: string) => `${b64url({ alg, typ: "JWT" })}.${b64url(claims())}`;
  const attacks: [string, () => Promise<string>, string][] = [
    ["alg none, unsigned", async () => `${noneHeader("none")}.`, "malformed"],
    ["alg none with a junk signature", async () => `${noneHeader("none")}.AAAA`, "algorithm_not_allowed"],
    ["alg None", async () => `${noneHeader("None")}.AAAA`, "algorithm_not_allowed"],
    ["alg NONE", async () => `${noneHeader("NONE")}.AAAA`, "algorithm_not_allowed"],
    ["alg nOnE", async () => `${noneHeader("nOnE")}.AAAA`, "algorithm_not_allowed"],
    ["alg hs256 (case)", async () => `${noneHeader("hs256")}.AAAA`, "algorithm_not_allowed"],
    ["a stripped signature", async () => (await hs256()).replace(/\.[^.]+$/, "."), "malformed"],
    [
      "a signature from another token",
      async () => `${(await hs256()).split(".").slice(0, 2).join(".")}.${(await hs256(claims({ sub: "other" }))).split(".")[2]}`,
      "signature_invalid",
    ],
    [
      "a tampered payload",
      async () => {
        const [h, , s] = (await hs256()).split(".");
        return `${h}.${b64url(claims({ sub: "admin" }))}.${s}`;
      },
      "signature_invalid",
    ],
    [
      "the wrong secret",
      async () => hs256(claims(), {}, new TextEncoder().encode("another-secret-of-at-least-32-bytes!!!")),
      "signature_invalid",
    ],
    ["an RS256 token against a secret", async () => rs256(), "algorithm_not_allowed"],
    [
      "HS384",
      async () => new SignJWT(claims()).setProtectedHeader({ alg: "HS384" }).sign(new Uint8Array(48).fill(7)),
      "algorithm_not_allowed",
    ],
    ["an expired token", async () => hs256(claims({ exp: NOW_S - 3600 })), "expired"],
    ["a token not valid yet (nbf)", async () => hs256(claims({ nbf: NOW_S + 3600 })), "not_yet_valid"],
    [
      "no exp",
      async () => {
        const { exp: _exp, ...rest } = claims();
        return hs256(rest);
      },
      "claim_invalid",
    ],
    ["a non-numeric exp", async () => hs256(claims({ exp: "tomorrow" })), "claim_invalid"],
    [
      "no iss",
      async () => {
        const { iss: _iss, ...rest } = claims();
        return hs256(rest);
      },
      "claim_invalid",
    ],
    ["the wrong issuer", async () => hs256(claims({ iss: "https://auth.evil.test" })), "claim_invalid"],
    ["an issuer with a trailing slash", async () => hs256(claims({ iss: `${ISSUER}/` })), "claim_invalid"],
    [
      "no aud",
      async () => {
        const { aud: _aud, ...rest } = claims();
        return hs256(rest);
      },
      "claim_invalid",
    ],
    ["the wrong audience", async () => hs256(claims({ aud: "another-api" })), "claim_invalid"],
    [
      "no subject",
      async () => {
        const { sub: _sub, ...rest } = claims();
        return hs256(rest);
      },
      "claim_invalid",
    ],
    ["a numeric subject", async () => hs256(claims({ sub: 42 })), "subject_invalid"],
    ["an empty subject", async () => hs256(claims({ sub: "" })), "subject_invalid"],
    ["a subject with a control character", async () => hs256(claims({ sub: "user\n123" })), "subject_invalid"],
    ["an overlong subject", async () => hs256(claims({ sub: "u".repeat(256) })), "subject_invalid"],
    // UTF-8 encoders turn a lone surrogate into U+FFFD: "user\ud800b" would own "user\ufffdb"'s sessions.
    ["a subject with a lone high surrogate", async () => hs256(claims({ sub: "user\ud800b" })), "subject_invalid"],
    ["a subject with a lone low surrogate", async () => hs256(claims({ sub: "user\udc00" })), "subject_invalid"],
    ["a subject with reversed surrogates", async () => hs256(claims({ sub: "\udc00\ud800" })), "subject_invalid"],
    [
      "an iat beyond the clock skew in the future",
      async () => hs256(claims({ iat: NOW_S + CLOCK_TOLERANCE_SECONDS + 60 })),
      "issued_in_future",
    ],
    ["a non-numeric iat", async () => hs256(claims({ iat: "yesterday" })), "claim_invalid"],
    ["an embedded jwk header", async () => hs256(claims(), { jwk: { kty: "oct", k: "AAAA" } }), "header_not_allowed"],
    ["a jku header", async () => hs256(claims(), { jku: "https://evil.test/jwks.json" }), "header_not_allowed"],
    ["an x5u header", async () => hs256(claims(), { x5u: "https://evil.test/cert.pem" }), "header_not_allowed"],
    ["an x5c header", async () => hs256(claims(), { x5c: ["MIIB"] }), "header_not_allowed"],
    [
      "a crit header",
      async () => `${b64url({ alg: "HS256", crit: ["x"], x: 1 })}.${b64url(claims())}.AAAA`,
      "header_not_allowed",
    ],
    [
      "b64: false",
      async () => `${b64url({ alg: "HS256", b64: false, crit: ["b64"] })}.${b64url(claims())}.AAAA`,
      "header_not_allowed",
    ],
    ["a non-string kid", async () => hs256(claims(), { kid: 7 }), "malformed"],
    ["a header that is not JSON", async () => `bm90LWpzb24.${b64url(claims())}.AAAA`, "malformed"],
    [
      "a payload that is not JSON",
      async () => {
        const [h, , s] = (await hs256()).split(".");
        return `${h}.bm90LWpzb24.${s}`;
      },
      "signature_invalid",
    ],
    ["two segments", async () => (await hs256()).split(".").slice(0, 2).join("."), "malformed"],
    ["four segments", async () => `${await hs256()}.AAAA`, "malformed"],
    ["a JWE (five segments)", async () => "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA", "malformed"],
    ["non-base64url characters", async () => `${await hs256()}=`, "malformed"],
    ["garbage", async () => "not a token", "malformed"],
    ["an empty string", async () => "", "malformed"],
    ["an oversized token", async () => hs256(claims({ pad: "x".repeat(MAX_TOKEN_LENGTH) })), "too_long"],
  ];
  for (const [name, make, reason] of attacks) {
    it(`refuses ${name} (${reason})`, async () => {
      expect(await verifyBrowserToken(await make(), RULES, HS, NOW)).toEqual({ ok: false, reason });
    });
  }

  it("accepts well-formed non-ASCII subjects, surrogate pairs included (positive control)", async () => {
    for (const sub of ["user\ufffdb", "usér", "user_😀"]) {
      expect(await verifyBrowserToken(await hs256(claims({ sub })), RULES, HS, NOW)).toEqual({ ok: true, subject: sub });
    }
  });

  it("accepts an iat within the clock skew, and no iat at all without a maximum age", async () => {
    const { iat: _iat, ...noIat } = claims();
    expect((await verifyBrowserToken(await hs256(claims({ iat: NOW_S + CLOCK_TOLERANCE_SECONDS })), RULES, HS, NOW)).ok).toBe(
      true,
    );
    expect((await verifyBrowserToken(await hs256(noIat), RULES, HS, NOW)).ok).toBe(true);
  });

  describe("with a maximum token age", () => {
    const MAX_AGE: TokenRules = { ...RULES, maxTokenAgeSeconds: 3600 };
    it("accepts a token issued within it (positive control)", async () => {
      expect((await verifyBrowserToken(await hs256(claims({ iat: NOW_S - 3000, exp: NOW_S + 600 })), MAX_AGE, HS, NOW)).ok).toBe(
        true,
      );
    });
    it("refuses an older token even when its exp is ten years out (too_old)", async () => {
      const token = await hs256(claims({ iat: NOW_S - 3600 - CLOCK_TOLERANCE_SECONDS - 1, exp: NOW_S + 10 * 365 * 86_400 }));
      expect(await verifyBrowserToken(token, MAX_AGE, HS, NOW)).toEqual({ ok: false, reason: "too_old" });
    });
    it("requires iat", async () => {
      const { iat: _iat, ...noIat } = claims();
      expect(await verifyBrowserToken(await hs256(noIat), MAX_AGE, HS, NOW)).toEqual({ ok: false, reason: "claim_invalid" });
    });
    it("refuses an iat in the future", async () => {
      const token = await hs256(claims({ iat: NOW_S + CLOCK_TOLERANCE_SECONDS + 5 }));
      expect(await verifyBrowserToken(token, MAX_AGE, HS, NOW)).toEqual({ ok: false, reason: "issued_in_future" });
    });
  });

  it("never throws, whatever the input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}$/)),
        async (token) => {
          const result = await verifyBrowserToken(token, RULES, HS, NOW);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("verifyBrowserToken with a JWKS URL", () => {
  it("accepts RS256 and ES256 tokens signed by a key of the set", async () => {
    const { key } = jwksKey([rsaJwk, ecJwk]);
    expect(await verifyBrowserToken(await rs256(), RULES, key, NOW)).toEqual({ ok: true, subject: "user_123" });
    const es = await new SignJWT(claims({ sub: "ec-user" }))
      .setProtectedHeader({ alg: "ES256", kid: "ec-1" })
      .sign(ec.privateKey);
    expect(await verifyBrowserToken(es, RULES, key, NOW)).toEqual({ ok: true, subject: "ec-user" });
  });

  it("refuses HS/RS confusion: an HS256 token whose secret is the RSA public key", async () => {
    const { key, fetches } = jwksKey([rsaJwk]);
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const jwkBytes = new TextEncoder().encode(JSON.stringify(rsaJwk));
    for (const secret of [pem, jwkBytes]) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: "rsa-1" }).sign(secret);
      expect(await verifyBrowserToken(token, RULES, key, NOW)).toEqual({ ok: false, reason: "algorithm_not_allowed" });
    }
    expect(fetches()).toBe(0);
  });

  it("refuses a token signed by another key that embeds its own jwk", async () => {
    const { key } = jwksKey([rsaJwk]);
    const jwk = await exportJWK(attacker.publicKey);
    const token = await rs256(claims(), { kid: "rsa-1", jwk }, attacker.privateKey);
    expect(await verifyBrowserToken(token, RULES, key, NOW)).toEqual({ ok: false, reason: "header_not_allowed" });
  });

  it("refuses jku and x5u headers pointing elsewhere, without fetching them", async () => {
    const { key, fetches } = jwksKey([rsaJwk]);
    for (const header of [{ jku: "https://evil.test/jwks.json" }, { x5u: "https://evil.test/c.pem" }]) {
      const token = await rs256(claims(), { kid: "rsa-1", ...header }, attacker.privateKey);
      expect(await verifyBrowserToken(token, RULES, key, NOW)).toEqual({ ok: false, reason: "header_not_allowed" });
    }
    expect(fetches()).toBe(0);
  });

  it("refuses a token signed by another key under a known kid", async () => {
    const { key } = jwksKey([rsaJwk]);
    expect(await verifyBrowserToken(await rs256(claims(), { kid: "rsa-1" }, attacker.privateKey), RULES, key, NOW)).toEqual({
      ok: false,
      reason: "signature_invalid",
    });
  });

  it("refuses an unknown kid, refetching the set at most once per cooldown", async () => {
    const { key, fetches } = jwksKey([rsaJwk]);
    expect((await verifyBrowserToken(await rs256(), RULES, key, NOW)).ok).toBe(true);
    expect(fetches()).toBe(1);
    for (let i = 0; i < 5; i++) {
      const token = await rs256(claims(), { kid: `made-up-${i}` }, attacker.privateKey);
      expect(await verifyBrowserToken(token, RULES, key, NOW)).toEqual({ ok: false, reason: "unknown_key" });
    }
    expect(fetches()).toBe(1);
  });

  it("refuses algorithms outside RS256/ES256 (PS256, RS512, none)", async () => {
    const { key } = jwksKey([rsaJwk]);
    const ps = (await generateKeyPair("PS256")) as CryptoKeyPair;
    const psToken = await new SignJWT(claims()).setProtectedHeader({ alg: "PS256", kid: "rsa-1" }).sign(ps.privateKey);
    expect(await verifyBrowserToken(psToken, RULES, key, NOW)).toEqual({ ok: false, reason: "algorithm_not_allowed" });
    const none = `${b64url({ alg: "none", kid: "rsa-1" })}.${b64url(claims())}.AAAA`;
    expect(await verifyBrowserToken(none, RULES, key, NOW)).toEqual({ ok: false, reason: "algorithm_not_allowed" });
  });

  it("checks the claims of JWKS-signed tokens too", async () => {
    const { key } = jwksKey([rsaJwk]);
    expect(await verifyBrowserToken(await rs256(claims({ exp: NOW_S - 3600 })), RULES, key, NOW)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await verifyBrowserToken(await rs256(claims({ aud: "x" })), RULES, key, NOW)).toEqual({
      ok: false,
      reason: "claim_invalid",
    });
  });

  const outages: [string, () => Promise<Response>][] = [
    ["a network error", async () => Promise.reject(new TypeError("network down"))],
    ["a 500", async () => new Response("oops", { status: 500 })],
    ["a redirect", async () => new Response(null, { status: 302, headers: { Location: "https://evil.test/jwks.json" } })],
    ["a body that is not JSON", async () => new Response("<html>", { status: 200 })],
    ["JSON that is not a JWKS", async () => Response.json({ hello: "world" })],
  ];
  for (const [name, respond] of outages) {
    it(`answers keys_unavailable (not a verdict on the token) on ${name}`, async () => {
      const { key } = jwksKey([], respond);
      expect(await verifyBrowserToken(await rs256(), RULES, key, NOW)).toEqual({ ok: false, reason: "keys_unavailable" });
    });
  }

  it("does not fetch the JWKS for junk tokens", async () => {
    const { key, fetches } = jwksKey([rsaJwk]);
    for (const junk of ["", "a.b", "x".repeat(MAX_TOKEN_LENGTH + 1), `${b64url({ alg: "none" })}.${b64url(claims())}.`]) {
      expect((await verifyBrowserToken(junk, RULES, key, NOW)).ok).toBe(false);
    }
    expect(fetches()).toBe(0);
  });
});

describe("hs256Key (the HS256 key the request path verifies with)", () => {
  it("imports a secret once, and each secret verifies only its own tokens", async () => {
    const imports = vi.spyOn(crypto.subtle, "importKey");
    try {
      const secretA = `${SECRET_TEXT}-tenant-a`;
      const secretB = `${SECRET_TEXT}-tenant-b`;
      const a1 = await hs256Key(secretA);
      const a2 = await hs256Key(secretA);
      const b = await hs256Key(secretB);
      expect(imports).toHaveBeenCalledTimes(2);
      expect(a1.kind === "secret" && a2.kind === "secret" && a1.secret === a2.secret).toBe(true);
      const tokenA = await hs256(claims(), {}, new TextEncoder().encode(secretA));
      expect(await verifyBrowserToken(tokenA, RULES, a2, NOW)).toEqual({ ok: true, subject: "user_123" });
      expect(await verifyBrowserToken(tokenA, RULES, b, NOW)).toEqual({ ok: false, reason: "signature_invalid" });
    } finally {
      imports.mockRestore();
    }
  });

  it("makes a key that can only verify HMAC-SHA-256", async () => {
    const key = await hs256Key(`${SECRET_TEXT}-usages`);
    if (key.kind !== "secret" || !(key.secret instanceof CryptoKey)) throw new Error("expected an imported key");
    expect(key.secret.usages).toEqual(["verify"]);
    expect(key.secret.extractable).toBe(false);
    expect(key.secret.algorithm).toMatchObject({ name: "HMAC", hash: { name: "SHA-256" } });
  });
});
