import type { JsonObject } from "./upstream.ts";

/**
 * Fields a list response never fills in: a list is an overview, and a `client_secret` or session `url`
 * in it (or in the list cache) would hand every reader a way into every user's verification. Callers
 * that need them retrieve the one session. The keys stay, set to `null` (Stripe's schema has both
 * nullable, and it is null once a session is no longer in progress), so an SDK's `item.url` reads
 * None/null instead of raising AttributeError or being undefined.
 */
export const LIST_ITEM_SECRET_FIELDS = ["client_secret", "url"] as const;

/**
 * The body of a Stripe list with the secret fields of its items set to null, or undefined when `body`
 * is not a list (the caller then passes Stripe's text through). Takes the body already parsed, so a
 * list is parsed once per response, and changes the fields in place: the parsed body belongs to this
 * response. A field an item does not have (a report) is not added.
 */
export function stripListSecrets(body: JsonObject): string | undefined {
  if (body.object !== "list" || !Array.isArray(body.data)) return undefined;
  for (const item of body.data) {
    if (typeof item === "object" && item !== null) {
      const fields = item as Record<string, unknown>;
      for (const field of LIST_ITEM_SECRET_FIELDS) if (Object.hasOwn(fields, field)) fields[field] = null;
    }
  }
  return JSON.stringify(body);
}
