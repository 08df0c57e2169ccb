import { ProxyError } from "../errors.ts";

/** Idempotency keys Stripe accepts: up to 255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Reads the request headers a caller may influence upstream: Idempotency-Key (POST) here, and
 * Stripe-Version by the tenant's rule (`resolveApiVersion`). `Stripe-Account` is refused: the connected
 * account comes from the tenant config alone.
 */
export function readCallerStripeHeaders(headers: Headers): { idempotencyKey?: string } {
  if (headers.has("stripe-account")) {
    throw new ProxyError(
      "operation_not_allowed",
      "The Stripe-Account header is not accepted: the proxy sets the connected account from the tenant's configuration.",
    );
  }
  const out: { idempotencyKey?: string } = {};
  const idem = headers.get("idempotency-key");
  if (idem !== null) {
    if (!IDEMPOTENCY_KEY.test(idem))
      throw new ProxyError("parameter_invalid", "Invalid Idempotency-Key header: use up to 255 printable ASCII characters.");
    out.idempotencyKey = idem;
  }
  return out;
}
