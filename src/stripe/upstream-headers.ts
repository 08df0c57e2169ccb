import { ProxyError } from "../errors.ts";

/** Idempotency keys Stripe accepts: up to 255 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

/**
 * Reads the request headers a caller may influence upstream: Idempotency-Key (POST) and
 * Stripe-Version (only when the tenant does not pin one). `Stripe-Account` is refused: the connected
 * account comes from the tenant config alone.
 */
export function readCallerStripeHeaders(headers: Headers): { idempotencyKey?: string; apiVersion?: string } {
  if (headers.has("stripe-account")) {
    throw new ProxyError(
      "operation_not_allowed",
      "The Stripe-Account header is not accepted: the proxy sets the connected account from the tenant's configuration.",
    );
  }
  const out: { idempotencyKey?: string; apiVersion?: string } = {};
  const idem = headers.get("idempotency-key");
  if (idem !== null) {
    if (!IDEMPOTENCY_KEY.test(idem))
      throw new ProxyError("parameter_invalid", "Invalid Idempotency-Key header: use up to 255 printable ASCII characters.");
    out.idempotencyKey = idem;
  }
  const version = headers.get("stripe-version");
  if (version !== null) {
    if (!API_VERSION.test(version)) throw new ProxyError("parameter_invalid", "Invalid Stripe-Version header.");
    out.apiVersion = version;
  }
  return out;
}
