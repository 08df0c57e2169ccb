import * as v from "valibot";
import { TenantIdSchema } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { readBinding } from "../env.ts";
import { ProxyError, queueUnavailable, unrecognizedUrl } from "../errors.ts";
import { errorFields } from "../log/logger.ts";
import { deadLetterKvKey, deadLetterMessage, listDeadLetters } from "../events/dead-letters.ts";
import { constantTimeEqual, sha256 } from "../encoding.ts";

/** Dead letters replayed per call; the CLI calls again while some remain. */
export const REPLAY_BATCH = 100;

const noStore = { "Cache-Control": "no-store" };

/**
 * The operator's dead-letter endpoints (`npm run events -- dlq …`, docs/events.md), authenticated by
 * `Authorization: Bearer <EVENTS_ADMIN_KEY>` (compared as SHA-256 digests, in constant time). Without
 * that secret, or without the store, they answer 404 like any unknown URL.
 *
 * - `GET /admin/events/dead-letters[?tenant=T]`: summaries (no payload).
 * - `POST /admin/events/dead-letters/replay[?tenant=T][&event_id=evt_…]`: re-enqueues up to 100 on
 *   EVENTS and deletes each from the store once it is queued; the receiver sees the same webhook-id.
 */
export async function handleDeadLetterAdmin(request: Request, state: RequestState): Promise<Response> {
  const url = new URL(request.url);
  const replay = url.pathname === "/admin/events/dead-letters/replay";
  state.access.operation = replay ? "dead_letter_replay" : "dead_letter_list";
  state.access.route = url.pathname;
  const adminKey = readBinding(state.env, "EVENTS_ADMIN_KEY");
  const kv = state.env.EVENTS_DEAD_LETTERS;
  const known = replay || url.pathname === "/admin/events/dead-letters";
  if (!adminKey || !kv || !known) throw unrecognizedUrl(request.method, url.pathname);
  const given = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1] ?? "";
  if (!constantTimeEqual(await sha256(given), await sha256(adminKey)))
    throw new ProxyError("authentication_required", "Invalid operator key for the events admin endpoint.");
  const expected = replay ? "POST" : "GET";
  if (request.method !== expected) throw unrecognizedUrl(request.method, url.pathname);

  const tenant = url.searchParams.get("tenant") ?? undefined;
  if (tenant !== undefined && !v.is(TenantIdSchema, tenant))
    throw new ProxyError("parameter_invalid", "tenant must be a tenant id.", { param: "tenant" });
  if (!replay) {
    const { letters, more } = await listDeadLetters(kv, tenant);
    return Response.json({ object: "list", data: letters, has_more: more }, { headers: noStore });
  }

  const eventId = url.searchParams.get("event_id") ?? undefined;
  const queue = state.env.EVENTS;
  if (!queue) throw queueUnavailable();
  const { letters, more } = await listDeadLetters(kv, tenant, REPLAY_BATCH);
  const replayed: string[] = [];
  const skipped: { event_id: string; tenant: string; reason: string }[] = [];
  for (const letter of letters.filter((l) => eventId === undefined || l.event_id === eventId)) {
    const rebuilt = await deadLetterMessage(kv, state.env, letter);
    if (!rebuilt.ok) {
      skipped.push({ event_id: letter.event_id, tenant: letter.tenant, reason: rebuilt.reason });
      continue;
    }
    try {
      await queue.send(rebuilt.message, { contentType: "json" });
    } catch (err) {
      state.log.error("event_enqueue_failed", { tenant: letter.tenant, event_id: letter.event_id, ...errorFields(err) });
      throw queueUnavailable();
    }
    await kv.delete(deadLetterKvKey(letter.tenant, letter.event_id));
    state.log.warn("event_replayed", {
      tenant: letter.tenant,
      event_id: letter.event_id,
      event_type: letter.type,
      outcome: "replayed",
    });
    replayed.push(letter.event_id);
  }
  return Response.json({ object: "dead_letter_replay", replayed, skipped, has_more: more }, { headers: noStore });
}
