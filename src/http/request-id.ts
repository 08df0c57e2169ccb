/** How the proxy's own request ids begin (Stripe's are `req_` and 14 alphanumerics, no underscore after). */
export const PROXY_REQUEST_ID_PREFIX = "req_edge_";

/** The proxy's own request id, used when Stripe did not answer (its `req_...` id wins when it did). */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let out = PROXY_REQUEST_ID_PREFIX;
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
