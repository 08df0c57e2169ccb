import { BENCH_BROWSER_TOKEN } from "./browser-token.ts";
import type { LoadRequest } from "./load/driver.ts";
import type { CountedMarker, TargetName } from "./runtime.ts";
import { BENCH_APP_ORIGIN, BENCH_HOST, BENCH_PROXY_KEY, CREATE_BODY } from "./tenant.ts";
import { DELAY_HEADER, LIST_DELAY_MS } from "./upstream.ts";

/**
 * The rows of the bench: one target Worker, one request shape, and the row it is compared with
 * (`reference`: the bare passthrough doing the same upstream call, on the same runtime). All share
 * the one upstream. `profile:` rows turn one knob of identity-edge's config, to name a cost.
 */
export interface Scenario {
  id: ScenarioId;
  target: TargetName;
  label: string;
  /** Upstream latency this row's requests meet (ms). */
  upstreamMs: number;
  /** The passthrough row its throughput and latency are compared with (itself for passthrough rows). */
  reference: ScenarioId;
  /** The cache result every access-log line of this row must carry, when it is a list through the cache. */
  expectCache?: CountedMarker;
  /** A fresh request per run (cache misses need a query never seen before). */
  request: () => LoadRequest;
  /**
   * Checks the body of the probe answer (a 200) is what the row is about; returns what is wrong. A
   * row that took a cheaper path than it claims (an error, another caller's view) must not be timed.
   */
  checkAnswer?: (body: string) => string | undefined;
}

export type ScenarioId =
  | "pt_retrieve"
  | "pt_create"
  | "pt_list0"
  | "pt_list"
  | "hono_retrieve"
  | "hono_create"
  | "hono_list"
  | "edge_retrieve"
  | "edge_browser_retrieve"
  | "edge_create"
  | "edge_list_miss"
  | "edge_list_bypass"
  | "edge_list_hit"
  | "edge_retrieve_log_error"
  | "edge_retrieve_mf_ratelimit"
  | "raw_pt_retrieve"
  | "raw_pt_create"
  | "raw_hono_retrieve"
  | "raw_hono_log_retrieve"
  | "raw_edge_retrieve"
  | "raw_edge_browser_retrieve"
  | "raw_edge_create"
  | "raw_pt_list0"
  | "raw_pt_list"
  | "raw_edge_list_miss"
  | "raw_edge_list_hit";

const SESSIONS = "/v1/identity/verification_sessions";
const SESSION_ID = "vs_1Bench0000000000000001";
const SERVER_AUTH = { authorization: `Bearer ${BENCH_PROXY_KEY}` };
const FORM = { "content-type": "application/x-www-form-urlencoded" };
/** The list a dashboard would poll: one page of sessions waiting for input. */
const LIST_QUERY = "?limit=10&status=requires_input";

const retrieve = (): LoadRequest => ({ method: "GET", path: `${SESSIONS}/${SESSION_ID}`, headers: { ...SERVER_AUTH } });
const create = (): LoadRequest => ({ method: "POST", path: SESSIONS, headers: { ...SERVER_AUTH, ...FORM }, body: CREATE_BODY });
/**
 * A retrieve as the tenant's frontend makes it from the user's browser: sent to the tenant's host
 * (`Host`, as the Worker sees it behind Cloudflare), from the allowed frontend origin on the same site
 * (`Origin`, `Sec-Fetch-*`), with the signed-in user's token in `Authorization`. identity-edge
 * verifies the token (HS256, issuer, audience, expiry), checks the origin, retrieves the session and
 * answers it only if its `client_reference_id` is the token's subject, as the browser's view.
 */
const browserRetrieve = (): LoadRequest => ({
  method: "GET",
  path: `${SESSIONS}/${SESSION_ID}`,
  headers: {
    host: BENCH_HOST,
    origin: BENCH_APP_ORIGIN,
    "sec-fetch-site": "same-site",
    "sec-fetch-mode": "cors",
    authorization: `Bearer ${BENCH_BROWSER_TOKEN}`,
  },
});

/**
 * The browser's view of its own session: the session, with the continuation fields only its owner
 * gets, and without the fields only the tenant's server sees.
 */
export function checkBrowserView(body: string): string | undefined {
  let session: Record<string, unknown>;
  try {
    session = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return "the answer is not JSON";
  }
  if (session.id !== SESSION_ID || session.object !== "identity.verification_session") return "the answer is not the session";
  if (typeof session.client_secret !== "string") return "the answer lacks client_secret (not the owner's view)";
  if ("metadata" in session || "client_reference_id" in session) return "the answer is the server's view, not the browser's";
  return undefined;
}

const list = (extra: Record<string, string> = {}): LoadRequest => ({
  method: "GET",
  path: `${SESSIONS}${LIST_QUERY}`,
  headers: { ...SERVER_AUTH, ...extra },
});

