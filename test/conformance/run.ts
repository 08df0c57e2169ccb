/**
 * `npm run conformance`: the SDK scenario of the end-to-end tests (test/e2e/sdk-scenario.ts) through the
 * proxy twice — once with Stripe test mode behind it, once with the local stub — and every difference
 * between the two sets of answers (shapes, keys, statuses, error classes/codes/params; not ids or times).
 *
 *   STRIPE_TEST_KEY=sk_test_… npm run conformance      Stripe test mode vs the stub (needs network)
 *   CONFORMANCE_REFERENCE=stub npm run conformance     the stub vs a second stub (checks the harness itself)
 *
 * Without a key (and without CONFORMANCE_REFERENCE=stub) it says so and exits 0: CI never runs it.
 * Steps that need the stub's control (moving a session to verified/processing) have no Stripe API and are
 * left out of both runs. Exit code 1 when there is any difference.
 */
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_PROXY_KEY } from "../../dev/demo-tenant.ts";
import { type DevStack, freePort, startDevStack } from "../../dev/stack.ts";
import { NODE_SDKS, nodeDriver, pythonDriver, pythonStripeMissing, type SdkDriver } from "../helpers/stub-sdk-drivers.ts";
import { LIMITED_KEY, SCENARIO, type ScenarioContext, tenantsWithLimitedKey } from "../e2e/sdk-scenario.ts";
import { diffTranscripts, type RecordedCall } from "./diff.ts";
import { parseCommandLine } from "../../scripts/lib/args.ts";

const STRIPE_API = "https://api.stripe.com";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export type Reference = { kind: "stripe"; key: string } | { kind: "stub" };

/** What to compare against, from the environment; null (with the reason) when there is nothing to run. */
export function referenceFromEnv(env: NodeJS.ProcessEnv): Reference | { skip: string } {
  if (env.CONFORMANCE_REFERENCE === "stub") return { kind: "stub" };
  const key = env.STRIPE_TEST_KEY;
  if (!key) return { skip: "STRIPE_TEST_KEY is not set: nothing to compare against (see README, Conformance)." };
  if (!/^(sk|rk)_test_[A-Za-z0-9]+$/.test(key)) {
    return { skip: "STRIPE_TEST_KEY must be a test-mode key (sk_test_… or rk_test_…); live keys are never used." };
  }
  return { kind: "stripe", key };
}

async function startStack(reference: Reference | null): Promise<DevStack> {
  const port = await freePort();
  const vars: Record<string, string> = { TENANTS: JSON.stringify(tenantsWithLimitedKey(port)) };
  if (reference?.kind === "stripe") {
    vars.STRIPE_API_BASE = STRIPE_API;
    vars.STRIPE_KEY_DEMO = reference.key;
  }
  return startDevStack({ port, vars });
}

async function drivers(proxyUrl: string): Promise<SdkDriver[]> {
  const out = NODE_SDKS.map((s) => nodeDriver(s.name, s.ctor, s.version, proxyUrl, DEMO_PROXY_KEY));
  const missing = await pythonStripeMissing();
  if (missing) console.warn(`stripe-python left out: ${missing}`);
  else out.push(pythonDriver(proxyUrl, DEMO_PROXY_KEY));
  return out;
}

/** Runs every step (but the stub-only ones) with every SDK and records each call's normalized answer. */
export async function transcript(proxyUrl: string, runTag: string): Promise<RecordedCall[]> {
  const calls: RecordedCall[] = [];
  for (const driver of await drivers(proxyUrl)) {
    const ctx: ScenarioContext = {
      driver,
      tag: `conf_${driver.name.replace(/\W+/g, "_")}_${runTag}`,
      ids: {},
      limitedKey: LIMITED_KEY,
      setOutcome: null,
    };
    try {
      for (const step of SCENARIO) {
        if (step.stubOnly) continue;
        const results = await step.run(ctx);
        results.forEach((result, index) => {
          calls.push({ sdk: driver.name, step: step.name, index, result });
        });
      }
    } finally {
      await driver.close();
    }
  }
  return calls;
}

async function main(): Promise<number> {
  const reference = referenceFromEnv(process.env);
  if ("skip" in reference) {
    console.log(`conformance: skipped. ${reference.skip}`);
    return 0;
  }
  const runTag = String(Date.now());
  const label = reference.kind === "stripe" ? "Stripe test mode" : "a second stub";
  console.log(`conformance: the SDK scenario through the proxy, against the stub and against ${label}`);
  const stubStack = await startStack(null);
  const refStack = await startStack(reference);
  try {
    const stub = await transcript(stubStack.proxyUrl, runTag);
    const ref = await transcript(refStack.proxyUrl, runTag);
    const diffs = diffTranscripts(stub, ref);
    console.log(`${stub.length} calls per run, ${diffs.length} difference(s).`);
    let where = "";
    for (const d of diffs) {
      if (d.where !== where) {
        where = d.where;
        console.log(`\n${where}`);
      }
      console.log(`  ${d.path}: stub=${d.stub} ${reference.kind === "stripe" ? "stripe" : "reference"}=${d.stripe}`);
    }
    return diffs.length === 0 ? 0 : 1;
  } finally {
    await stubStack.stop();
    await refStack.stop();
    // dev/stack.ts wrote the Worker's variables (with the Stripe test key) to an env file: do not leave it.
    rmSync(join(root, ".wrangler", `dev-${new URL(refStack.proxyUrl).port}`, "demo.env"), { force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  parseCommandLine({
    command: "npm run conformance --",
    usage: `usage: STRIPE_TEST_KEY=sk_test_… npm run conformance

Runs the SDK scenario through the proxy twice, against Stripe test mode and against the local stub, and
prints every difference (keys, statuses, error classes, codes, params; not ids, times or wording).
Exits 0 with no difference, 1 with some, 2 on a usage error. Without STRIPE_TEST_KEY it says why and
exits 0; live keys are refused.

Environment:
  STRIPE_TEST_KEY=sk_test_…        the Stripe test-mode key (never committed; the env file is removed)
  CONFORMANCE_REFERENCE=stub       compare the stub with a second stub (checks the harness offline)`,
    options: {},
  });
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
