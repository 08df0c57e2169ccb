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
