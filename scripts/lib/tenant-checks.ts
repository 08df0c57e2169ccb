import * as v from "valibot";
import { readTenantsValue } from "../../src/config/load.ts";
import { checkReturnUrl, parseAllowListEntry } from "../../src/policy/return-url.ts";
import {
  type ConfigIssue,
  configIssueMessage,
  PARSE_CONFIG,
  TenantConfigSchema,
  TenantIdSchema,
} from "../../src/config/schema.ts";

/**
 * Every problem with a TENANTS value, for `npm run check:config` and for any writer of tenant configs
 * (the KV registry's operator CLI). Pure. Beyond the schema (which already refuses non-https
 * `return_urls` entries, a `default_return_url` outside them and non-https browser origins), it finds
 * what only the whole value shows: secrets pasted where a binding name belongs, two tenants claiming
 * the same host and path, one proxy key hash given to two tenants, and two tenants on one Stripe
 * account with one credential (`findSharedStripeCredentials`; `stripeKeyFingerprints` lets registry
 * tenants with sealed keys take part).
 *
 * Paths are rendered `acme.verification.return_urls[0]`. An empty list means the config is valid.
 */
export function checkTenants(raw: unknown, options: { stripeKeyFingerprints?: ReadonlyMap<string, string> } = {}): ConfigIssue[] {
  const read = readTenantsValue(raw);
  if (!read.ok) return [read.issue];
  const issues: ConfigIssue[] = [];
  for (const [id, config] of Object.entries(read.value)) {
    if (!v.is(TenantIdSchema, id)) {
      issues.push({
        path: formatPath([id]),
        message: "tenant ids are lowercase letters, digits, - and _ (at most 63, starting with a letter or digit)",
      });
    }
    // `/webhooks/stripe/connect` is the Connect platform endpoint (docs/events.md), not this tenant's.
    if (id === "connect")
      issues.push({ path: formatPath([id]), message: "is reserved (/webhooks/stripe/connect is the Connect platform endpoint)" });
    const result = v.safeParse(TenantConfigSchema, config, PARSE_CONFIG);
    if (!result.success) {
      for (const issue of result.issues) {
        issues.push({
          path: formatPath([id, ...(issue.path ?? []).map((p) => p.key as string | number)]),
          message: configIssueMessage(issue),
        });
      }
    }
    const defaultPath = formatPath([id, "verification", "default_return_url"]);
    const defaultIssue = defaultReturnUrlIssue(config);
    if (defaultIssue && !issues.some((i) => i.path === defaultPath)) issues.push({ path: defaultPath, message: defaultIssue });
  }
  issues.push(
    ...findPastedSecrets(read.value),
    ...findOverlappingHosts(read.value),
    ...findSharedKeyHashes(read.value),
    ...findSharedStripeCredentials(read.value, options.stripeKeyFingerprints),
  );
  return issues;
}

/**
 * The schema checks `default_return_url` against `return_urls` only once every entry is valid; this
 * reports it in the same run, against the entries that are valid.
 */
function defaultReturnUrlIssue(config: unknown): string | undefined {
  const verification =
    typeof config === "object" && config !== null ? (config as { verification?: unknown }).verification : undefined;
  if (typeof verification !== "object" || verification === null) return undefined;
  const { default_return_url: fallback, return_urls: list } = verification as {
    default_return_url?: unknown;
    return_urls?: unknown;
  };
  if (typeof fallback !== "string") return undefined;
  const entries = Array.isArray(list) ? list.filter((e): e is string => typeof e === "string" && parseAllowListEntry(e).ok) : [];
  return checkReturnUrl(fallback, entries).ok
    ? undefined
    : "must match an entry of return_urls (it is checked like a caller's return_url)";
}

/** `["acme","verification","return_urls",0]` → `acme.verification.return_urls[0]`; odd keys are quoted. */
export function formatPath(path: readonly unknown[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z0-9_-]+$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Shapes of credentials that must never be in the config (only the name of the binding that holds one). */
const SECRET_SHAPES: readonly { pattern: RegExp; label: string }[] = [
  { pattern: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}/, label: "a Stripe secret or restricted key (sk_/rk_)" },
  { pattern: /(?<![A-Za-z0-9])(?:sk|rk)_[A-Za-z0-9_]{16,}/, label: "a Stripe secret or restricted key (sk_/rk_)" },
  { pattern: /(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/=]{8,}/, label: "a Stripe webhook secret (whsec_)" },
  { pattern: /(?<![A-Za-z0-9])iek_[A-Za-z0-9_-]{16,}/, label: "a proxy key (iek_); the config holds only its sha256" },
  { pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/, label: "a JWT" },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, label: "a private key" },
];

function findPastedSecrets(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const visit = (node: unknown, path: (string | number)[]) => {
    if (typeof node === "string") {
      const shape = SECRET_SHAPES.find((s) => s.pattern.test(node));
      // Never echo the value: the report itself could end up in a CI log.
      if (shape)
        issues.push({
          path: formatPath(path),
          message: `looks like ${shape.label}: store it as a Worker secret and put the secret's name here`,
        });
      return;
    }
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) visit(item, [...path, i]);
    } else if (typeof node === "object" && node !== null) {
      for (const [key, item] of Object.entries(node)) {
        const shape = SECRET_SHAPES.find((s) => s.pattern.test(key));
        if (shape)
          issues.push({
            path: path.length === 0 ? "TENANTS" : formatPath(path),
            message: `has a key that looks like ${shape.label}`,
          });
        visit(item, [...path, key]);
      }
    }
  };
  visit(value, []);
  return issues;
}

