/**
 * Fields a list response never carries: a list is an overview, and a `client_secret` or session `url`
 * in it (or in the list cache) would hand every reader a way into every user's verification. Callers
 * that need them retrieve the one session.
 */
export const LIST_ITEM_SECRET_FIELDS = ["client_secret", "url"] as const;

/** Removes the secret fields from every item of a Stripe list body; other bodies come back as they are. */
export function stripListSecrets(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof body !== "object" || body === null || (body as { object?: unknown }).object !== "list") return text;
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data)) return text;
  for (const item of data) {
    if (typeof item === "object" && item !== null) {
      for (const field of LIST_ITEM_SECRET_FIELDS) delete (item as Record<string, unknown>)[field];
    }
  }
  return JSON.stringify(body);
}
