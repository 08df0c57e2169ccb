import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from "jose";
import { createIsolateCache } from "../isolate-cache.ts";

/**
 * Remote JWKS resolvers, one per URL per isolate, so the key set is fetched once and then served from
 * memory. jose's own limits apply: keys are kept up to `cacheMaxAge`, and a token with an unknown
 * `kid` triggers a refetch at most once per `cooldownDuration`, so a flood of made-up `kid`s costs
 * the identity provider one request per cooldown, not one per token.
 */

/** How long one JWKS fetch may take before the token is answered as unverifiable. */
const JWKS_TIMEOUT_MS = 3_000;
/** Minimum time between refetches triggered by unknown `kid`s (jose's default). */
const JWKS_COOLDOWN_MS = 30_000;
/** Keys are refetched after this even if every `kid` is known, so a revoked key stops working. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** URLs come from the tenant config, so this only bounds memory if configs churn in a long-lived isolate. */
const MAX_CACHED_URLS = 256;

type Fetch = (input: Request) => Promise<Response>;

interface CachedJwks {
  getKey: JWTVerifyGetKey;
  /**
   * The fetch the resolver uses, updated on each use: the request path gets `fetch` as a dependency
   * (tests serve a JWKS through it) while the resolver and its cache outlive one request.
   */
  fetch: { current: Fetch };
}

const cache = createIsolateCache<string, CachedJwks>({ maxEntries: MAX_CACHED_URLS });

/** The key resolver for a JWKS URL, fetching through `fetch`. */
export function remoteJwks(url: string, fetch: Fetch): JWTVerifyGetKey {
  let entry = cache.get(url);
  if (!entry) {
    const holder = { current: fetch };
    const getKey = createRemoteJWKSet(new URL(url), {
      timeoutDuration: JWKS_TIMEOUT_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
      [customFetch]: (resource, init) => holder.current(new Request(resource, init)),
    });
    entry = { getKey, fetch: holder };
    cache.set(url, entry);
  }
  entry.fetch.current = fetch;
  return entry.getKey;
}
