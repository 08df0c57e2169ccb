/**
 * Three Stripe SDKs that nobody here wrote, unchanged but for the base URL and the key, through the real
 * `wrangler dev` proxy to the independent stub: stripe-node 23, stripe-node 12 (Stripe-Version
 * 2022-11-15) and Debian's stripe-python 5.0.0 (no Stripe-Version; booleans as True/False).
 * One stack for the file; each SDK runs the whole scenario (test/e2e/sdk-scenario.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_TENANT_ID, demoTenants } from "../../dev/demo-tenant.ts";
import { type DevStack, freePort, startDevStack } from "../../dev/stack.ts";
import { NODE_SDKS, nodeDriver, pythonDriver, pythonStripeMissing, type SdkDriver } from "../helpers/stub-sdk-drivers.ts";
import { LIMITED_KEY, SCENARIO, type ScenarioContext, STRIPE_REQUEST_ID, tenantsWithLimitedKey } from "./sdk-scenario.ts";

const pythonMissing = await pythonStripeMissing();
if (pythonMissing) console.warn(`stripe-python end-to-end tests skipped: ${pythonMissing}`);

const SDK_NAMES = [...NODE_SDKS.map((s) => s.name), "stripe-python 5"];
let stack: DevStack;
const drivers = new Map<string, SdkDriver>();
const contexts = new Map<string, ScenarioContext>();

beforeAll(async () => {
  const port = await freePort();
  stack = await startDevStack({ port, vars: { TENANTS: JSON.stringify(tenantsWithLimitedKey(port)) } });
  for (const sdk of NODE_SDKS) drivers.set(sdk.name, nodeDriver(sdk.name, sdk.ctor, sdk.version, stack.proxyUrl, DEMO_PROXY_KEY));
  if (!pythonMissing) drivers.set("stripe-python 5", pythonDriver(stack.proxyUrl, DEMO_PROXY_KEY));
  const app = stack.stub.app;
  for (const [name, driver] of drivers) {
    contexts.set(name, {
      driver,
      tag: `e2e_${name.replace(/\W+/g, "_")}_${Date.now()}`,
      ids: {},
      limitedKey: LIMITED_KEY,
      setOutcome: async (id, outcome) => {
        app.setOutcome(id, outcome);
      },
    });
  }
}, 120_000);

afterAll(async () => {
  for (const d of drivers.values()) await d.close();
  // Over the whole file (three SDKs), the stub only ever saw the tenant's Stripe key.
  const keys = new Set(stack?.stub.app.requests.map((q) => q.headers.authorization));
  expect([...keys]).toEqual([`Bearer ${DEMO_STRIPE_KEY}`]);
  await stack?.stop();
  const out = stack?.output() ?? "";
  const clientSecrets = (stack?.stub.app.sessions() ?? []).map((x) => String(x.client_secret ?? "")).filter(Boolean);
  for (const secret of [DEMO_PROXY_KEY, DEMO_STRIPE_KEY, LIMITED_KEY, ...clientSecrets]) {
    expect(out.includes(secret), "a secret appeared in wrangler dev's output").toBe(false);
  }
});

describe("the proxy between the SDKs and Stripe", () => {
  it("applies the tenant's document policy to a bare create and sends the tenant's Stripe key, never the proxy key", async () => {
    const driver = drivers.get("stripe-node 23");
    if (!driver) throw new Error("no stripe-node 23 driver");
    const before = stack.stub.app.requests.length;
    const r = await driver.call({ op: "create", params: { type: "document" } });
    expect(r.ok && r.object.options.document).toMatchObject({
      allowed_types: ["passport", "id_card", "driving_license"],
      require_live_capture: true,
    });
    const seen = stack.stub.app.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${DEMO_STRIPE_KEY}`);
  });
});

describe.each(SDK_NAMES)("%s through the proxy", (sdk) => {
  const skip = sdk === "stripe-python 5" && pythonMissing !== null;

  for (const step of SCENARIO) {
    it.skipIf(skip)(step.name, async () => {
      const ctx = contexts.get(sdk);
      if (!ctx) throw new Error(`no driver for ${sdk}`);
      step.check(await step.run(ctx), ctx, expect);
    });
  }

  it.skipIf(skip)("versions: the SDK's own version is forwarded and answered, never silently replaced", async () => {
    const ctx = contexts.get(sdk);
    if (!ctx) throw new Error(`no driver for ${sdk}`);
    const before = stack.stub.app.requests.length;
    const r = await ctx.driver.call({ op: "create", params: { type: "id_number" } });
    const seen = stack.stub.app.requests.slice(before).find((q) => q.method === "POST");
    const pinned = (demoTenants(0)[DEMO_TENANT_ID] as { stripe: { api_version?: string } }).stripe.api_version;
    if (ctx.driver.sendsVersion === null) {
      // No version from the caller: the tenant's pinned version applies, and the answer says which.
      expect(r.ok, JSON.stringify(r)).toBe(true);
      expect(seen?.headers.stripeVersion).toBe(pinned);
      if (r.ok) expect(r.response?.stripe_version).toBe(pinned);
    } else if (r.ok) {
      expect(seen?.headers.stripeVersion).toBe(ctx.driver.sendsVersion);
      expect(r.response?.stripe_version).toBe(ctx.driver.sendsVersion);
    } else {
      // Refused: a clear 400 that names the version, never reaching Stripe.
      expect(r.error).toMatchObject({ class: "InvalidRequestError", http_status: 400 });
      expect(r.error.message).toContain(ctx.driver.sendsVersion);
      expect(seen).toBeUndefined();
    }
    if (r.ok) expect(r.response?.request_id).toMatch(STRIPE_REQUEST_ID);
  });
});
