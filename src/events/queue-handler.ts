import type { Deps } from "../deps.ts";
import type { Env } from "../env.ts";
import { type DeliveryOptions, deliverEventBatch } from "./consumer.ts";
import { storeDeadLetters } from "./dead-letters.ts";

/** The dead-letter queue's name in wrangler.toml; `EVENTS_DEAD_LETTER_QUEUE` overrides it. */
export const DEFAULT_DEAD_LETTER_QUEUE = "identity-edge-events-dlq";

/**
 * The Worker's `queue` handler: batches from the dead-letter queue are stored for operators, batches
 * from any other queue (the events queue) are delivered to tenants.
 */
export function handleQueueBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  deps: Deps,
  options: DeliveryOptions = {},
): Promise<void> {
  const dlq = typeof env.EVENTS_DEAD_LETTER_QUEUE === "string" ? env.EVENTS_DEAD_LETTER_QUEUE : DEFAULT_DEAD_LETTER_QUEUE;
  return batch.queue === dlq ? storeDeadLetters(batch, env, deps) : deliverEventBatch(batch, env, deps, options);
}
