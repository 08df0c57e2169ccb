/**
 * `npm run bench:events [-- --events 300 --concurrency 10]`
 *
 * The event relay locally, as `npm start` runs it: `wrangler dev` (Miniflare's local queues), the
 * demo tenant with an `events` block, and the local receiver that verifies every delivery with
 * `standardwebhooks`. Sends N signed Stripe events to `POST /webhooks/stripe/demo` (concurrency C)
 * and reports
 * - webhooks acknowledged per second (verified and queued) and events relayed per second: N / (last
 *   verified arrival − first send), and
 * - Stripe-to-tenant latency per event: verified arrival − the moment its webhook was sent, p50/p99.
 * Local queues batch like production ones (max_batch_size 10, max_batch_timeout 1 s in wrangler.toml),
 * so latency is dominated by batching, not by the Worker; production adds Cloudflare's queue hops.
 */
import { DEMO_TENANT_ID, DEMO_WEBHOOK_SECRET } from "../dev/demo-tenant.ts";
import { startDevStack } from "../dev/stack.ts";
import { signPayload } from "../dev/stub/webhooks.ts";
import { parseCommandLine, positiveNumber } from "../scripts/lib/args.ts";
import { quantile } from "./load/driver.ts";

const CLI = {
  command: "npm run bench:events --",
  usage: `usage: npm run bench:events -- [--events N] [--concurrency N]

Sends N signed Stripe events to the local stack's webhook endpoint (wrangler dev, local queues, the
local receiver) and prints, as JSON: webhooks acknowledged and events relayed per second, and the
Stripe-to-tenant latency per event (p50, p99, max).

  --events N        events to send (default 300)
  --concurrency N   webhooks in flight at once (default 10)`,
  options: { events: { type: "string" }, concurrency: { type: "string" } },
} as const;
const { values } = parseCommandLine(CLI);
const total = positiveNumber(CLI, "--events", values.events, 300, true);
const concurrency = positiveNumber(CLI, "--concurrency", values.concurrency, 10, true);

const stack = await startDevStack();
try {
  const sentAt = new Map<string, number>();
  let next = 0;
  const send = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const id = `evt_bench${i}${Date.now()}`;
      const payload = JSON.stringify({
        id,
        object: "event",
        created: Math.floor(Date.now() / 1000),
        type: "identity.verification_session.verified",
        data: { object: { id: `vs_bench${i}`, object: "identity.verification_session", status: "verified" } },
      });
      const signature = await signPayload(DEMO_WEBHOOK_SECRET, payload, Math.floor(Date.now() / 1000));
      sentAt.set(id, Date.now());
      const res = await fetch(`${stack.proxyUrl}/webhooks/stripe/${DEMO_TENANT_ID}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
        body: payload,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: concurrency }, send));
  const acknowledged = Date.now();
  const deadline = Date.now() + 60_000;
  const mine = () => stack.events.received.filter((e) => sentAt.has(e.id));
  while (new Set(mine().map((e) => e.id)).size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const arrivals = mine();
  const firstArrival = new Map<string, number>();
  for (const e of arrivals) if (!firstArrival.has(e.id)) firstArrival.set(e.id, e.at);
  const latencies = [...firstArrival].map(([id, at]) => at - (sentAt.get(id) ?? at)).sort((a, b) => a - b);
  const last = Math.max(...firstArrival.values());
  console.log(
    JSON.stringify(
      {
        events: total,
        concurrency,
        delivered: firstArrival.size,
        duplicates: arrivals.length - firstArrival.size,
        acknowledged_per_second: Number(((total / (acknowledged - started)) * 1000).toFixed(1)),
        relayed_per_second: Number(((firstArrival.size / (last - started)) * 1000).toFixed(1)),
        latency_ms: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies.at(-1) },
      },
      null,
      2,
    ),
  );
} finally {
  await stack.stop();
}
