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

/**
 * What Stripe answers for a session id that does not exist, field order included (the stringified
 * body is byte for byte the upstream's), so that "not yours" and "does not exist" cannot be told apart.
 * The id has already passed the route's id check (`vs_` + alphanumerics), so it needs no escaping
 * beyond JSON.
 */
export function missingSessionError(id: string): { error: Record<string, string> } {
  return {
    error: {
      type: "invalid_request_error",
      message: `No such verification_session: '${id}'`,
      code: "resource_missing",
      doc_url: "https://stripe.com/docs/error-codes/resource-missing",
      param: "session",
    },
  };
}
