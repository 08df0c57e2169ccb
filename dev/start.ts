/**
 * `npm start`: the Stripe Identity stub and `wrangler dev` with the demo tenant. No Cloudflare
 * account, no Stripe key, no network.
 */
import { DEMO_PROXY_KEY } from "./demo-tenant.ts";
import { startDevStack } from "./stack.ts";

const port = Number(process.env.PORT ?? 8787);
const stubPort = Number(process.env.STUB_PORT ?? 12111);

const stack = await startDevStack({ port, stubPort, eventsPort: Number(process.env.EVENTS_PORT ?? 12112), inherit: true });
const base = `http://localhost:${port}`;
console.log(`
identity-edge is running (demo tenant, local Stripe Identity stub at ${stack.stub.url})

  Proxy:        ${base}
  Demo page:    ${base}/demo/  (sign in as any name: a dev-only login)
  Dev proxy key (dev only, never deploy it): ${DEMO_PROXY_KEY}
  Events:       the demo tenant's verification events go, signed, to ${stack.events.url}
                (each delivery is verified with standardwebhooks and printed as [events] …)

  curl:
    curl ${base}/v1/identity/verification_sessions -u ${DEMO_PROXY_KEY}: -d type=document
    curl ${base}/v1/identity/verification_sessions -H "Authorization: Bearer ${DEMO_PROXY_KEY}"

  stripe-node:
    const stripe = new Stripe("${DEMO_PROXY_KEY}", { host: "localhost", port: ${port}, protocol: "http" });
    await stripe.identity.verificationSessions.create({ type: "document" });

Ctrl-C stops both.
`);

const shutdown = () => {
  stack.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
