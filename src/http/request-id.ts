/** How the proxy's own request ids begin (Stripe's are `req_` and 14 alphanumerics, no underscore after). */
import { bytesToHex } from "../encoding.ts";
export const PROXY_REQUEST_ID_PREFIX = "req_edge_";

/** The proxy's own request id, used when Stripe did not answer (its `req_...` id wins when it did). */
export function newRequestId(): string {
  return PROXY_REQUEST_ID_PREFIX + bytesToHex(crypto.getRandomValues(new Uint8Array(12)));
}
