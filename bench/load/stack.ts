import { createHash, randomBytes } from "node:crypto";
import { DEMO_PROXY_KEY, DEMO_TENANT_ID, demoTenants, demoVars } from "../../dev/demo-tenant.ts";
import { type DevStack, freePort, startDevStack } from "../../dev/stack.ts";
import { planPut } from "../../scripts/tenants/registry-ops.ts";
import { WranglerKvStore } from "../../scripts/tenants/wrangler-store.ts";

/**
 * The load test's stack: `wrangler dev` with the demo tenant (plus random server keys for this run)
 * and a second tenant served from the KV tenant registry, and the Stripe stub; and the secrets the
 * run must never print.
 */

export const REGISTRY_TENANT_ID = "load-registry";

export interface LoadKeys {
  /** The demo tenant's keys for this run: enough that the per-key rate limit (1 500/min) is not what is measured. */
  server: string[];
  /** The registry tenant's keys: first used by the load's opening burst, cold lookups that concurrent requests share. */
  registry: string[];
  /** Keys no tenant has, and Stripe keys a caller must not send. */
  bad: string[];
}

export interface LoadStack {
  stack: DevStack;
  port: number;
  keys: LoadKeys;
  /** Stops wrangler and the stub; safe to call twice. */
  stop(): Promise<void>;
}

function newProxyKey(): string {
  return `iek_load_${randomBytes(32).toString("base64url")}`;
}

function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

export function newKeys(serverKeys: number): LoadKeys {
  return {
    server: Array.from({ length: serverKeys }, newProxyKey),
    registry: Array.from({ length: Math.max(2, Math.floor(serverKeys / 4)) }, newProxyKey),
    bad: [
      newProxyKey(),
      newProxyKey(),
      `sk_test_load_caller_${randomBytes(12).toString("hex")}`,
      `rk_test_load_${randomBytes(12).toString("hex")}`,
    ],
  };
}

/**
 * The registry tenant: the demo's verification policy and Stripe key (on an account of its own: one
 * Stripe account, one tenant), no hosts or browser, its own keys.
 */
function registryTenantConfig(demo: unknown, keys: readonly string[]): Record<string, unknown> {
  const { verification, stripe } = demo as { verification: unknown; stripe: { secret_key: string; api_version: string } };
  return {
    stripe: { secret_key: stripe.secret_key, account: "acct_1LoadRegistry", api_version: stripe.api_version },
    verification,
    server_keys: keys.map((key, i) => ({ name: `registry-${i}`, sha256: sha256Hex(key) })),
  };
}

/** Starts the stack; the registry tenant is seeded through the operator CLI's planning core into wrangler dev's local state. */
export async function startLoadStack(keys: LoadKeys, log: (line: string) => void): Promise<LoadStack> {
  const port = await freePort();
  const tenants = demoTenants(port);
  const demo = tenants[DEMO_TENANT_ID] as { server_keys: { name: string; sha256: string }[] };
  demo.server_keys = [...demo.server_keys, ...keys.server.map((key, i) => ({ name: `load-${i}`, sha256: sha256Hex(key) }))];
  const registryTenant = registryTenantConfig(tenants[DEMO_TENANT_ID], keys.registry);
  const seedRegistry = async (persistTo: string) => {
    const store = new WranglerKvStore({ binding: "TENANT_REGISTRY", remote: false, persistTo });
    const plan = await planPut(store, REGISTRY_TENANT_ID, registryTenant);
    if (plan.errors.length > 0) throw new Error(`registry tenant refused: ${JSON.stringify(plan.errors)}`);
    await store.apply(plan.changes);
  };

  log(`starting wrangler dev on 127.0.0.1:${port}…`);
  const stack = await startDevStack({
    port,
    vars: { TENANTS: JSON.stringify(tenants), LOG_LEVEL: "info" },
    beforeStart: seedRegistry,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  return { stack, port, keys, stop };
}

/** Demo variables that are configuration, not secrets. */
const NOT_SECRET_VARS = new Set(["TENANTS", "STRIPE_API_BASE", "DEV_MODE", "LOG_LEVEL"]);

/**
 * Every secret of the run: the Worker's bindings (the demo's, whatever they are today), every key used,
 * and those learned from answers (client_secret, url). `plainOnly`: the published demo key ends in 16
 * zeros, like the placeholder KV ids wrangler prints, so it is checked in full only (a tail match would
 * be noise); every other secret in every encoded form.
 */
export function runSecrets(load: LoadStack, learned: Iterable<string>): { secrets: string[]; plainOnly: string[] } {
  const bindings = Object.entries(demoVars(load.port, load.stack.stub.url))
    .filter(([name]) => !NOT_SECRET_VARS.has(name))
    .map(([, value]) => value);
  const { server, registry, bad } = load.keys;
  return { secrets: [...bindings, ...server, ...registry, ...bad, ...learned], plainOnly: [DEMO_PROXY_KEY] };
}
