import * as v from "valibot";
import { LOCAL_HTTP_HOSTS } from "../policy/return-url.ts";
import { VerificationSchema } from "../policy/verification-policy.ts";
import { ANY_VERSION, STRIPE_VERSION } from "../stripe/api-version.ts";
import { OPERATION_NAMES } from "../stripe/operations.ts";
import { deliveryUrlProblem, IDENTITY_EVENT_TYPES } from "../events/delivery-rules.ts";

/**
 * The tenant config contract (v1): one schema, used by the Worker at run time, by `npm run
 * check:config` and to generate `docs/tenant-config.schema.json`. Objects are strict: a misspelt field
 * (`require_live_captur`) must fail loudly rather than silently weaken a policy. Secrets never appear
 * here, only the names of the Worker bindings that hold them.
 */

/** A Worker binding name (secret or var), e.g. `STRIPE_KEY_ACME`. */
const BindingName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be the name of a Worker secret or variable (letters, digits, _)"),
);

/** `host` or `host:port`, lowercase, no scheme, no path, no wildcard (the run time's Host check reuses it). */
export const HOST_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** `host` or `host:port`, lowercase, no scheme, no path, no wildcard: hosts match exactly. */
const Host = v.pipe(v.string(), v.regex(HOST_PATTERN, "must be a lowercase host name, optionally with :port"));

const PathPrefix = v.pipe(
  v.string(),
  v.regex(/^(\/[A-Za-z0-9._~-]+)+$/, "must start with / and not end with / (e.g. /identity)"),
  v.check((p) => !p.split("/").some((s) => s === "." || s === ".."), "must not contain dot segments"),
);

const Operation = v.picklist(OPERATION_NAMES);

/** `"kv"`: the secret is sealed in the tenant registry under the Worker's TENANT_KEK (docs/tenants.md). */
const RegistryRef = v.picklist(["kv"], 'must be "kv" (the secret sealed in the tenant registry)');

/**
 * Where the tenant's secrets come from. The Stripe key: exactly one of `secret_key` (the name of the
 * Worker secret holding it) or `secret_key_ref: "kv"` (the tenant's own key, sealed in the tenant
 * registry). Tenants may share a key only as a Connect platform key, each with a different `account`:
 * two tenants on one key and one account (or both without one) could read each other's sessions, so
 * `check:config` and the registry CLI refuse them (scripts/lib/tenant-checks.ts), the Worker too at run
 * time (tenancy/stripe-credentials.ts). The
 * webhook signing secret: at most one of `webhook_secret` (a binding name) or `webhook_secret_ref: "kv"`.
 * Bindings suit a handful of tenants (Workers allow 128 in all); the registry suits any number.
 */
const StripeSettings = v.pipe(
  v.strictObject({
    secret_key: v.optional(BindingName),
    secret_key_ref: v.optional(RegistryRef),
    account: v.optional(v.pipe(v.string(), v.regex(/^acct_[A-Za-z0-9]+$/, "must be a connected account id (acct_...)"))),
    api_version: v.optional(
      v.pipe(v.string(), v.regex(STRIPE_VERSION, "must be a Stripe API version such as 2026-07-29.dahlia")),
    ),
    /** The Stripe-Version values callers may send (`"*"`: any); default: only `api_version` (docs/stripe-compatibility.md). */
    api_versions: v.optional(
      v.array(
        v.union(
          [v.literal(ANY_VERSION), v.pipe(v.string(), v.regex(STRIPE_VERSION))],
          'must be "*" or a Stripe API version such as 2026-10-28.endive (beta flags allowed: "2026-10-28.endive; identity_beta=v1")',
        ),
      ),
    ),
    webhook_secret: v.optional(BindingName),
    webhook_secret_ref: v.optional(RegistryRef),
  }),
  v.forward(
    v.partialCheck(
      [["secret_key"], ["secret_key_ref"]],
      (input) => (input.secret_key === undefined) !== (input.secret_key_ref === undefined),
      'set exactly one of secret_key (the name of the Worker secret holding the key) and secret_key_ref ("kv")',
    ),
    ["secret_key"],
  ),
  v.forward(
    v.partialCheck(
      [["webhook_secret"], ["webhook_secret_ref"]],
      (input) => input.webhook_secret === undefined || input.webhook_secret_ref === undefined,
      'set at most one of webhook_secret (the name of the Worker secret holding it) and webhook_secret_ref ("kv")',
    ),
    ["webhook_secret"],
  ),
);

const JwtAuthBase = {
  type: v.literal("jwt"),
  issuer: v.pipe(v.string(), v.minLength(1)),
  audience: v.pipe(v.string(), v.minLength(1)),
  subject_claim: v.optional(v.pipe(v.string(), v.minLength(1)), "sub"),
  /** Optional cookie to read the token from when there is no Authorization header. */
  cookie: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/))),
  /**
   * Optional maximum token age in seconds: tokens then need `iat`, and one issued longer ago is
   * refused whatever its `exp` (for identity providers that issue long-lived tokens).
   */
  max_token_age_seconds: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(60, "must be at least 60"), v.maxValue(2_592_000, "must be at most 30 days")),
  ),
};

