import type { RequestState } from "../deps.ts";
import { ProxyError } from "../errors.ts";
import { mayUse } from "../auth/authorize.ts";
import { identifyCaller } from "../auth/identify-caller.ts";
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
  const caller = await identifyCaller(request, state, (tenant) => {
    state.access.tenant = tenant;
  });
  state.access.tenant = caller.tenant.id;
  state.access.role = caller.role;
  if (!mayUse(caller, "list")) {
    throw new ProxyError(
      "operation_not_allowed",
      `This ${caller.role} key may not purge the list cache for this tenant (it may not list).`,
    );
  }
  invalidateTenantLists(caller.tenant.id, state);
  return Response.json({ object: "cache_purge", purged: true }, { headers: { "Cache-Control": "no-store" } });
}
