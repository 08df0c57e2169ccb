/**
 * `npm start` / `npm run dev`: `wrangler dev` with the demo tenant, against the local Stripe Identity
 * stub (no Cloudflare account, no Stripe key, no network) or, with STRIPE_SECRET_KEY=sk_test_…,
 * against Stripe test mode. What runs is decided by dev/start-config.ts (pure, tested).
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, usageError } from "../scripts/lib/args.ts";
import { DEMO_PROXY_KEY, demoVars } from "./demo-tenant.ts";
import { prettyLogLine } from "./pretty-log.ts";
import { portInUse, startDevStack, startWranglerDev } from "./stack.ts";
import { DEFAULT_EVENTS_PORT, DEFAULT_PORT, DEFAULT_STUB_PORT, planStart } from "./start-config.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const spec = {
  command: "npm start --",
  usage: `usage: npm start [-- --port N] [--stub-port N] [--json-logs]      (npm run dev is the same)

Runs wrangler dev with the demo tenant on http://localhost:${DEFAULT_PORT} and prints a proxy key,
a curl line and a stripe-node snippet.

  --port N        the proxy's port (or PORT=N; default ${DEFAULT_PORT})
  --stub-port N   the local Stripe Identity stub's port (or STUB_PORT=N; default ${DEFAULT_STUB_PORT})
  --json-logs     print the Worker's log lines as JSON (the production format) instead of one short
                  readable line per request

Environment:
  STRIPE_SECRET_KEY=sk_test_…   run against Stripe test mode instead of the stub (test keys only)
  STRIPE_API_BASE               the upstream in test mode (default https://api.stripe.com)
  EVENTS_PORT=N                 the demo events receiver's port (default ${DEFAULT_EVENTS_PORT})

  TENANT_KEK, TENANT_KEK_ID     passed to the Worker, to open tenant secrets sealed in the local
                                registry (npm run tenants -- … --local)

Local KV state (list cache, tenant registry) lives in .wrangler/state, where plain \`wrangler dev\`
and \`npm run tenants -- … --local\` keep it. npm start does not read .dev.vars (that file is for
plain \`npx wrangler dev\`; see .dev.vars.example).`,
  options: {
    port: { type: "string" },
    "stub-port": { type: "string" },
    "json-logs": { type: "boolean" },
  },
} as const;

const { values } = parseCommandLine(spec);
const planned = planStart({ port: values.port, stubPort: values["stub-port"], env: process.env });
if (!planned.ok) usageError(spec, planned.message);
const { plan } = planned;

const busy = async (port: number, what: string, flag: string) => {
  if (await portInUse(port)) {
    console.error(
      `npm start: port ${port} (${what}) is in use, perhaps by another npm start; stop it or pick another with ${flag}`,
    );
    process.exit(1);
  }
};
await busy(plan.port, "the proxy", "--port N or PORT=N");
if (plan.upstream.kind === "stub") await busy(plan.upstream.port, "the Stripe stub", "--stub-port N or STUB_PORT=N");

const common = {
  port: plan.port,
  inherit: true,
  formatLine: values["json-logs"] ? undefined : prettyLogLine,
  persistTo: join(root, ".wrangler", "state"),
};

let stack: { stop(): Promise<void> };
let upstreamLine: string;
let eventsLine = "";
try {
  if (plan.upstream.kind === "stub") {
    const eventsPort = Number(process.env.EVENTS_PORT ?? DEFAULT_EVENTS_PORT);
    await busy(eventsPort, "the demo events receiver", "EVENTS_PORT=N");
    const dev = await startDevStack({ ...common, stubPort: plan.upstream.port, eventsPort, vars: plan.vars });
    stack = dev;
    upstreamLine = `local Stripe Identity stub at ${dev.stub.url}`;
    eventsLine = `
  Events:       the demo tenant's verification events go, signed, to ${dev.events.url}
                (each delivery is verified with standardwebhooks and printed as [events] …)`;
  } else {
    stack = await startWranglerDev({ ...common, vars: { ...demoVars(plan.port, plan.upstream.apiBase), ...plan.vars } });
    upstreamLine = `Stripe test mode at ${plan.upstream.apiBase} (your STRIPE_SECRET_KEY; webhooks cannot reach localhost)`;
  }
} catch (err) {
  // wrangler's own output is already on the screen; one line says what failed.
  console.error(`npm start: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`);
  process.exit(1);
}

const base = `http://localhost:${plan.port}`;
console.log(`
identity-edge is running (demo tenant, ${upstreamLine})

  Proxy:        ${base}
  Demo page:    ${base}/demo/  (sign in as any name: a dev-only login)
  Dev proxy key (dev only, never deploy it): ${DEMO_PROXY_KEY}${eventsLine}

  curl:
    curl ${base}/v1/identity/verification_sessions -u ${DEMO_PROXY_KEY}: -d type=document
    curl ${base}/v1/identity/verification_sessions -H "Authorization: Bearer ${DEMO_PROXY_KEY}"

  stripe-node:
    const stripe = new Stripe("${DEMO_PROXY_KEY}", { host: "localhost", port: ${plan.port}, protocol: "http" });
    await stripe.identity.verificationSessions.create({ type: "document" });

Ctrl-C stops ${plan.upstream.kind === "stub" ? "them all" : "it"}.
`);

const shutdown = () => {
  stack.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
