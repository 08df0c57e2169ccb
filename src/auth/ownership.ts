import { ProxyError } from "../errors.ts";

/**
 * The ownership rule for browser callers: a session belongs to the end user whose subject is its
 * `client_reference_id` (the proxy set it on create). Someone else's session is answered exactly as a
 * session that does not exist, so a browser cannot learn that an id exists.
 */

/** Whether a session body (parsed JSON) is owned by `subject`. A body that is not a session is not owned. */
export function isOwnedBy(session: unknown, subject: string): boolean {
  if (typeof session !== "object" || session === null) return false;
  const s = session as { object?: unknown; client_reference_id?: unknown };
  return (
    s.object === "identity.verification_session" && typeof s.client_reference_id === "string" && s.client_reference_id === subject
  );
}

/** The two kinds of object a path id names. */
export type IdentityObject = "verification_session" | "verification_report";

/**
 * Stripe's 404 for an id that names no object of the kind: `resource_missing` on `id`, with Stripe's
 * message. Used for every such answer the proxy gives — a malformed id (never forwarded), and for a
 * browser's session-id operations someone else's session and every upstream 404 alike — so all of
 * them are rendered by the one error renderer from the same fields and cannot be told apart.
 * The message quotes the id as the caller sent it (capped; JSON escapes the rest).
 */
export function missingObjectError(kind: IdentityObject, id: string): ProxyError {
  const shown = id.length > 100 ? `${id.slice(0, 100)}...` : id;
  return new ProxyError("resource_missing", `No such ${kind}: '${shown}'`, { param: "id" });
}
