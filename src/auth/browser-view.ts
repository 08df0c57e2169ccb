/**
 * What a browser sees of a VerificationSession: an allow-list of fields, so that whatever Stripe adds
 * or the tenant's backend stores (verified outputs, provided details, metadata, related customers,
 * the last report) never reaches a page by default.
 */
export const BROWSER_SESSION_FIELDS = [
  "id",
  "object",
  "status",
  "type",
  "client_secret",
  "url",
  "last_error",
  "redaction",
  "created",
  "livemode",
  "options",
] as const;

/** The fields that let someone continue the verification: only for the session's own user. */
const CONTINUATION_FIELDS: ReadonlySet<string> = new Set(["client_secret", "url"]);

export interface BrowserViewOptions {
  /**
   * Whether `client_secret` and `url` are included. They are for the session's owner (a verified
   * subject) and for the creator's own create response; an anonymous retrieve does not get them.
   */
  withContinuation: boolean;
}

/**
 * The browser's view of a session body: the allow-listed fields, in Stripe's order. Returns undefined
 * when the body is not a VerificationSession (the caller then refuses rather than pass it on).
 */
export function browserSessionView(body: unknown, options: BrowserViewOptions): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const session = body as Record<string, unknown>;
  if (session.object !== "identity.verification_session") return undefined;
  const view: Record<string, unknown> = {};
  for (const field of BROWSER_SESSION_FIELDS) {
    if (!Object.hasOwn(session, field)) continue;
    if (!options.withContinuation && CONTINUATION_FIELDS.has(field)) continue;
    view[field] = session[field];
  }
  return view;
}
