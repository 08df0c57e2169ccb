/**
 * What the value scrubber masks: one entry per kind of secret or personal datum, with the markers
 * that must occur for the pattern to match (they build a one-pass pre-check, so a string without any
 * marker costs a single scan).
 *
 * Linear by construction. The patterns run on JavaScript's backtracking engine, so each one obeys one
 * of two rules, which keeps a scan of n characters O(n) whatever the input (no catastrophic
 * backtracking, no quadratic rescans):
 *  1. It starts with a literal, and a match attempt either fails within a bounded number of steps
 *     (inside the literal or a bounded quantifier) or succeeds and consumes everything it scanned.
 *     An unbounded run may only end the pattern, where nothing after it can fail.
 *  2. Where an unbounded run is followed by something that can fail (the `@` of an email), the
 *     pattern starts only at a boundary: a negative lookbehind over the run's own character class,
 *     so a run is entered once from its start and never rescanned from each of its characters.
 * Quantified groups never overlap their separators (`(?:\.[a-z]+)*`), and every other quantifier
 * between a literal and a failure point is bounded (`\s{0,16}`, `{0,64}`).
 *
 * Where a pattern has a named group `v`, only that group is masked (the `Bearer ` scheme or the
 * `Cookie:` name stays readable); otherwise the whole match is.
 */
export type SecretKind =
  | "stripe_key"
  | "webhook_secret"
  | "client_secret"
  | "proxy_key"
  | "jwt"
  | "bearer"
  | "credential"
  | "session_url"
  | "email"
  | "phone"
  | "personal_data";

export interface SecretPattern {
  readonly kind: SecretKind;
  /**
   * Global (`g`) with match indices (`d`). Credential prefixes are case-sensitive, as the credentials
   * are (`SK_LIVE_…` is no key, and binding names such as `STRIPE_WHSEC_ACME` must stay readable);
   * HTTP words (`Bearer`, `Authorization`) and hosts are not.
   */
  readonly re: RegExp;
  /**
   * One of these occurs (case-insensitively) in every match: literals, or a short fixed-length regex
   * where a single-character literal would let random bytes (decoded base64) through too often.
   */
  readonly markers: readonly (string | RegExp)[];
  /**
   * Resume scanning just after the first occurrence of this character in a match rather than after
   * the match, so that a match that ends inside the next secret does not hide it (`a@b.cc@d.ee`:
   * the domain of one address is the local part of the next). Each resume point is a distinct
   * occurrence of the character, so the rescanning stays linear.
   */
  readonly resumeAfter?: string;
}

