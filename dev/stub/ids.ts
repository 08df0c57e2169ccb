const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Random alphanumerics from WebCrypto. Rejection sampling keeps every character equally likely; the
 * stub does not need it for security, but ids that look like Stripe's keep the proxy's id checks honest.
 */
export function randomAlnum(length: number): string {
  let out = "";
  while (out.length < length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
    for (const b of bytes) {
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

/** Stripe object ids: a prefix and 24 alphanumerics (`vs_…`, `vr_…`, `evt_…`, `file_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomAlnum(24)}`;
}

/** Stripe request ids are `req_` and 14 alphanumerics. */
export function newRequestId(): string {
  return `req_${randomAlnum(14)}`;
}