interface Mount {
  tenant: string;
  index: number;
  host: string;
  prefix: string;
}

function mountsOf(tenant: string, config: unknown): Mount[] {
  if (typeof config !== "object" || config === null) return [];
  const { hosts, path_prefix } = config as { hosts?: unknown; path_prefix?: unknown };
  if (!Array.isArray(hosts)) return [];
  const prefix = typeof path_prefix === "string" ? path_prefix.replace(/\/+$/, "") : "";
  return hosts.flatMap((host, index) =>
    // Browsers omit the default port, so `app.test:443` and `app.test` are the same Host.
    typeof host === "string" ? [{ tenant, index, host: host.toLowerCase().replace(/:443$/, ""), prefix }] : [],
  );
}

/** One prefix contains the other on a segment boundary (no prefix contains every path). */
function prefixesOverlap(a: string, b: string): boolean {
  return a === b || a === "" || b === "" || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

function findOverlappingHosts(tenants: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen: Mount[] = [];
  for (const [id, config] of Object.entries(tenants)) {
    const mine = mountsOf(id, config);
    for (const mount of mine) {
      const other = seen.find((m) => m.host === mount.host && prefixesOverlap(m.prefix, mount.prefix));
      if (other) {
        issues.push({
          path: formatPath([id, "hosts", mount.index]),
          message: `overlaps tenant ${other.tenant} on ${mount.host} (path prefixes ${other.prefix || "(none)"} and ${mount.prefix || "(none)"}): requests could reach either tenant`,
        });
      }
    }
    seen.push(...mine);
  }
  return issues;
}

function findSharedKeyHashes(tenants: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const owners = new Map<string, string>();
  for (const [id, config] of Object.entries(tenants)) {
    const keys = typeof config === "object" && config !== null ? (config as { server_keys?: unknown }).server_keys : undefined;
    if (!Array.isArray(keys)) continue;
    keys.forEach((key: unknown, i) => {
      const hash = typeof key === "object" && key !== null ? (key as { sha256?: unknown }).sha256 : undefined;
      if (typeof hash !== "string") return;
      const owner = owners.get(hash.toLowerCase());
      if (owner !== undefined) {
        issues.push({
          path: formatPath([id, "server_keys", i, "sha256"]),
          message: `is also the hash of a key of ${owner === id ? "this tenant" : `tenant ${owner}`}: one proxy key identifies one tenant and key`,
        });
      } else owners.set(hash.toLowerCase(), id);
    });
  }
  return issues;
}

/** How a tenant reaches Stripe: which credential, as which account ("" for the key's own account). */
export interface StripeReach {
  /** `binding NAME`, or `fingerprint HEX` for a key sealed in the tenant registry. */
  credential: string;
  account: string;
  /** The config field that names the credential, for issue paths. */
  field: "secret_key" | "secret_key_ref";
}

/**
 * The credential and account a (raw) tenant config reaches Stripe with; undefined when it names none,
 * or keeps its key in the registry and `fingerprint` (of that sealed key) is not known.
 */
export function stripeReachOf(config: unknown, fingerprint: string | undefined): StripeReach | undefined {
  const stripe = typeof config === "object" && config !== null ? (config as { stripe?: unknown }).stripe : undefined;
  if (typeof stripe !== "object" || stripe === null) return undefined;
  const { secret_key, secret_key_ref, account } = stripe as Record<string, unknown>;
  const acct = typeof account === "string" ? account : "";
  if (typeof secret_key === "string") return { credential: `binding ${secret_key}`, account: acct, field: "secret_key" };
  if (secret_key_ref === "kv" && fingerprint !== undefined)
    return { credential: `fingerprint ${fingerprint}`, account: acct, field: "secret_key_ref" };
  return undefined;
}

/**
 * Two tenants that reach the same Stripe account with the same credentials: the same `secret_key`
 * binding, or registry-sealed keys with the same fingerprint (`stripeKeyFingerprints`: tenant id →
 * fingerprint), and the same `stripe.account` or both none. Each could read and change the other's
 * sessions, since the proxy separates end users within a tenant and Stripe separates accounts, but
 * nothing separates two tenants on one account. A Connect platform key shared by tenants that each
 * have their own `account` is fine. Pure; the issue is reported on the later tenant of each pair.
 */
export function findSharedStripeCredentials(
  tenants: Record<string, unknown>,
  stripeKeyFingerprints: ReadonlyMap<string, string> = new Map(),
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const owners = new Map<string, string>();
  for (const [id, config] of Object.entries(tenants)) {
    const reach = stripeReachOf(config, stripeKeyFingerprints.get(id));
    if (!reach) continue;
    const slot = `${reach.credential}\n${reach.account}`;
    const owner = owners.get(slot);
    if (owner === undefined) {
      owners.set(slot, id);
      continue;
    }
    const how =
      reach.field === "secret_key" ? `the same key binding (${reach.credential.slice(8)})` : "the same sealed Stripe key";
    issues.push({
      path: formatPath([id, "stripe", reach.field]),
      message: `reaches Stripe like tenant ${owner}: ${how} and ${reach.account === "" ? "no stripe.account" : `the same stripe.account (${reach.account})`}, so each could read the other's sessions; give each tenant its own key, or its own stripe.account on a Connect platform key`,
    });
  }
  return issues;
}
