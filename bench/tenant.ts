import { createHash } from "node:crypto";

/**
 * The identity-edge configuration the benchmark runs with: one tenant, `bench`, called by a server
 * key and, for the browser rows, by a frontend's end users with HS256 tokens. Every credential here is
 * an obviously fake value that only opens the local bench upstream, and the smoke test checks that
 * none of them appears in the Worker's log output.
 */
export const BENCH_TENANT_ID = "bench";
/** `iek_` + 51 characters: the shape of a real proxy key (at least 43 after the prefix), fake. */
export const BENCH_PROXY_KEY = "iek_bench_not_a_secret_00000000000000000000000000000000";
export const BENCH_STRIPE_KEY = "sk_test_fake_bench_not_a_secret";
/** base64 of the 32 ASCII bytes `bench-only-cache-key-not-secret!`. */
export const BENCH_CACHE_KEY = Buffer.from("bench-only-cache-key-not-secret!", "utf8").toString("base64");
export const BENCH_RETURN_URL = "https://app.bench.test/identity/done";
/** The host the bench tenant serves browsers on, and the frontend origin allowed to call it (CORS). */
export const BENCH_HOST = "edge.bench.test";
export const BENCH_APP_ORIGIN = "https://app.bench.test";
/**
 * The tenant's HS256 secret for end-user tokens (bench/browser-token.ts signs with it): 40 ASCII
 * bytes, over the 32 the Worker requires, obviously fake.
 */
export const BENCH_JWT_SECRET = "bench-only-jwt-secret-not-a-secret-00000";
export const BENCH_JWT_ISSUER = "https://login.bench.test/";
export const BENCH_JWT_AUDIENCE = "identity-edge-bench";
/**
 * The end user of the bench: the browser token's subject, and the `client_reference_id` of every
 * session the bench upstream returns and of the create body, so a browser owns what it retrieves.
 */
export const BENCH_END_USER = "user_4242";

/** Values that must never reach a log line, checked against everything the runtime printed. */
export const BENCH_SECRETS: readonly string[] = [BENCH_PROXY_KEY, BENCH_STRIPE_KEY, BENCH_CACHE_KEY, BENCH_JWT_SECRET];

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

/** The `TENANTS` value (v1 contract) for the bench tenant, as the JSON string a secret would hold. */
export function benchTenants(): string {
  return JSON.stringify({
    [BENCH_TENANT_ID]: {
      hosts: [BENCH_HOST],
      stripe: { secret_key: "STRIPE_KEY_BENCH", api_version: "2026-07-29.dahlia" },
      verification: {
        session_types: ["document", "id_number"],
        allowed_document_types: ["passport", "id_card", "driving_license"],
        require_live_capture: true,
        require_matching_selfie: true,
        require_id_number: false,
        verification_flows: [],
        return_urls: [BENCH_RETURN_URL],
        default_return_url: BENCH_RETURN_URL,
      },
      // A frontend on another origin of the same site, signing its users in with HS256 tokens.
      browser: {
        origins: [BENCH_APP_ORIGIN],
        auth: { type: "jwt", issuer: BENCH_JWT_ISSUER, audience: BENCH_JWT_AUDIENCE, hs256_secret: "BENCH_JWT_SECRET" },
        operations: ["create", "retrieve"],
      },
      server_keys: [{ name: "bench", sha256: sha256Hex(BENCH_PROXY_KEY) }],
      cache: { list_ttl_seconds: 60 },
    },
  });
}

/**
 * A create as a backend would send it through stripe-node: form-encoded, bracket notation, a
 * return_url to allow-list and document options the policy completes (live capture and selfie are
 * required by the tenant and absent here, so the policy adds them).
 */
export const CREATE_BODY = [
  "type=document",
  `client_reference_id=${BENCH_END_USER}`,
  "metadata[order_id]=ord_1234",
  "options[document][allowed_types][0]=passport",
  "options[document][allowed_types][1]=id_card",
  `return_url=${encodeURIComponent(`${BENCH_RETURN_URL}?order=ord_1234`)}`,
].join("&");
