/**
 * The stub's routing table for Stripe's Identity API, written from Stripe's API reference (not shared
 * with the proxy's operation table). `openapiPath` names the operation in the vendored OpenAPI extract.
 */
export type OperationName = "create" | "retrieve" | "update" | "list" | "cancel" | "redact" | "report_retrieve" | "report_list";

interface Route {
  name: OperationName;
  method: "GET" | "POST";
  pattern: RegExp;
  openapiPath: string;
  /** What a missing object is called in Stripe's 404 ("No such verification_session: 'x'"). */
  object?: "verification_session" | "verification_report";
}

const S = "/v1/identity/verification_sessions";
const R = "/v1/identity/verification_reports";
const ID = "([^/]*)";

const ROUTES: readonly Route[] = [
  { name: "create", method: "POST", pattern: new RegExp(`^${S}$`), openapiPath: S },
  { name: "list", method: "GET", pattern: new RegExp(`^${S}$`), openapiPath: S },
  {
    name: "retrieve",
    method: "GET",
    pattern: new RegExp(`^${S}/${ID}$`),
    openapiPath: `${S}/{session}`,
    object: "verification_session",
  },
  {
    name: "update",
    method: "POST",
    pattern: new RegExp(`^${S}/${ID}$`),
    openapiPath: `${S}/{session}`,
    object: "verification_session",
  },
  {
    name: "cancel",
    method: "POST",
    pattern: new RegExp(`^${S}/${ID}/cancel$`),
    openapiPath: `${S}/{session}/cancel`,
    object: "verification_session",
  },
  {
    name: "redact",
    method: "POST",
    pattern: new RegExp(`^${S}/${ID}/redact$`),
    openapiPath: `${S}/{session}/redact`,
    object: "verification_session",
  },
  { name: "report_list", method: "GET", pattern: new RegExp(`^${R}$`), openapiPath: R },
  {
    name: "report_retrieve",
    method: "GET",
    pattern: new RegExp(`^${R}/${ID}$`),
    openapiPath: `${R}/{report}`,
    object: "verification_report",
  },
];

export type RouteMatch =
  | { kind: "operation"; name: OperationName; openapiPath: string; id?: string }
  /** An id that cannot name an object of this kind: Stripe answers 404 resource_missing. */
  | { kind: "missing"; object: "verification_session" | "verification_report"; id: string }
  | { kind: "none" };

/** Stripe ids: the object's prefix and alphanumerics. Anything else is an object that does not exist. */
const ID_SHAPE = { verification_session: /^vs_[A-Za-z0-9]+$/, verification_report: /^vr_[A-Za-z0-9]+$/ } as const;

export function matchRoute(method: string, path: string): RouteMatch {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const raw = m[1];
    if (raw === undefined || !route.object) return { kind: "operation", name: route.name, openapiPath: route.openapiPath };
    // An empty id is an unrecognized URL on Stripe (`/verification_sessions/`), not a missing object.
    if (raw === "") return { kind: "none" };
    let id: string;
    try {
      id = decodeURIComponent(raw);
    } catch {
      id = raw;
    }
    if (!ID_SHAPE[route.object].test(id)) return { kind: "missing", object: route.object, id };
    return { kind: "operation", name: route.name, openapiPath: route.openapiPath, id };
  }
  return { kind: "none" };
}

/** The upstream-style path of an operation (for idempotency: a key reused on another endpoint). */
export function operationKey(method: string, openapiPath: string): string {
  return `${method} ${openapiPath}`;
}
