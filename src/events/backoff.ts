/**
 * Redelivery timing. Cloudflare Queues counts attempts (`message.attempts`, 1 on the first delivery)
 * and moves a message to the dead-letter queue after `max_retries` retries (wrangler.toml); this
 * module only says how long to wait before the next attempt. Keep EVENTS_MAX_RETRIES equal to
 * `max_retries` of the events consumer in wrangler.toml (a test checks they agree).
 */

/** First retry after 30 s; each later one waits twice as long. */
export const RETRY_BASE_SECONDS = 30;
/** Queues accepts delays up to 12 h; 2 h keeps a recovered receiver from waiting half a day. */
export const RETRY_MAX_DELAY_SECONDS = 2 * 60 * 60;
/**
 * Retries before dead-lettering: with the delays above (30 s, 1 min, 2 min … 2 h) the last attempt
 * comes about 6 h after the first, so a receiver down for a few hours loses nothing; after that the
 * message waits in the dead-letter store for an operator's replay (docs/events.md).
 */
export const EVENTS_MAX_RETRIES = 10;

/** Seconds to wait after the failed attempt number `attempts` (1-based). */
export function retryDelaySeconds(attempts: number): number {
  const n = Number.isFinite(attempts) && attempts >= 1 ? Math.floor(attempts) : 1;
  return Math.min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_SECONDS * 2 ** Math.min(n - 1, 20));
}
