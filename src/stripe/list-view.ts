import type { JsonObject } from "./upstream.ts";

/**
 * Fields a list response never carries: a list is an overview, and a `client_secret` or session `url`
 * in it (or in the list cache) would hand every reader a way into every user's verification. Callers
 * that need them retrieve the one session.
 */
export const LIST_ITEM_SECRET_FIELDS = ["client_secret", "url"] as const;

/**
 * The body of a Stripe list without the secret fields of its items, or undefined when `body` is not
 * a list (the caller then passes Stripe's text through). Takes the body already parsed, so a list is
 * parsed once per response, and removes the fields in place: the parsed body belongs to this response.
 */
export function stripListSecrets(body: JsonObject): string | undefined {
  if (body.object !== "list" || !Array.isArray(body.data)) return undefined;
  for (const item of body.data) {
    if (typeof item === "object" && item !== null) {
      for (const field of LIST_ITEM_SECRET_FIELDS) delete (item as Record<string, unknown>)[field];
    }
  }
  return JSON.stringify(body);
}
