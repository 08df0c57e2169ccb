/**
 * Drives the real request path (router → stages → upstream) inside workerd, with the Stripe stub
 * in-process as the upstream. Every secret a test uses is listed in `SECRETS`, so tests can assert
 * that none of them reached the logs.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { createStripeStub } from "../../dev/stub/app.ts";
import type { Deps } from "../../src/deps.ts";
import type { Env } from "../../src/env.ts";
import type { UpstreamTimings } from "../../src/limits.ts";
import { handleRequest } from "../../src/router.ts";
import { sha256Hex } from "../../src/encoding.ts";

export const PROXY_KEYS = {
  acme: `iek_test_fake_acme_${"A".repeat(43)}`,
  acmeReadOnly: `iek_test_fake_acme_ro_${"R".repeat(40)}`,
  globex: `iek_test_fake_globex_${"G".repeat(41)}`,
  broken: `iek_test_fake_broken_${"B".repeat(41)}`,
} as const;

export const STRIPE_KEYS = {
  acme: "sk_test_fake_acme_0123456789abcdef",
  globex: "sk_test_fake_globex_0123456789abcdef",
} as const;

/** Webhook signing secrets (obviously fake); acme's is the `STRIPE_WHSEC_ACME` binding. */
export const WEBHOOK_SECRETS = {
  acme: "whsec_test_fake_acme_0123456789abcdef",
} as const;

/** `CACHE_ENCRYPTION_KEY` when `listCache: true`: 32 fixed, obviously fake bytes, base64. */
export const TEST_CACHE_ENCRYPTION_KEY = btoa("test-fake-cache-key-32-bytes-xyz");

/** The acme tenant's HS256 secret for browser end-user tokens (the `ACME_JWT_SECRET` binding). */
export const ACME_JWT_SECRET = "test-fake-acme-jwt-secret-0123456789abcdef";
export const ACME_JWT_ISSUER = "https://auth.acme.test";
export const ACME_JWT_AUDIENCE = "identity-edge";
/** An extra origin from which the acme tenant allows cross-origin (CORS) browser calls. */
export const ACME_EXTRA_ORIGIN = "https://www.acme.test";

/** Every secret the harness hands out; tests check none of them is ever logged. */
export const SECRETS: readonly string[] = [
  ...Object.values(PROXY_KEYS),
  ...Object.values(STRIPE_KEYS),
  ...Object.values(WEBHOOK_SECRETS),
  TEST_CACHE_ENCRYPTION_KEY,
  ACME_JWT_SECRET,
];

export const ACME_HOST = "app.acme.test";
export const STUB_BASE = "https://stub.stripe.test";

/** The test tenants: acme (full policy, connected account, pinned version), globex (minimal). */
export async function testTenants(): Promise<Record<string, unknown>> {
  return {
    acme: {
      hosts: [ACME_HOST],
      path_prefix: "/identity",
      stripe: {
        secret_key: "STRIPE_KEY_ACME",
        account: "acct_1AcmeTest",
        api_version: "2026-07-29.dahlia",
        webhook_secret: "STRIPE_WHSEC_ACME",
      },
      verification: {
        session_types: ["document"],
        allowed_document_types: ["passport", "id_card"],
        require_live_capture: true,
        require_matching_selfie: true,
        require_id_number: false,
        verification_flows: [],
        return_urls: ["https://app.acme.test/identity/done"],
        default_return_url: "https://app.acme.test/identity/done",
      },
      browser: {
        origins: ["https://app.acme.test", ACME_EXTRA_ORIGIN],
        auth: {
          type: "jwt",
          issuer: ACME_JWT_ISSUER,
          audience: ACME_JWT_AUDIENCE,
          hs256_secret: "ACME_JWT_SECRET",
          subject_claim: "sub",
        },
        operations: ["create", "retrieve", "cancel"],
      },
      server_keys: [
        { name: "backend", sha256: await sha256Hex(PROXY_KEYS.acme) },
        {
          name: "reporting",
          sha256: await sha256Hex(PROXY_KEYS.acmeReadOnly),
          operations: ["list", "retrieve", "report_list", "report_retrieve"],
        },
      ],
      cache: { list_ttl_seconds: 60 },
    },
    globex: {
      hosts: ["id.globex.test"],
      stripe: { secret_key: "STRIPE_KEY_GLOBEX" },
      verification: { session_types: ["document", "id_number"] },
      server_keys: [{ name: "backend", sha256: await sha256Hex(PROXY_KEYS.globex) }],
    },
    broken: {
      hosts: ["broken.test"],
      stripe: { secret_key: "STRIPE_KEY_BROKEN_MISSING" },
      verification: { session_types: ["document"] },
      server_keys: [{ name: "backend", sha256: await sha256Hex(PROXY_KEYS.broken) }],
    },
  };
}

