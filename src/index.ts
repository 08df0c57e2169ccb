import type { Deps } from "./deps.ts";
import type { Env } from "./env.ts";
import { handleQueueBatch } from "./events/queue-handler.ts";
import { handleRequest } from "./router.ts";

const deps: Deps = {
  fetch: (input) => fetch(input),
  now: () => Date.now(),
  logSink: (line) => console.log(line),
};

export default {
  fetch(request, env, ctx): Promise<Response> {
    return handleRequest(request, env, ctx, deps);
  },
  // Relays verified Stripe events to tenants, and keeps dead letters (src/events, docs/events.md).
  queue(batch, env): Promise<void> {
    return handleQueueBatch(batch, env, deps);
  },
} satisfies ExportedHandler<Env>;
