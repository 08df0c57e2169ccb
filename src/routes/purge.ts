import type { RequestState } from "../deps.ts";
import { ProxyError } from "../errors.ts";
import { identifyCaller } from "./identity.ts";
import { DEFAULT_OPERATIONS } from "../stripe/operations.ts";
import { invalidateTenantLists } from "../cache/invalidation.ts";

/**
 * `POST /v1/cache/purge`: a server caller clears its own tenant's cached lists (the tenant comes
 * from the proxy key, as for every server call). A key that may `list` may purge: it could already
 * refresh any list with `Cache-Control: no-cache`, so purging grants nothing new. Answers 200
 * `{"object":"cache_purge","purged":true}`; the effect is immediate in this isolate and reaches other
 * locations as KV propagates (docs/consistency.md).
 */
export async function handleCachePurge(request: Request, state: RequestState): Promise<Response> {
  state.access.operation = "cache_purge";
  state.access.route = "/v1/cache/purge";
  const caller = await identifyCaller(request, state);
  state.access.tenant = caller.tenant.id;
  state.access.role = caller.role;
  const allowed: readonly string[] = caller.operations ?? DEFAULT_OPERATIONS[caller.role];
  if (!allowed.includes("list")) {
    throw new ProxyError(
      "operation_not_allowed",
      `This ${caller.role} key may not purge the list cache for this tenant (it may not list).`,
    );
  }
  invalidateTenantLists(caller.tenant.id, state);
  return Response.json({ object: "cache_purge", purged: true }, { headers: { "Cache-Control": "no-store" } });
}
