import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BENCH_END_USER } from "./tenant.ts";

/**
 * The one upstream every bench target talks to: a fixed-response stand-in for Stripe's Identity API.
 * It answers Stripe-shaped JSON for `/v1/identity/verification_sessions[/{id}]` with no latency for
 * retrieve and create and LIST_DELAY_MS for list (a distant Stripe), and counts what it served so the
 * bench can tell how many list HITs reached it. Nothing is validated or stored: it measures the proxy,
 * not a Stripe simulation (dev/stub is the faithful one).
 *
 * Run as its own process (`node --import tsx bench/upstream.ts`) so its event loop does not share a
 * thread with the load generator; it prints `{"url":...}` on its first stdout line.
 */

/** A list against Stripe from another continent: the latency a list cache exists to hide. */
export const LIST_DELAY_MS = 30;
/** Header a bench request may send to override the list delay (the passthrough's zero-latency list row). */
export const DELAY_HEADER = "x-bench-upstream-delay-ms";
export const STATS_PATH = "/__bench/stats";

const SESSIONS = "/v1/identity/verification_sessions";
const API_VERSION = "2026-07-29.dahlia";

function session(n: number): Record<string, unknown> {
  const id = `vs_1Bench${String(n).padStart(16, "0")}`;
  return {
    id,
    object: "identity.verification_session",
    // The browser rows' end user owns every session (src/auth/ownership.ts), so their retrieve is a 200.
    client_reference_id: BENCH_END_USER,
    client_secret: `${id}_secret_test_benchbenchbenchbench`,
    created: 1_790_000_000 + n,
    last_error: null,
    last_verification_report: null,
    livemode: false,
    metadata: { order_id: "ord_1234" },
    options: { document: { allowed_types: ["passport", "id_card"], require_live_capture: true, require_matching_selfie: true } },
    provided_details: null,
    redaction: null,
    related_customer: null,
    related_person: null,
    return_url: "https://app.bench.test/identity/done?order=ord_1234",
    status: "requires_input",
    type: "document",
    url: `https://verify.stripe.com/start/test_bench${n}`,
    verification_flow: null,
    verified_outputs: null,
  };
}

const SESSION_BODY = JSON.stringify(session(1));
/** A default page: 10 sessions, as Stripe answers a list without `limit`. */
const LIST_BODY = JSON.stringify({
  object: "list",
  url: SESSIONS,
  has_more: true,
  data: Array.from({ length: 10 }, (_, i) => session(i + 1)),
});

export interface UpstreamStats {
  retrieve: number;
  create: number;
  list: number;
  other: number;
}

function emptyStats(): UpstreamStats {
  return { retrieve: 0, create: 0, list: 0, other: 0 };
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "Request-Id": "req_bench_upstream",
    "Stripe-Version": API_VERSION,
  });
  res.end(body);
}

/** What to answer: status, body and a delay (ms) before answering. */
function route(req: IncomingMessage, stats: UpstreamStats): { status: number; body: string; delay: number } {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  if (req.method === "GET" && path === STATS_PATH) return { status: 200, body: JSON.stringify(stats), delay: 0 };
  if (req.method === "GET" && path === SESSIONS) {
    stats.list++;
    const header = req.headers[DELAY_HEADER];
    const delay = typeof header === "string" && /^\d{1,4}$/.test(header) ? Number(header) : LIST_DELAY_MS;
    return { status: 200, body: LIST_BODY, delay };
  }
  if (req.method === "POST" && path === SESSIONS) {
    stats.create++;
    return { status: 200, body: SESSION_BODY, delay: 0 };
  }
  if (req.method === "GET" && path.startsWith(`${SESSIONS}/vs_`) && !path.slice(SESSIONS.length + 1).includes("/")) {
    stats.retrieve++;
    return { status: 200, body: SESSION_BODY, delay: 0 };
  }
  stats.other++;
  return { status: 404, body: NOT_FOUND, delay: 0 };
}

const NOT_FOUND = JSON.stringify({
  error: { type: "invalid_request_error", code: "resource_missing", message: "Unrecognized request URL." },
});

/** Starts the upstream on 127.0.0.1 (port 0: any free port). */
export async function startUpstream(port = 0): Promise<{ url: string; server: Server }> {
  const stats = emptyStats();
  const server = createServer((req, res) => {
    // Bodies are drained, not read: the answer is fixed.
    req.resume();
    req.on("end", () => {
      const { status, body, delay } = route(req, stats);
      if (delay === 0) answer(res, status, body);
      else setTimeout(() => answer(res, status, body), delay);
    });
  });
  // workerd keeps upstream connections alive between requests; do not close them under it.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Reads the upstream's request counters. */
export async function readUpstreamStats(url: string): Promise<UpstreamStats> {
  const response = await fetch(`${url}${STATS_PATH}`);
  return (await response.json()) as UpstreamStats;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const portArg = process.argv.indexOf("--port");
  const { url } = await startUpstream(portArg > 0 ? Number(process.argv[portArg + 1]) : 0);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  // The parent ends us by closing our stdin (or by its own exit).
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
