/** The proxy's own request id, used when Stripe did not answer (its `req_...` id wins when it did). */
export function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let out = "req_edge_";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