/** `"`, `'`, or their JSON-escaped forms, around a key in `key: value` / `key=value` text. */
const QUOTE = `(?:\\\\?["'])?`;
const ASSIGN = `${QUOTE}\\s{0,16}[:=]\\s{0,16}${QUOTE}`;

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    // Stripe secret, restricted and publishable keys, live or test, any length; also Stripe's own
    // masked echo (`sk_test_****abcd`). Underscores are included so no tail of a key survives.
    kind: "stripe_key",
    re: /[rsp]k_(?:live|test)_[A-Za-z0-9_*]+/dg,
    markers: ["k_live_", "k_test_"],
  },
  {
    // A key of a mode this table does not know yet: `sk_`/`rk_` and a long random tail.
    kind: "stripe_key",
    re: /(?<![A-Za-z0-9])[rs]k_[A-Za-z0-9_]{16,}/dg,
    markers: ["k_"],
  },
  { kind: "webhook_secret", re: /whsec_[A-Za-z0-9+/=_-]+/dg, markers: ["whsec_"] },
  {
    // `vs_…_secret_…` (and pi_/seti_ alike) as a whole, from its boundary…
    kind: "client_secret",
    re: /(?<![A-Za-z0-9_])[a-z]{2,5}_[A-Za-z0-9]+_secret_[A-Za-z0-9_]+/dg,
    markers: ["_secret_"],
  },
  {
    // …and its secret part even when glued to other text, when that part looks random (an upper-case
    // letter or a digit before any `_`), so names like `tenant_secret_missing` or `STRIPE_SECRET_KEY`
    // stay readable.
    kind: "client_secret",
    re: /_secret_(?:(?:test|live)_)?(?=[a-z]*[A-Z0-9])[A-Za-z0-9_]+/dg,
    markers: ["_secret_"],
  },
  { kind: "proxy_key", re: /iek_[A-Za-z0-9_-]+/dg, markers: ["iek_"] },
  {
    // JWTs (JWS/JWE): a base64url JSON header (`{"` encodes to `eyJ`) and any dotted segments after it.
    // The shortest real header (`{"alg":"none"}`) has 16 characters after `eyJ`; asking for as many
    // leaves identifiers like `surveyJsLibrary` alone.
    kind: "jwt",
    re: /eyJ[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]*)*/dg,
    markers: ["eyj"],
  },
  { kind: "bearer", re: /bearer\s{1,16}(?<v>[^\s"',;\\]+)/dgi, markers: ["bearer"] },
  {
    // Header values: `Authorization: …`, `Cookie=…`, `"stripe-signature":"…"`, to the end of the line.
    kind: "credential",
    re: new RegExp(`(?:authorization|cookie|stripe-signature)${ASSIGN}(?<v>[^\\r\\n"\\\\]+)`, "dgi"),
    markers: ["authorization", "cookie", "stripe-signature"],
  },
  {
    // Named secrets in `key=value` / JSON text: `client_secret=…`, `"token":"…"`, `password: …`.
    kind: "credential",
    re: new RegExp(`(?:secret|password|passwd|token|api_?key)${ASSIGN}(?<v>[^\\s"'\\\\&,;]+)`, "dgi"),
    markers: ["secret", "passw", "token", "apikey", "api_key"],
  },
  {
    // Stripe's hosted verification URL (`https://verify.stripe.com/start/…`): the path is the token.
    kind: "session_url",
    re: /verify\.stripe\.com\/(?<v>[^\s"'<>\\]+)/dgi,
    markers: ["verify.stripe.com/"],
  },
  {
    // The local stub's hosted page (`http://127.0.0.1:12111/verify/vs_…?cs=…`).
    kind: "session_url",
    re: /\/verify\/(?<v>[^\s"'<>\\]+)/dgi,
    markers: ["/verify/"],
  },
  {
    // Email addresses (rule 2: the local part starts at a boundary). The last label is alphabetic,
    // so `package@1.2.3` in a stack trace is not an address.
    kind: "email",
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/dg,
    markers: [/[A-Za-z0-9._%+-]@[A-Za-z0-9-]/],
    resumeAfter: "@",
  },
  {
    // International phone numbers (`+1 (555) 555-0100`); ISO offsets like `+00:00` are too short.
    kind: "phone",
    re: /\+\d(?:[ ().-]{0,2}\d){6,14}/dg,
    markers: [/\+\d/],
  },
  {
    // Personal data by name, in JSON, form or `key: value` text (an exception message that quotes a
    // request body): everything after the key, to the end of the line.
    kind: "personal_data",
    re: new RegExp(
      `(?<![A-Za-z])(?:dob|id_number|verified_outputs|provided_details|metadata|first_name|last_name|phone|email)(?:\\[[^\\]\\r\\n]{0,64}\\]){0,8}${ASSIGN}(?<v>[^\\r\\n]+)`,
      "dgi",
    ),
    markers: [
      "dob",
      "id_number",
      "verified_outputs",
      "provided_details",
      "metadata",
      "first_name",
      "last_name",
      "phone",
      "email",
    ],
  },
];

const MARKER_SOURCES = [
  ...new Set(
    SECRET_PATTERNS.flatMap((p) =>
      p.markers.map((m) => (typeof m === "string" ? m.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") : m.source)),
    ),
  ),
];

/** One linear pass: false means no pattern above can match `text`, so the full scan is skipped. */
const PRECHECK = new RegExp(MARKER_SOURCES.join("|"), "i");

export function mayContainSecret(text: string): boolean {
  return PRECHECK.test(text);
}
