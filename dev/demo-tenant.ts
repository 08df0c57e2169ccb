/**
 * The local `demo` tenant and its dev-only credentials. Nothing here is a real secret: the Stripe key
 * only opens the local stub, and the proxy key is published on purpose so the README can use it.
 * This file is never part of a deployment (wrangler.toml's TENANTS is empty).
 */
import { DEV_LOGIN_ISSUER } from "./demo/dev-token.ts";

export const DEMO_TENANT_ID = "demo";
export const DEMO_PROXY_KEY = "iek_dev_demo_0000000000000000000000000000000000000000";
export const DEMO_PROXY_KEY_SHA256 = "cfc8c9c10f96194ec25377df664d71e169a22e118ca6d48d6f368512fc2124cc";
export const DEMO_STRIPE_KEY = "sk_test_fake_demo_local_stub_only";
export const DEMO_WEBHOOK_SECRET = "whsec_fakedemolocal";
/** base64 of 32 zero-ish bytes: fine for a local cache, never for production. */
export const DEMO_CACHE_KEY = "ZGV2LW9ubHktY2FjaGUta2V5LW5vdC1hLXNlY3JldCE=";
/**
 * The demo's HS256 end-user token secret (the `DEMO_JWT_SECRET` binding): the Worker's dev login
 * (`POST /demo/login`, DEV_MODE only) signs with it and the proxy verifies with it.
 */
export const DEMO_JWT_SECRET = "dev-only-demo-jwt-secret-not-a-real-secret-0000";
export const DEMO_JWT_AUDIENCE = "identity-edge-demo";
/** Signs the demo tenant's event deliveries to the local receiver (dev/events-receiver.ts). */
export const DEMO_EVENTS_SECRET = `whsec_${btoa("dev-only-demo-events-secret-0000")}`;

/** `eventsUrl`: where the demo tenant's events go (the local receiver); none without it. */
export function demoTenants(port: number, eventsUrl?: string): Record<string, unknown> {
  const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  return {
    [DEMO_TENANT_ID]: {
      hosts: [`localhost:${port}`, `127.0.0.1:${port}`],
      stripe: {
        secret_key: "STRIPE_KEY_DEMO",
        api_version: "2026-07-29.dahlia",
        // Any SDK's own version (stripe-node 23 sends 2026-10-28.endive, stripe-node 12 2022-11-15).
        api_versions: ["*"],
        webhook_secret: "STRIPE_WHSEC_DEMO",
      },
      verification: {
        session_types: ["document", "id_number"],
        allowed_document_types: ["passport", "id_card", "driving_license"],
        require_live_capture: true,
        require_matching_selfie: false,
        require_id_number: false,
        verification_flows: [],
        return_urls: origins.map((o) => `${o}/demo/`),
        default_return_url: `${origins[0]}/demo/`,
      },
      browser: {
        origins,
        // Tokens from the Worker's dev login, which signs only for its own issuer (dev/demo/dev-token.ts).
        auth: { type: "jwt", issuer: DEV_LOGIN_ISSUER, audience: DEMO_JWT_AUDIENCE, hs256_secret: "DEMO_JWT_SECRET" },
        operations: ["create", "retrieve"],
      },
      server_keys: [{ name: "dev", sha256: DEMO_PROXY_KEY_SHA256 }],
      cache: { list_ttl_seconds: 60 },
      ...(eventsUrl ? { events: { url: eventsUrl, signing_secret: "DEMO_EVENTS_SECRET" } } : {}),
    },
  };
}

/** The variables `wrangler dev` gets for the demo (written to an env file it loads). */
export function demoVars(port: number, stubUrl: string, eventsUrl?: string): Record<string, string> {
  return {
    TENANTS: JSON.stringify(demoTenants(port, eventsUrl)),
    ...(eventsUrl ? { DEMO_EVENTS_SECRET } : {}),
    STRIPE_API_BASE: stubUrl,
    STRIPE_KEY_DEMO: DEMO_STRIPE_KEY,
    STRIPE_WHSEC_DEMO: DEMO_WEBHOOK_SECRET,
    CACHE_ENCRYPTION_KEY: DEMO_CACHE_KEY,
    DEMO_JWT_SECRET,
    DEV_MODE: "1",
    LOG_LEVEL: "info",
  };
}
