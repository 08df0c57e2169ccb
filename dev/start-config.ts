/**
 * What `npm start` runs, decided from its flags and environment alone (pure, so it is tested without
 * starting anything and without calling Stripe):
 *
 * - no `STRIPE_SECRET_KEY`: the local Stripe Identity stub, the demo tenant pointed at it;
 * - `STRIPE_SECRET_KEY=sk_test_…`: no stub; the demo tenant's Stripe key is that test key and the
 *   upstream is Stripe (`STRIPE_API_BASE`, default https://api.stripe.com). A live key is refused:
 *   the demo's proxy key is published in the README, so it must never open a live account.
 */
import { DEFAULT_STRIPE_API_BASE } from "../src/env.ts";

export const DEFAULT_PORT = 8787;
export const DEFAULT_STUB_PORT = 12111;
/** The demo tenant's events receiver (dev/events-receiver.ts), under the stub only. */
export const DEFAULT_EVENTS_PORT = 12112;

export interface StartInput {
  /** `--port` / `--stub-port` as given on the command line (win over the environment). */
  port?: string | undefined;
  stubPort?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export type Upstream = { kind: "stub"; port: number } | { kind: "stripe"; apiBase: string };

export interface StartPlan {
  port: number;
  upstream: Upstream;
  /** Variables layered over the demo's (dev/demo-tenant.ts demoVars) for the Worker. */
  vars: Record<string, string>;
}

export type StartPlanResult = { ok: true; plan: StartPlan } | { ok: false; message: string };

function port(name: string, value: string | undefined, fallback: number): number | string {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : `${name} needs a port number (1-65535), not ${JSON.stringify(value)}`;
}

/** Passed through from the environment: they open tenant secrets sealed in the local registry. */
const PASSED_THROUGH = ["TENANT_KEK", "TENANT_KEK_ID", "TENANT_KEK_PREVIOUS", "TENANT_KEK_PREVIOUS_ID"] as const;

export function planStart(input: StartInput): StartPlanResult {
  const passed: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = input.env[name];
    if (value) passed[name] = value;
  }
  const proxyPort = port(input.port !== undefined ? "--port" : "PORT", input.port ?? input.env.PORT, DEFAULT_PORT);
  if (typeof proxyPort === "string") return { ok: false, message: proxyPort };
  const key = input.env.STRIPE_SECRET_KEY?.trim();
  if (!key) {
    const stubPort = port(
      input.stubPort !== undefined ? "--stub-port" : "STUB_PORT",
      input.stubPort ?? input.env.STUB_PORT,
      DEFAULT_STUB_PORT,
    );
    if (typeof stubPort === "string") return { ok: false, message: stubPort };
    if (stubPort === proxyPort) return { ok: false, message: `the proxy and the stub cannot both use port ${proxyPort}` };
    return { ok: true, plan: { port: proxyPort, upstream: { kind: "stub", port: stubPort }, vars: passed } };
  }
  if (/^(sk|rk)_live_/.test(key))
    return {
      ok: false,
      message:
        "STRIPE_SECRET_KEY is a live key; npm start serves a published dev proxy key, so it takes test keys only (sk_test_/rk_test_)",
    };
  if (!/^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key))
    return { ok: false, message: "STRIPE_SECRET_KEY must be a Stripe test key (sk_test_… or rk_test_…)" };
  const apiBase = input.env.STRIPE_API_BASE?.trim() || DEFAULT_STRIPE_API_BASE;
  let parsed: URL;
  try {
    parsed = new URL(apiBase);
  } catch {
    return { ok: false, message: `STRIPE_API_BASE is not a URL: ${JSON.stringify(apiBase)}` };
  }
  return {
    ok: true,
    plan: {
      port: proxyPort,
      upstream: { kind: "stripe", apiBase: parsed.origin },
      vars: { ...passed, STRIPE_API_BASE: parsed.origin, STRIPE_KEY_DEMO: key },
    },
  };
}