export interface HarnessOptions {
  tenants?: Record<string, unknown>;
  vars?: Record<string, unknown>;
  timings?: Partial<UpstreamTimings>;
  /** Wraps the stub's fetch (to add faults or observe requests). */
  upstream?: (stubFetch: (r: Request) => Promise<Response>) => (r: Request) => Promise<Response>;
  /** Enables the KV list cache (sets CACHE_ENCRYPTION_KEY). Off by default: without it lists BYPASS. */
  listCache?: boolean;
  /** Wraps the LIST_CACHE binding (to count calls or inject KV failures). */
  kv?: (kv: KVNamespace) => KVNamespace;
  /** The Worker's clock (deps.now); default Date.now. */
  now?: () => number;
  /** The stub delivers its signed events for these tenants to the Worker's `/webhooks/stripe/{tenant}` (secrets from WEBHOOK_SECRETS). */
  webhooks?: (keyof typeof WEBHOOK_SECRETS)[];
  /** Dev-only routes (deps.devRoutes), as dev/worker.ts adds the demo; the deployed Worker has none. */
  devRoutes?: Deps["devRoutes"];
}

export interface CallInit extends RequestInit {
  /** Proxy key to send as Bearer; omit for none. */
  key?: string;
  host?: string;
}

export async function createHarness(options: HarnessOptions = {}) {
  const stub = createStripeStub({
    publicBaseUrl: STUB_BASE,
    webhooks: (options.webhooks ?? []).map((t) => ({
      url: `https://proxy.example.test/webhooks/stripe/${t}`,
      secret: WEBHOOK_SECRETS[t],
    })),
    webhookFetch: (request) => send(request),
  });
  const stubFetch = (r: Request) => stub.fetch(r);
  const upstream = options.upstream ? options.upstream(stubFetch) : stubFetch;
  const env: Env = {
    ...(workerEnv as unknown as Env),
    TENANTS: options.tenants ?? (await testTenants()),
    STRIPE_API_BASE: STUB_BASE,
    STRIPE_KEY_ACME: STRIPE_KEYS.acme,
    STRIPE_KEY_GLOBEX: STRIPE_KEYS.globex,
    STRIPE_WHSEC_ACME: WEBHOOK_SECRETS.acme,
    ACME_JWT_SECRET,
    LOG_LEVEL: "debug",
    // wrangler.toml's rate limiters would make long test files flaky; tests of rate limiting pass a
    // limiter (a fake, or the real binding) in `vars`.
    RATE_LIMITER: undefined,
    SERVER_RATE_LIMITER: undefined,
    ...(options.listCache ? { CACHE_ENCRYPTION_KEY: TEST_CACHE_ENCRYPTION_KEY } : {}),
    ...options.vars,
  };
  if (options.kv && env.LIST_CACHE) env.LIST_CACHE = options.kv(env.LIST_CACHE);

  async function call(path: string, init: CallInit = {}): Promise<Response> {
    const { key, host, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== undefined) headers.set("Authorization", `Bearer ${key}`);
    return send(new Request(`https://${host ?? "proxy.example.test"}${path}`, { ...rest, headers }));
  }

  /** Runs one request through the Worker and waits for its `waitUntil` work. */
  async function send(request: Request): Promise<Response> {
    const ctx = createExecutionContext();
    const response = await handleRequest(request, env, ctx, {
      fetch: upstream,
      now: options.now ?? (() => Date.now()),
      logSink: (line) => console.log(line),
      ...(options.timings ? { timings: options.timings } : {}),
      ...(options.devRoutes ? { devRoutes: options.devRoutes } : {}),
    });
    await waitOnExecutionContext(ctx);
    return response;
  }

  /** A form POST as stripe-node sends it. */
  function post(path: string, body: string, init: CallInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("Content-Type", "application/x-www-form-urlencoded");
    return call(path, { ...init, method: "POST", body, headers });
  }

  return { stub, env, call, post };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
