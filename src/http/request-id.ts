/** How the proxy's own request ids begin (Stripe's are `req_` and 14 alphanumerics, no underscore after). */
import { bytesToHex } from "../encoding.ts";
export const PROXY_REQUEST_ID_PREFIX = "req_edge_";

/** The shape `newRequestId` makes: the prefix and 24 lowercase hex digits. */
const PROXY_REQUEST_ID = /^req_edge_[0-9a-f]{24}$/;

/** Whether `value` has exactly the shape of the proxy's own request ids (so it carries nothing but randomness). */
export function isProxyRequestId(value: string): boolean {
  return PROXY_REQUEST_ID.test(value);
}

/** The proxy's own request id, used when Stripe did not answer (its `req_...` id wins when it did). */
export function newRequestId(): string {
  return PROXY_REQUEST_ID_PREFIX + bytesToHex(crypto.getRandomValues(new Uint8Array(12)));
}