const BrowserAuth = v.union([
  v.strictObject({ ...JwtAuthBase, hs256_secret: BindingName }),
  v.strictObject({ ...JwtAuthBase, hs256_secret_ref: RegistryRef }),
  v.strictObject({ ...JwtAuthBase, jwks_url: v.pipe(v.string(), v.url(), v.startsWith("https://", "must be an https URL")) }),
  v.strictObject({ type: v.literal("none") }),
]);

const Origin = v.pipe(
  v.string(),
  v.regex(/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/, "must be an origin: scheme://host[:port], no path or trailing slash"),
  v.check(
    (origin) => origin.startsWith("https://") || LOCAL_HTTP_HOSTS.includes(origin.replace(/^http:\/\//, "").replace(/:\d+$/, "")),
    "must be https (http only for localhost/127.0.0.1)",
  ),
);

const Browser = v.strictObject({
  origins: v.optional(v.array(Origin), []),
  auth: BrowserAuth,
  operations: v.optional(v.array(Operation), ["create", "retrieve"]),
});

const ServerKey = v.strictObject({
  name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a short label")),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be the lowercase hex SHA-256 of the key")),
  operations: v.optional(v.array(Operation)),
});

/** KV's minimum expiration TTL is 60 s; a shorter list TTL could not be honoured. */
export const MIN_LIST_TTL_SECONDS = 60;

const Cache = v.strictObject({
  list_ttl_seconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_LIST_TTL_SECONDS), v.maxValue(86_400)), 60),
});

/**
 * Verified Identity events relayed to the tenant's backend (docs/events.md): `url` receives signed
 * POSTs; `signing_secret` names the binding holding the `whsec_<base64>` secret, or is `"kv"` for
 * the secret sealed in the tenant registry (so a binding cannot be called `kv`); `types` narrows the
 * events (default: every `identity.verification_session.*`).
 */
const Events = v.strictObject({
  url: v.pipe(
    v.string(),
    v.maxLength(2048, "must be at most 2048 characters"),
    v.url("must be an absolute URL"),
    v.regex(/^https?:\/\//, "must be https (http only for localhost/127.0.0.1)"),
    v.check(
      (url) => deliveryUrlProblem(url) === undefined,
      (issue) => (typeof issue.input === "string" ? deliveryUrlProblem(issue.input) : undefined) ?? "must be an https URL",
    ),
  ),
  signing_secret: BindingName,
  types: v.optional(v.pipe(v.array(v.picklist(IDENTITY_EVENT_TYPES)), v.minLength(1, "must list at least one event type"))),
});

export const TenantIdSchema = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "tenant ids are lowercase letters, digits, - and _"),
);

export const TenantConfigSchema = v.strictObject({
  hosts: v.optional(v.array(Host), []),
  path_prefix: v.optional(PathPrefix),
  stripe: StripeSettings,
  verification: VerificationSchema,
  browser: v.optional(Browser),
  server_keys: v.optional(v.array(ServerKey), []),
  cache: v.optional(Cache, { list_ttl_seconds: 60 }),
  events: v.optional(Events),
});

export type TenantConfig = v.InferOutput<typeof TenantConfigSchema>;
export type TenantConfigInput = v.InferInput<typeof TenantConfigSchema>;
export type BrowserAuthConfig = v.InferOutput<typeof BrowserAuth>;

export const TenantsSchema = v.record(TenantIdSchema, TenantConfigSchema);

/** Parse options shared by every consumer of the schema (run time, check:config). */
export const PARSE_CONFIG = { abortPipeEarly: true } as const;

export interface ConfigIssue {
  /** Dotted path from the top of TENANTS, e.g. `acme.verification.return_urls.0`. */
  path: string;
  message: string;
}

/** The operator-facing message for a schema issue (valibot's own wording for a misspelt field is cryptic). */
export function configIssueMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "is not a field of the tenant config (misspelt?)";
  return issue.message;
}

/** Validates one tenant's config; issues carry paths relative to the tenant. */
export function parseTenantConfig(raw: unknown): { ok: true; config: TenantConfig } | { ok: false; issues: ConfigIssue[] } {
  // One issue per field: a value that is not a URL at all need not also be told it is not https.
  const result = v.safeParse(TenantConfigSchema, raw, PARSE_CONFIG);
  if (result.success) return { ok: true, config: result.output };
  return {
    ok: false,
    issues: result.issues.map((issue) => ({
      path: (issue.path ?? []).map((p) => String(p.key)).join("."),
      message: configIssueMessage(issue),
    })),
  };
}
