/**
 * The Identity operations the proxy serves: the route table of the product. Paths are relative to the
 * tenant's mount point (after any `path_prefix`), exactly as Stripe spells them.
 */
export const OPERATION_NAMES = [
  "create",
  "retrieve",
  "update",
  "list",
  "cancel",
  "redact",
  "report_retrieve",
  "report_list",
] as const;

export type OperationName = (typeof OPERATION_NAMES)[number];

export interface OperationSpec {
  readonly name: OperationName;
  readonly method: "GET" | "POST";
  /** Stripe's path template; `{id}` is the one path parameter. */
  readonly path: string;
  /** The OpenAPI path key, to find the operation's parameters in the extract. */
  readonly openapiPath: string;
  /** Prefix the id must carry (`vs_`, `vr_`), when the path has one. */
  readonly idPrefix?: "vs_" | "vr_";
  /** Writes change a tenant's sessions: they invalidate its cached lists. */
  readonly writes: boolean;
}

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";

export const OPERATIONS: Readonly<Record<OperationName, OperationSpec>> = {
  create: { name: "create", method: "POST", path: SESSIONS, openapiPath: SESSIONS, writes: true },
  list: { name: "list", method: "GET", path: SESSIONS, openapiPath: SESSIONS, writes: false },
  retrieve: {
    name: "retrieve",
    method: "GET",
    path: `${SESSIONS}/{id}`,
    openapiPath: `${SESSIONS}/{session}`,
    idPrefix: "vs_",
    writes: false,
  },
  update: {
    name: "update",
    method: "POST",
    path: `${SESSIONS}/{id}`,
    openapiPath: `${SESSIONS}/{session}`,
    idPrefix: "vs_",
    writes: true,
  },
  cancel: {
    name: "cancel",
    method: "POST",
    path: `${SESSIONS}/{id}/cancel`,
    openapiPath: `${SESSIONS}/{session}/cancel`,
    idPrefix: "vs_",
    writes: true,
  },
  redact: {
    name: "redact",
    method: "POST",
    path: `${SESSIONS}/{id}/redact`,
    openapiPath: `${SESSIONS}/{session}/redact`,
    idPrefix: "vs_",
    writes: true,
  },
  report_list: { name: "report_list", method: "GET", path: REPORTS, openapiPath: REPORTS, writes: false },
  report_retrieve: {
    name: "report_retrieve",
    method: "GET",
    path: `${REPORTS}/{id}`,
    openapiPath: `${REPORTS}/{report}`,
    idPrefix: "vr_",
    writes: false,
  },
};

/** Operations a role may use when the tenant config does not narrow them (the design's table). */
export const DEFAULT_OPERATIONS = {
  browser: ["create", "retrieve"],
  server: [...OPERATION_NAMES],
} as const satisfies Record<string, readonly OperationName[]>;

/**
 * Stripe object ids are an ASCII prefix and up to a few dozen alphanumerics. Anything else (slashes,
 * dots, percent-escapes, unicode) never reaches an upstream path.
 */
const ID_BODY = /^[A-Za-z0-9]{1,128}$/;

export type OperationMatch =
  | { kind: "operation"; op: OperationSpec; id?: string }
  | { kind: "bad_id"; op: OperationSpec; id: string }
  | { kind: "wrong_method"; allowed: readonly string[] }
  | { kind: "none" };

/**
 * Matches a path (already relative to the tenant's mount point) and method to an operation. The raw,
 * still percent-encoded path segment is what is checked, so `vs_a%2F..` is a bad id, not a new route.
 */
export function matchOperation(method: string, path: string): OperationMatch {
  const segments = path.split("/");
  // ["", "v1", "identity", "verification_sessions", id?, action?]
  if (segments.length < 4 || segments[0] !== "" || segments[1] !== "v1" || segments[2] !== "identity") {
    return { kind: "none" };
  }
  const rest = segments.slice(4);
  const candidates = ROUTES.filter(
    (route) =>
      route.collection === segments[3] &&
      route.template.length === rest.length &&
      route.template.every((t, i) => t === "{id}" || t === rest[i]),
  );
  if (candidates.length === 0) return { kind: "none" };
  const route = candidates.find((c) => c.op.method === method);
  if (!route) return { kind: "wrong_method", allowed: candidates.map((c) => c.op.method) };
  const { op, idIndex } = route;
  if (idIndex === -1) return { kind: "operation", op };
  const id = rest[idIndex] ?? "";
  const prefix = op.idPrefix ?? "";
  if (!id.startsWith(prefix) || !ID_BODY.test(id.slice(prefix.length))) return { kind: "bad_id", op, id };
  return { kind: "operation", op, id };
}

/**
 * The operations' path templates split once per isolate (every request is matched against them):
 * the collection segment, the segments after it, and where the id is among those.
 */
const ROUTES = Object.values(OPERATIONS).map((op) => {
  const segments = op.path.split("/");
  const template = segments.slice(4);
  return { op, collection: segments[3], template, idIndex: template.indexOf("{id}") };
});

/** The upstream path for a matched operation: the template with the validated id put back. */
export function upstreamPath(op: OperationSpec, id: string | undefined): string {
  return id === undefined ? op.path : op.path.replace("{id}", id);
}
