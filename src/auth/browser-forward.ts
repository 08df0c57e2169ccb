import { errorResponse, missingObjectError, ProxyError } from "../errors.ts";
import { shapeResponse } from "../stripe/forward.ts";
import { OPERATIONS, type OperationSpec, upstreamPath } from "../stripe/operations.ts";
import type { UpstreamCall, UpstreamResponse } from "../stripe/upstream.ts";
import type { BrowserCaller } from "./browser-caller.ts";
import { browserSessionView } from "./browser-view.ts";
import { isOwnedBy } from "./ownership.ts";

/** A browser's answer, and what the access log should say about it. */
export interface BrowserAnswer {
  response: Response;
  /** The session was someone else's (answered as missing). */
  notOwner: boolean;
  /** Answered as a missing session (`resource_missing`). */
  missing: boolean;
}

/**
 * A browser's call to Stripe. A signed-in user's session-id operations first retrieve the session and
 * go on only if the user owns it. For every browser session-id operation, someone else's session and
 * every upstream 404 take the one path of `missingSession`, so that existence cannot be probed by
 * status, headers or body bytes. Successful answers carry only the browser's view of the session;
 * Stripe's other errors pass through unchanged. `forward` makes one upstream call.
 */
export async function forwardForBrowser(
  caller: BrowserCaller,
  op: OperationSpec,
  id: string | undefined,
  call: UpstreamCall,
  forward: (call: UpstreamCall) => Promise<UpstreamResponse>,
  requestId: string,
): Promise<BrowserAnswer> {
  const answer = (response: Response): BrowserAnswer => ({ response, notOwner: false, missing: false });
  const user = caller.identity.kind === "user" ? caller.identity : undefined;
  if (user && id !== undefined) {
    const current = await forward(op.name === "retrieve" ? call : retrieveCall(call, id));
    if (current.status === 404) return missingSession(id, current, requestId, false);
    if (current.status !== 200) return answer(shapeResponse(OPERATIONS.retrieve, current, requestId));
    if (!isOwnedBy(current.json, user.subject)) return missingSession(id, current, requestId, true);
    if (op.name === "retrieve") return answer(shapeResponse(op, browserView(current, true), requestId));
  }
  const upstream = await forward(call);
  if (id !== undefined && upstream.status === 404) return missingSession(id, upstream, requestId, false);
  // An anonymous browser gets the continuation fields (client_secret, url) only when it creates.
  return answer(shapeResponse(op, browserView(upstream, user !== undefined || op.name === "create"), requestId));
}

/**
 * The browser's answer for a session that is missing or not its own: built from the id alone by the
 * proxy's error renderer (whatever Stripe's 404 looked like: pretty-printed or not, `request_log_url`,
 * its own message), with the Request-Id of the upstream answer it replaces, a Stripe id in both cases.
 * Nothing else of the upstream answer is read.
 */
function missingSession(id: string, upstream: UpstreamResponse, requestId: string, notOwner: boolean): BrowserAnswer {
  const response = errorResponse(missingObjectError("verification_session", id), upstream.headers.get("request-id") ?? requestId);
  return { response, notOwner, missing: true };
}

/** The GET that reads a session before a browser may act on it: same key, account and version. */
function retrieveCall(call: UpstreamCall, id: string): UpstreamCall {
  const { body: _body, idempotencyKey: _idempotencyKey, query: _query, ...same } = call;
  return { ...same, method: "GET", path: upstreamPath(OPERATIONS.retrieve, id), callerIdempotencyKey: false };
}

function browserView(upstream: UpstreamResponse, withContinuation: boolean): UpstreamResponse {
  if (upstream.status < 200 || upstream.status >= 300) return upstream;
  const view = browserSessionView(upstream.json, { withContinuation });
  if (!view) throw new ProxyError("upstream_unavailable", "Stripe returned an unexpected response.");
  return { ...upstream, text: JSON.stringify(view), json: view };
}