/** Distinct queries: every request a list no one asked for before (a different client_reference_id), i.e. a true miss. */
let missCounter = 0;
const missRun = `${process.pid.toString(36)}${Date.now().toString(36)}`;
function missRequest(): LoadRequest {
  const base = list();
  return { ...base, nextPath: () => `${SESSIONS}${LIST_QUERY}&client_reference_id=miss_${missRun}_${missCounter++}` };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "pt_retrieve",
    target: "passthrough",
    label: "passthrough · retrieve",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: retrieve,
  },
  {
    id: "pt_create",
    target: "passthrough",
    label: "passthrough · create",
    upstreamMs: 0,
    reference: "pt_create",
    request: create,
  },
  {
    id: "pt_list0",
    target: "passthrough",
    label: "passthrough · list (0 ms upstream)",
    upstreamMs: 0,
    reference: "pt_list0",
    request: () => list({ [DELAY_HEADER]: "0" }),
  },
  {
    id: "pt_list",
    target: "passthrough",
    label: `passthrough · list`,
    upstreamMs: LIST_DELAY_MS,
    reference: "pt_list",
    request: () => list(),
  },
  {
    id: "hono_retrieve",
    target: "hono",
    label: "Hono proxy · retrieve",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: retrieve,
  },
  { id: "hono_create", target: "hono", label: "Hono proxy · create", upstreamMs: 0, reference: "pt_create", request: create },
  {
    id: "hono_list",
    target: "hono",
    label: "Hono proxy · list",
    upstreamMs: LIST_DELAY_MS,
    reference: "pt_list",
    request: () => list(),
  },
  {
    id: "edge_retrieve",
    target: "edge",
    label: "identity-edge · retrieve",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: retrieve,
  },
  {
    id: "edge_browser_retrieve",
    target: "edge",
    label: "identity-edge · browser retrieve (JWT + ownership)",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: browserRetrieve,
    checkAnswer: checkBrowserView,
  },
  {
    id: "edge_create",
    target: "edge",
    label: "identity-edge · create (policy, form)",
    upstreamMs: 0,
    reference: "pt_create",
    request: create,
  },
  {
    id: "edge_list_miss",
    target: "edge",
    label: "identity-edge · list MISS (new query each)",
    upstreamMs: LIST_DELAY_MS,
    reference: "pt_list",
    expectCache: "MISS",
    request: missRequest,
  },
  {
    id: "edge_list_bypass",
    target: "edge",
    label: "identity-edge · list BYPASS (no-cache)",
    upstreamMs: LIST_DELAY_MS,
    reference: "pt_list",
    expectCache: "BYPASS",
    request: () => list({ "cache-control": "no-cache" }),
  },
  {
    id: "edge_list_hit",
    target: "edge",
    label: "identity-edge · list HIT",
    upstreamMs: LIST_DELAY_MS,
    reference: "pt_list0",
    expectCache: "HIT",
    request: () => list(),
  },
  {
    id: "edge_retrieve_log_error",
    target: "edge_log_error",
    label: "profile: identity-edge · retrieve, LOG_LEVEL=error",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: retrieve,
  },
  {
    id: "edge_retrieve_mf_ratelimit",
    target: "edge_mf_ratelimit",
    label: "profile: identity-edge · retrieve, Miniflare's rate-limiter simulator",
    upstreamMs: 0,
    reference: "pt_retrieve",
    request: retrieve,
  },
  // The cross-check on `workerd serve` (bench/raw-workerd.ts): no Miniflare interceptor on subrequests.
  {
    id: "raw_pt_retrieve",
    target: "raw_passthrough",
    label: "workerd serve: passthrough · retrieve",
    upstreamMs: 0,
    reference: "raw_pt_retrieve",
    request: retrieve,
  },
  {
    id: "raw_pt_create",
    target: "raw_passthrough",
    label: "workerd serve: passthrough · create",
    upstreamMs: 0,
    reference: "raw_pt_create",
    request: create,
  },
  {
    id: "raw_hono_retrieve",
    target: "raw_hono",
    label: "workerd serve: Hono proxy · retrieve",
    upstreamMs: 0,
    reference: "raw_pt_retrieve",
    request: retrieve,
  },
  {
    id: "raw_hono_log_retrieve",
    target: "raw_hono_log",
    label: "workerd serve: Hono proxy + one access line · retrieve",
    upstreamMs: 0,
    reference: "raw_pt_retrieve",
    request: retrieve,
  },
  {
    id: "raw_edge_retrieve",
    target: "raw_edge",
    label: "workerd serve: identity-edge · retrieve",
    upstreamMs: 0,
    reference: "raw_pt_retrieve",
    request: retrieve,
  },
  {
    id: "raw_edge_browser_retrieve",
    target: "raw_edge",
    label: "workerd serve: identity-edge · browser retrieve (JWT + ownership)",
    upstreamMs: 0,
    reference: "raw_pt_retrieve",
    request: browserRetrieve,
    checkAnswer: checkBrowserView,
  },
  {
    id: "raw_edge_create",
    target: "raw_edge",
    label: "workerd serve: identity-edge · create (policy, form)",
    upstreamMs: 0,
    reference: "raw_pt_create",
    request: create,
  },
  {
    id: "raw_pt_list0",
    target: "raw_passthrough",
    label: "workerd serve: passthrough · list (0 ms upstream)",
    upstreamMs: 0,
    reference: "raw_pt_list0",
    request: () => list({ [DELAY_HEADER]: "0" }),
  },
  {
    id: "raw_pt_list",
    target: "raw_passthrough",
    label: "workerd serve: passthrough · list",
    upstreamMs: LIST_DELAY_MS,
    reference: "raw_pt_list",
    request: () => list(),
  },
  {
    id: "raw_edge_list_miss",
    target: "raw_edge",
    label: "workerd serve: identity-edge · list MISS (new query each)",
    upstreamMs: LIST_DELAY_MS,
    reference: "raw_pt_list",
    expectCache: "MISS",
    request: missRequest,
  },
  {
    id: "raw_edge_list_hit",
    target: "raw_edge",
    label: "workerd serve: identity-edge · list HIT",
    upstreamMs: LIST_DELAY_MS,
    reference: "raw_pt_list0",
    expectCache: "HIT",
    request: () => list(),
  },
];
