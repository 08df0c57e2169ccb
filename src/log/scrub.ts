/**
 * The value scrubber: every string that reaches a log line passes through here. It masks anything that
 * looks like a credential or personal data even when it is embedded in other text.
 */
const PATTERNS: readonly RegExp[] = [
  // Stripe secret/restricted/publishable keys and webhook secrets, live or test, any length.
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+/g,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  // Client secrets: vs_..._secret_...
  /\b[a-z]{2,5}_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+/g,
  // Proxy keys.
  /\biek_[A-Za-z0-9_-]+/g,
  // JWTs (three base64url segments, the first two starting with `eyJ`).
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
  // Bearer credentials of any form.
  /\bBearer\s+[^\s"',;]+/gi,
  // Email addresses.
  /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
];

/** Masks secrets and personal data in a string. */
export function scrubString(value: string): string {
  let out = value;
  for (const re of PATTERNS) out = out.replace(re, "[redacted]");
  return out;
}
