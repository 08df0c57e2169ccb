import * as v from "valibot";
import { deriveTenantKey, importMasterKey } from "../cache/cache-crypto.ts";
import type { Deps } from "../deps.ts";
import type { Env } from "../env.ts";
import { createLogger, errorFields, parseLogLevel } from "../log/logger.ts";
import { base64ToBytes, bytesToBase64 } from "../encoding.ts";
import { type EventMessage, EventMessageSchema } from "./event-message.ts";

/**
 * The dead-letter store. Cloudflare Queues cannot list a dead-letter queue's messages from a Worker,
 * so the DLQ's consumer (this Worker) keeps each dead letter in KV (`EVENTS_DEAD_LETTERS`) until an
 * operator replays it or it expires:
 *
 * | key                        | value                                       | metadata (listable)     |
 * |----------------------------|---------------------------------------------|-------------------------|
 * | `dead:{tenant}:{event_id}` | `{"v":1,"sealed":"<base64>"}` or `{"v":1}`  | DeadLetterSummary       |
 *
 * The session object may hold personal data (provided_details, metadata), so it is stored sealed:
 * AES-256-GCM under a key derived (HKDF, as the list cache does) from CACHE_ENCRYPTION_KEY with info
 * `events-dlq:{tenant}` (never a tenant id, so never a list-cache key), the KV key as associated
 * data. Without CACHE_ENCRYPTION_KEY only the summary is kept, and the letter cannot be replayed.
 */

/** Stripe keeps events 30 days; two weeks leaves time to notice, fix the receiver and replay. */
export const DEAD_LETTER_TTL_SECONDS = 14 * 24 * 60 * 60;
export const DEAD_LETTER_PREFIX = "dead:";
export const deadLetterKvKey = (tenant: string, eventId: string): string => `${DEAD_LETTER_PREFIX}${tenant}:${eventId}`;

const DeadLetterSummarySchema = v.object({
  tenant: v.string(),
  event_id: v.string(),
  type: v.string(),
  created: v.number(),
  dead_at: v.number(),
  attempts: v.number(),
  replayable: v.boolean(),
});
/** What listing shows (KV metadata, at most 1 KB): no payload. */
export type DeadLetterSummary = v.InferOutput<typeof DeadLetterSummarySchema>;

const StoredSchema = v.object({ v: v.literal(1), sealed: v.optional(v.string()) });

const enc = new TextEncoder();
const IV_BYTES = 12;

async function letterKey(env: Env, tenant: string): Promise<CryptoKey | undefined> {
  const master = await importMasterKey(env.CACHE_ENCRYPTION_KEY);
  return master.ok ? deriveTenantKey(master.key, `events-dlq:${tenant}`) : undefined;
}

async function seal(key: CryptoKey, kvKey: string, object: Record<string, unknown>): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const data = enc.encode(JSON.stringify(object));
  const cipher = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(kvKey) }, key, data),
  );
  const out = new Uint8Array(IV_BYTES + cipher.byteLength);
  out.set(iv);
  out.set(cipher, IV_BYTES);
  return bytesToBase64(out);
}

async function open(key: CryptoKey, kvKey: string, sealed: string): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = base64ToBytes(sealed);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: enc.encode(kvKey) },
      key,
      bytes.slice(IV_BYTES),
    );
    const object: unknown = JSON.parse(new TextDecoder().decode(plain));
    return typeof object === "object" && object !== null && !Array.isArray(object)
      ? (object as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The dead-letter queue's consumer: stores each message (sealed) and acknowledges it. A message that
 * is not an event is dropped with a log; a KV write that fails leaves the message to Queues' retries.
 */
export async function storeDeadLetters(batch: MessageBatch<unknown>, env: Env, deps: Deps): Promise<void> {
  const log = createLogger(parseLogLevel(env.LOG_LEVEL), deps.logSink, deps.now);
  const kv = env.EVENTS_DEAD_LETTERS;
  for (const message of batch.messages) {
    const parsed = v.safeParse(EventMessageSchema, message.body);
    if (!parsed.success) {
      log.error("event_dead_letter", { outcome: "dropped", detail: "the queue message is not an event" });
      message.ack();
      continue;
    }
    const event = parsed.output;
    const fields = { tenant: event.tenant, event_id: event.event_id, event_type: event.type };
    if (!kv) {
      log.error("event_dead_letter", {
        ...fields,
        binding: "EVENTS_DEAD_LETTERS",
        outcome: "dropped",
        detail: "no dead-letter store bound",
      });
      message.ack();
      continue;
    }
    try {
      const kvKey = deadLetterKvKey(event.tenant, event.event_id);
      const key = await letterKey(env, event.tenant);
      const summary: DeadLetterSummary = {
        tenant: event.tenant,
        event_id: event.event_id,
        type: event.type,
        created: event.created,
        dead_at: Math.floor(deps.now() / 1000),
        attempts: message.attempts,
        replayable: key !== undefined,
      };
      const stored = key ? { v: 1, sealed: await seal(key, kvKey, event.object) } : { v: 1 };
      await kv.put(kvKey, JSON.stringify(stored), { expirationTtl: DEAD_LETTER_TTL_SECONDS, metadata: summary });
      if (!key)
        log.warn("event_dead_letter_unsealed", {
          ...fields,
          binding: "CACHE_ENCRYPTION_KEY",
          detail: "kept without its payload: it cannot be replayed",
        });
      log.error("event_dead_letter", { ...fields, outcome: "dead_lettered" });
      message.ack();
    } catch (err) {
      log.error("event_dead_letter_failed", { ...fields, ...errorFields(err) });
      message.retry();
    }
  }
}

/** Up to `limit` dead letters (one KV list page), optionally for one tenant; `more` when others remain. */
export async function listDeadLetters(
  kv: KVNamespace,
  tenant: string | undefined,
  limit = 1000,
): Promise<{ letters: DeadLetterSummary[]; more: boolean }> {
  const page = await kv.list({ prefix: tenant ? `${DEAD_LETTER_PREFIX}${tenant}:` : DEAD_LETTER_PREFIX, limit });
  const letters = page.keys.flatMap((k) => {
    const summary = v.safeParse(DeadLetterSummarySchema, k.metadata);
    return summary.success ? [summary.output] : [];
  });
  return { letters, more: !page.list_complete };
}

export type ReplayResult = { ok: true; message: EventMessage } | { ok: false; reason: string };

/** The queue message a stored dead letter came from, or why it cannot be rebuilt. */
export async function deadLetterMessage(kv: KVNamespace, env: Env, summary: DeadLetterSummary): Promise<ReplayResult> {
  const kvKey = deadLetterKvKey(summary.tenant, summary.event_id);
  const text = await kv.get(kvKey);
  if (text === null) return { ok: false, reason: "gone (replayed or expired)" };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const stored = v.safeParse(StoredSchema, raw);
  if (!stored.success || stored.output.sealed === undefined) return { ok: false, reason: "stored without its payload" };
  const key = await letterKey(env, summary.tenant);
  const object = key ? await open(key, kvKey, stored.output.sealed) : undefined;
  if (!object) return { ok: false, reason: "the payload does not open (CACHE_ENCRYPTION_KEY changed?)" };
  return {
    ok: true,
    message: { v: 1, tenant: summary.tenant, event_id: summary.event_id, type: summary.type, created: summary.created, object },
  };
}
