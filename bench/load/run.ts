/**
 * Bounded load test of the whole local stack: the real `wrangler dev` serving the proxy and the Stripe
 * stub over real HTTP, on loopback only. Thousands of mixed requests (creates as form, JSON and under the
 * caller's Idempotency-Key; retrieves, lists, updates, cancels, reports; malformed bodies; bad keys;
 * browser creates) at high concurrency, while a few hundred upstream faults (500, 503, 409, resets,
 * truncated and HTML bodies, latency) are queued in the stub. Then it checks the reliability bars:
 *
 *   - no duplicate create: no Idempotency-Key the proxy sent created more than one session;
 *   - a tenant served from the KV tenant registry (keys resolved cold, under the first burst) works
 *     like the env.TENANTS one;
 *   - no 500 made by the Worker (and no 5xx of its own other than the deliberate 502/504; Stripe's final 5xx
 *     after retries passes through by design);
 *   - every answer has a Request-Id and no connection was dropped;
 *   - no secret (proxy keys, the Stripe key, webhook and cache secrets, a refused caller-sent Stripe
 *     key, every client_secret and session url seen) in wrangler's captured output.
 *
 *   npm run load                 # ~25 s of load, hard cap 20 000 requests, 50 connections
 *   npm run load -- --quick      # ~6 s, 2 000 requests, 20 connections (CI: test/node/load-smoke.test.ts)
 *   npm run load -- --json out.json
 *
 * Exits non-zero when a bar fails.
 */
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { DEMO_PROXY_KEY, DEMO_TENANT_ID, demoTenants, demoVars } from "../../dev/demo-tenant.ts";
import { type DevStack, freePort, startDevStack } from "../../dev/stack.ts";
import type { FaultSpec } from "../../dev/stub/faults.ts";
import { PROXY_REQUEST_ID_PREFIX } from "../../src/http/request-id.ts";
import { planPut } from "../../src/tenancy/registry-ops.ts";
import { findSecretLeaks } from "../secret-leaks.ts";
import { parseCommandLine } from "../../scripts/lib/args.ts";
import { WranglerKvStore } from "../../scripts/tenants/wrangler-store.ts";

export interface LoadOptions {
  quick?: boolean;
  /** Overrides of the profile. */
  connections?: number;
  maxRequests?: number;
  maxSeconds?: number;
  faults?: number;
  /** Progress lines on stderr. */
  verbose?: boolean;
  /** Writes wrangler's captured output here (to read what went wrong). */
  outputFile?: string;
}

interface Profile {
  connections: number;
  maxRequests: number;
  maxSeconds: number;
  faults: number;
  serverKeys: number;
}

const PROFILES: Record<"full" | "quick", Profile> = {
  full: { connections: 50, maxRequests: 20_000, maxSeconds: 25, faults: 400, serverKeys: 40 },
  quick: { connections: 20, maxRequests: 2_000, maxSeconds: 8, faults: 80, serverKeys: 8 },
};

export interface LoadReport {
  profile: Profile & { quick: boolean };
  machine: { cpus: number; model: string; node: string; platform: string };
  requests: {
    sent: number;
    completed: number;
    durationSeconds: number;
    rps: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  byKind: Record<string, Record<string, number>>;
  missingRequestId: number;
  unparsable: number;
  unparsableSamples: string[];
  faults: { queued: number; used: number; byKind: Record<string, number> };
  upstream: {
    requests: number;
    createAttempts: number;
    createKeys: number;
    sessionsCreated: number;
    createdEvents: number;
    retried: number;
  };
  duplicates: {
    keysWithMoreThanOneSession: number;
    extraSessions: number;
    clientRequestsWithMoreThanOneSession: number;
    createsWithoutKey: number;
    callerKeyRepeats: number;
  };
  status500: number;
  unexpected5xx: number;
  secrets: { checked: number; outputLines: number; leaks: number; checkSeconds: number };
  /** What wrangler itself saw: exceptions that escaped the Worker, and the 500s it answered (in flight at the stop too). */
  wrangler: { uncaught: number; answered500: number; uncaughtSamples: string[] };
  /** The list cache as the access log tells it; `joined`: MISSes answered by another request's upstream call. */
  listCache: { byResult: Record<string, number>; joined: number };
  /** Requests of the tenant served from the KV registry, by status (from the access log). */
  registryTenant: { id: string; keys: number; byStatus: Record<string, number> };
  bars: { name: string; ok: boolean; detail: string }[];
  ok: boolean;
}

/* ------------------------------------------------------------------------------------------------
 * The request mix
 * ---------------------------------------------------------------------------------------------- */

const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";

type Kind =
  | "create_form"
  | "create_json"
  | "create_caller_key"
  | "retrieve"
  | "retrieve_missing"
  | "list"
  | "list_no_cache"
  | "update"
  | "cancel"
  | "report_list"
  | "malformed"
  | "bad_key"
  | "browser_no_token";

const MIX: [Kind, number][] = [
  ["create_form", 12],
  ["create_json", 6],
  ["create_caller_key", 4],
  ["retrieve", 16],
  ["retrieve_missing", 3],
  ["list", 10],
  ["list_no_cache", 4],
  ["update", 8],
  ["cancel", 4],
  ["report_list", 3],
  ["malformed", 14],
  ["bad_key", 10],
  ["browser_no_token", 2],
];
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);

const MALFORMED: { body: string; type: string; path?: string }[] = [
  { body: "type=%E0%A4%A", type: "application/x-www-form-urlencoded" },
  { body: "type=document&unknown_param=1", type: "application/x-www-form-urlencoded" },
  { body: `${"a[".repeat(40)}x${"]".repeat(40)}=1`, type: "application/x-www-form-urlencoded" },
  { body: "type=document&type=id_number", type: "application/x-www-form-urlencoded" },
  { body: "type=document&options[document]=", type: "application/x-www-form-urlencoded" },
  { body: "type=document&return_url=https%3A%2F%2Fevil.test%2F", type: "application/x-www-form-urlencoded" },
  { body: "__proto__[polluted]=1&constructor[prototype][x]=1&type=document", type: "application/x-www-form-urlencoded" },
  { body: `type=document&${Array(150).fill("expand[]=x").join("&")}`, type: "application/x-www-form-urlencoded" },
  { body: '{"type":"document","toString":"x"}', type: "application/json" },
  { body: '{"type":"document","metadata":{"a][b":"x"}}', type: "application/json" },
  { body: '{"type":', type: "application/json" },
  { body: `${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}`, type: "application/json" },
  { body: "type=document", type: "text/plain" },
  { body: `type=document&metadata[pad]=${"x".repeat(70 * 1024)}`, type: "application/x-www-form-urlencoded" },
  { body: "type=document", type: "application/x-www-form-urlencoded", path: `${SESSIONS}?type=document` },
  { body: "", type: "application/x-www-form-urlencoded", path: `${SESSIONS}/vs_a%2F..%2Fcancel/cancel` },
];

interface Context {
  kind?: Kind;
  callerKey?: string;
}

/** Shared state between the request builders and the response handlers (one process, one thread). */
class Mix {
  readonly sessionIds: string[] = [];
  readonly secrets = new Set<string>();
  readonly byStatus: Record<string, number> = {};
  /**
   * 5xx answers the Worker made itself (its own `req_edge_` Request-Id), by status. Stripe's final 5xx after
   * the proxy's retries reaches the caller unchanged, with Stripe's Request-Id: by design, not a failure.
   */
  readonly ownByStatus: Record<string, number> = {};
  readonly byCode: Record<string, number> = {};
  readonly byKind: Record<string, Record<string, number>> = {};
  missingRequestId = 0;
  /** Answers whose body is not JSON: a broken body passed through would show here. */
  unparsable = 0;
  /** The first few of them, to tell what answered (the Worker, workerd or wrangler). */
  readonly unparsableSamples: string[] = [];
  sent = 0;
  callerKeyRepeats = 0;
  private n = 0;
  private readonly recentCallerKeys: { key: string; proxyKey: string }[] = [];

  constructor(
    private readonly serverKeys: readonly string[],
    readonly badKeys: readonly string[],
    private readonly browserHost: string,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(Math.random() * items.length)] as T;
  }

  private kind(): Kind {
    let r = Math.random() * MIX_TOTAL;
    for (const [kind, weight] of MIX) {
      r -= weight;
      if (r < 0) return kind;
    }
    return "retrieve";
  }

  private serverHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.pick(this.serverKeys)}`, ...extra };
  }

  private sessionId(): string {
    return this.sessionIds.length > 0 ? this.pick(this.sessionIds) : "vs_1NotCreatedYet";
  }

  /** The next request: autocannon's setupRequest. */
  next(request: autocannon.Request, context: Context): autocannon.Request {
    const kind = this.kind();
    context.kind = kind;
    this.sent++;
    const i = this.n++;
    const form = { "content-type": "application/x-www-form-urlencoded" };
    switch (kind) {
      case "create_form":
        return {
          ...request,
          method: "POST",
          path: SESSIONS,
          headers: this.serverHeaders(form),
          body: `type=document&metadata[load]=${i}`,
        };
      case "create_json":
        return {
          ...request,
          method: "POST",
          path: SESSIONS,
          headers: this.serverHeaders({ "content-type": "application/json" }),
          body: JSON.stringify({ type: "id_number", metadata: { load: String(i) } }),
        };
      case "create_caller_key": {
        // One in three reuses a recent key: the retry of a client that never saw its answer. A retry comes
        // from the same client, so with the same proxy key (tenant): one key on two tenants is two requests
        // to Stripe (their accounts differ), not a retry.
        const reuse = this.recentCallerKeys.length > 0 && Math.random() < 1 / 3;
        const sent = reuse
          ? this.pick(this.recentCallerKeys)
          : { key: `load-${process.pid}-${i}`, proxyKey: this.pick(this.serverKeys) };
        if (reuse) this.callerKeyRepeats++;
        else {
          this.recentCallerKeys.push(sent);
          if (this.recentCallerKeys.length > 50) this.recentCallerKeys.shift();
        }
        context.callerKey = sent.key;
        return {
          ...request,
          method: "POST",
          path: SESSIONS,
          headers: { authorization: `Bearer ${sent.proxyKey}`, ...form, "idempotency-key": sent.key },
          // The same key always comes with the same body (another body would be Stripe's idempotency_error).
          body: `type=document&metadata[load]=${sent.key}`,
        };
      }
      case "retrieve":
        return {
          ...request,
          method: "GET",
          path: `${SESSIONS}/${this.sessionId()}`,
          headers: this.serverHeaders(),
          body: undefined,
        };
      case "retrieve_missing":
        return { ...request, method: "GET", path: `${SESSIONS}/vs_1Missing${i}`, headers: this.serverHeaders(), body: undefined };
      case "list":
        return {
          ...request,
          method: "GET",
          path: `${SESSIONS}?limit=${1 + (i % 5)}`,
          headers: this.serverHeaders(),
          body: undefined,
        };
      case "list_no_cache":
        return {
          ...request,
          method: "GET",
          path: `${SESSIONS}?limit=3&status=requires_input`,
          headers: this.serverHeaders({ "cache-control": "no-cache" }),
          body: undefined,
        };
      case "update":
        return {
          ...request,
          method: "POST",
          path: `${SESSIONS}/${this.sessionId()}`,
          headers: this.serverHeaders(form),
          body: `metadata[updated]=${i}`,
        };
      case "cancel":
        return {
          ...request,
          method: "POST",
          path: `${SESSIONS}/${this.sessionId()}/cancel`,
          headers: this.serverHeaders(form),
          body: "",
        };
      case "report_list":
        return { ...request, method: "GET", path: `${REPORTS}?limit=3`, headers: this.serverHeaders(), body: undefined };
      case "malformed": {
        const m = this.pick(MALFORMED);
        return {
          ...request,
          method: "POST",
          path: m.path ?? SESSIONS,
          headers: this.serverHeaders({ "content-type": m.type }),
          body: m.body,
        };
      }
      case "bad_key": {
        const headers: Record<string, string> = {};
        const auth = this.pick([...this.badKeys.map((k) => `Bearer ${k}`), "Bearer", "Basic !!!", "Token x", ""]);
        if (auth !== "") headers.authorization = auth;
        return { ...request, method: "GET", path: SESSIONS, headers, body: undefined };
      }
      case "browser_no_token":
        return {
          ...request,
          method: "POST",
          path: SESSIONS,
          headers: { ...form, host: this.browserHost, "sec-fetch-site": "same-origin", origin: `http://${this.browserHost}` },
          body: "type=document",
        };
    }
  }

  /** autocannon's onResponse. */
  record(status: number, body: string, context: Context, headers: Record<string, string | string[]>): void {
    const kind = context.kind ?? "retrieve";
    const requestId = headers["request-id"] ?? headers["Request-Id"];
    if (requestId === undefined) this.missingRequestId++;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    const firstId = Array.isArray(requestId) ? requestId[0] : requestId;
    if (status >= 500 && (firstId === undefined || firstId.startsWith(PROXY_REQUEST_ID_PREFIX)))
      this.ownByStatus[status] = (this.ownByStatus[status] ?? 0) + 1;
    let code = "";
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // Counted below as an unparsable answer.
    }
    if (parsed === undefined) {
      code = "(not json)";
      this.unparsable++;
      if (this.unparsableSamples.length < 5)
        this.unparsableSamples.push(`${kind} ${status} ${JSON.stringify(headers)} ${body.slice(0, 300)}`);
    } else if (status >= 400) {
      const error = parsed.error as { code?: string; type?: string } | undefined;
      code = error?.code ?? `(${error?.type ?? "no error object"})`;
      this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    }
    const perKind = this.byKind[kind] ?? {};
    const key = code === "" ? String(status) : `${status} ${code}`;
    perKind[key] = (perKind[key] ?? 0) + 1;
    this.byKind[kind] = perKind;
    if (status === 200 && parsed?.object === "identity.verification_session") {
      if (typeof parsed.client_secret === "string") this.secrets.add(parsed.client_secret);
      if (typeof parsed.url === "string") this.secrets.add(parsed.url);
      if (kind.startsWith("create") && typeof parsed.id === "string") {
        this.sessionIds.push(parsed.id);
        if (this.sessionIds.length > 500) this.sessionIds.splice(0, 100);
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------------
 * Faults
 * ---------------------------------------------------------------------------------------------- */

/** `count` faults on the API, mixed as the brief of the bar says: 5xx, 409, resets, broken bodies, latency. */
function faultBatch(count: number): FaultSpec[] {
  const kinds: (() => FaultSpec)[] = [
    () => ({ kind: "status", status: 500 }),
    () => ({ kind: "status", status: 503 }),
    () => ({ kind: "status", status: 502 }),
    () => ({ kind: "status", status: 409 }),
    () => ({ kind: "reset_after" }),
    () => ({ kind: "reset_before" }),
    () => ({ kind: "truncated" }),
    () => ({ kind: "non_json", status: 503 }),
    () => ({ kind: "latency", ms: 50 + Math.floor(Math.random() * 250) }),
    () => ({ kind: "slow_body", ms: 300 }),
  ];
  const out: FaultSpec[] = [];
  for (let i = 0; i < count; i++) {
    const spec = (kinds[i % kinds.length] as () => FaultSpec)();
    // Mostly on creates (where a duplicate would show), the rest on any API call.
    out.push(i % 3 === 2 ? { ...spec, match: { path: "/v1/*" } } : { ...spec, match: { method: "POST", path: SESSIONS } });
  }
  return out.sort(() => Math.random() - 0.5);
}

async function postFaults(stack: DevStack, faults: FaultSpec[]): Promise<void> {
  const res = await fetch(`${stack.stub.url}/_stub/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ faults }),
  });
  if (!res.ok) throw new Error(`the stub refused the faults: ${res.status} ${await res.text()}`);
}

/* ------------------------------------------------------------------------------------------------
 * The run
 * ---------------------------------------------------------------------------------------------- */

function newProxyKey(): string {
  return `iek_load_${randomBytes(32).toString("base64url")}`;
}

function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

const REGISTRY_TENANT_ID = "load-registry";

/**
 * The registry tenant: the demo's verification policy and Stripe key (on an account of its own: one
 * Stripe account, one tenant), no hosts or browser, its own keys.
 */
function registryTenantConfig(demo: unknown, keys: readonly string[]): Record<string, unknown> {
  const { verification, stripe } = demo as { verification: unknown; stripe: { secret_key: string; api_version: string } };
  return {
    stripe: { secret_key: stripe.secret_key, account: "acct_1LoadRegistry", api_version: stripe.api_version },
    verification,
    server_keys: keys.map((key, i) => ({ name: `registry-${i}`, sha256: sha256Hex(key) })),
  };
}

interface AccessLine {
  tenant?: unknown;
  status?: unknown;
  cache?: unknown;
  upstream_ms?: unknown;
  upstream_status?: unknown;
}

/** The Worker's access-log lines in wrangler's output. */
function accessLines(output: string): AccessLine[] {
  const lines: AccessLine[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes('"event":"request"')) continue;
    try {
      lines.push(JSON.parse(line.slice(line.indexOf("{"))) as AccessLine);
    } catch {
      // a line that only mentions the event
    }
  }
  return lines;
}

/**
 * Cache results of the server list requests, from the access log. A MISS without `upstream_ms` joined
 * another request's upstream call (the list cache's single flight), the path that once answered 500s
 * under this load.
 */
function listCacheResults(output: string): { byResult: Record<string, number>; joined: number } {
  const byResult: Record<string, number> = {};
  let joined = 0;
  for (const record of accessLines(output)) {
    if (typeof record.cache !== "string") continue;
    byResult[record.cache] = (byResult[record.cache] ?? 0) + 1;
    if (record.cache === "MISS" && record.upstream_ms === undefined) joined++;
  }
  return { byResult, joined };
}

/** Wrangler colours its error lines. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** Demo variables that are configuration, not secrets. */
const NOT_SECRET_VARS = new Set(["TENANTS", "STRIPE_API_BASE", "DEV_MODE", "LOG_LEVEL"]);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runLoad(options: LoadOptions = {}): Promise<LoadReport> {
  const base = PROFILES[options.quick ? "quick" : "full"];
  const profile: Profile = {
    ...base,
    ...(options.connections ? { connections: options.connections } : {}),
    ...(options.maxRequests ? { maxRequests: options.maxRequests } : {}),
    ...(options.maxSeconds ? { maxSeconds: options.maxSeconds } : {}),
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
  };
  const log = (line: string) => {
    if (options.verbose) process.stderr.write(`[load] ${line}\n`);
  };

  // The demo tenant, with enough server keys that the per-key rate limit (1 500/min) is not what is
  // measured; keys are random for this run and checked as secrets like the demo's.
  const serverKeys = Array.from({ length: profile.serverKeys }, newProxyKey);
  const badKeys = [
    newProxyKey(),
    newProxyKey(),
    `sk_test_load_caller_${randomBytes(12).toString("hex")}`,
    `rk_test_load_${randomBytes(12).toString("hex")}`,
  ];
  const port = await freePort();
  const tenants = demoTenants(port);
  const demo = tenants[DEMO_TENANT_ID] as { server_keys: { name: string; sha256: string }[] };
  demo.server_keys = [...demo.server_keys, ...serverKeys.map((key, i) => ({ name: `load-${i}`, sha256: sha256Hex(key) }))];

  // A second tenant, from the KV tenant registry (seeded through the operator CLI's planning core into
  // wrangler dev's local state). Its keys are first used by the load's opening burst: cold lookups that
  // concurrent requests share.
  const registryKeys = Array.from({ length: Math.max(2, Math.floor(profile.serverKeys / 4)) }, newProxyKey);
  const registryTenant = registryTenantConfig(tenants[DEMO_TENANT_ID], registryKeys);
  const seedRegistry = async (persistTo: string) => {
    const store = new WranglerKvStore({ binding: "TENANT_REGISTRY", remote: false, persistTo });
    const plan = await planPut(store, REGISTRY_TENANT_ID, registryTenant);
    if (plan.errors.length > 0) throw new Error(`registry tenant refused: ${JSON.stringify(plan.errors)}`);
    await store.apply(plan.changes);
  };

  log(`starting wrangler dev on 127.0.0.1:${port}…`);
  const stack = await startDevStack({
    port,
    vars: { TENANTS: JSON.stringify(tenants), LOG_LEVEL: "info" },
    beforeStart: seedRegistry,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  try {
    const origin = stack.proxyUrl;
    const mix = new Mix([...serverKeys, ...registryKeys], badKeys, new URL(origin).host);

    // Warm up (the first request compiles the Worker) and seed sessions for retrieve/update/cancel.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${origin}${SESSIONS}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${serverKeys[i % serverKeys.length]}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "type=document&metadata[seed]=1",
      });
      const text = await res.text();
      mix.record(res.status, text, { kind: "create_form" }, { "request-id": res.headers.get("request-id") ?? "" });
    }
    const seeded = stack.stub.app.countCreates();
    log(`seeded ${seeded} sessions`);

    // Faults are queued in batches during the run, so they land all along it and not only at the start.
    const batches = 8;
    const perBatch = Math.ceil(profile.faults / batches);
    let queued = 0;
    const faultTimer = setInterval(
      () => {
        if (queued >= profile.faults) return;
        const n = Math.min(perBatch, profile.faults - queued);
        queued += n;
        postFaults(stack, faultBatch(n)).catch((err: unknown) => log(`fault injection failed: ${String(err)}`));
      },
      Math.max(250, (profile.maxSeconds * 1000) / (batches + 1)),
    );
    queued += perBatch;
    await postFaults(stack, faultBatch(perBatch));

    log(`load: ${profile.connections} connections, at most ${profile.maxRequests} requests or ${profile.maxSeconds} s`);
    const started = Date.now();
    let instance: autocannon.Instance | undefined;
    const running = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url: origin,
          connections: profile.connections,
          amount: profile.maxRequests,
          timeout: 20,
          requests: [
            {
              setupRequest: (request, context) => mix.next(request, context as Context),
              onResponse: (status, body, context, headers) =>
                mix.record(status, body, context as Context, (headers ?? {}) as Record<string, string>),
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
    const stopTimer = setTimeout(() => instance?.stop(), profile.maxSeconds * 1000);
    const result = await running;
    clearTimeout(stopTimer);
    clearInterval(faultTimer);
    const durationSeconds = (Date.now() - started) / 1000;
    log(`done: ${result.requests.total} requests in ${durationSeconds.toFixed(1)} s`);

    // Let the retries and background work of the last requests settle, then read the stub.
    await sleep(1_500);
    const app = stack.stub.app;
    const pending = app.pendingFaults();
    const creates = app.requests.filter((r) => r.method === "POST" && r.path === SESSIONS);
    const createKeys = new Set(creates.map((r) => r.headers.idempotencyKey));
    const createdEvents = app.events.filter((e) => e.type === "identity.verification_session.created");
    const perKey = new Map<string | null, number>();
    for (const e of createdEvents) perKey.set(e.request.idempotency_key, (perKey.get(e.request.idempotency_key) ?? 0) + 1);
    let keysWithMoreThanOneSession = 0;
    let extraSessions = 0;
    for (const [, n] of perKey) {
      if (n > 1) {
        keysWithMoreThanOneSession++;
        extraSessions += n - 1;
      }
    }
    // The caller's view: every create the load sent is tagged (metadata[load]: its number, or its own
    // Idempotency-Key), so a session per tag means one client request never made two sessions, even if
    // the proxy had (wrongly) changed keys between its attempts.
    const perTag = new Map<string, number>();
    for (const session of app.sessions()) {
      const tag = (session.metadata as Record<string, unknown> | null)?.load;
      if (typeof tag === "string") perTag.set(tag, (perTag.get(tag) ?? 0) + 1);
    }
    const requestsWithMoreThanOneSession = [...perTag.values()].filter((n) => n > 1).length;
    const faultKinds: Record<string, number> = {};
    for (const r of app.requests) if (r.fault) faultKinds[r.fault] = (faultKinds[r.fault] ?? 0) + 1;
    // Requests of the same method, path and Idempotency-Key seen more than once upstream: the proxy's retries.
    const attemptsByKey = new Map<string, number>();
    for (const r of app.requests) {
      if (r.headers.idempotencyKey === null) continue;
      const key = `${r.method} ${r.path} ${r.headers.idempotencyKey}`;
      attemptsByKey.set(key, (attemptsByKey.get(key) ?? 0) + 1);
    }
    const retried = [...attemptsByKey.values()].filter((n) => n > 1).length;

    await stop();
    const output = stack.output();
    if (options.outputFile) writeFileSync(options.outputFile, output);
    // Every secret the Worker was given (the demo's bindings, whatever they are today), every key used.
    const bindings = Object.entries(demoVars(port, stack.stub.url))
      .filter(([name]) => !NOT_SECRET_VARS.has(name))
      .map(([, value]) => value);
    const secrets = [...bindings, ...serverKeys, ...registryKeys, ...badKeys, ...mix.secrets];
    // The published demo key ends in 16 zeros, like the placeholder KV ids wrangler prints: it is
    // checked in full only (a tail match would be noise). Every other secret in every encoded form.
    const plainOnly = [DEMO_PROXY_KEY];
    const checkStart = Date.now();
    const leaks = [
      ...findSecretLeaks(output, secrets),
      ...plainOnly.flatMap((s, i) =>
        output.includes(s) ? [{ secretIndex: secrets.length + i, form: "in full", line: 0, excerpt: "" }] : [],
      ),
    ];
    secrets.push(...plainOnly);
    const checkSeconds = (Date.now() - checkStart) / 1000;

    const uncaughtLines = output
      .split("\n")
      .filter((l) => /Uncaught/.test(l))
      .map((l) => l.replace(ANSI_COLOUR, ""));
    const listCache = listCacheResults(output);
    const registryByStatus = accessLines(output)
      .filter((r) => r.tenant === REGISTRY_TENANT_ID)
      .reduce<Record<string, number>>((acc, r) => {
        acc[String(r.status)] = (acc[String(r.status)] ?? 0) + 1;
        return acc;
      }, {});
    const status500 = mix.ownByStatus["500"] ?? 0;
    const unexpected5xx = Object.entries(mix.ownByStatus)
      .filter(([s]) => Number(s) >= 500 && s !== "502" && s !== "504")
      .reduce((a, [, n]) => a + n, 0);
    const completed = result.requests.total;
    const report: LoadReport = {
      profile: { ...profile, quick: Boolean(options.quick) },
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? "?",
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      requests: {
        sent: mix.sent,
        completed,
        durationSeconds: Number(durationSeconds.toFixed(2)),
        rps: Math.round(completed / durationSeconds),
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
      },
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      byStatus: mix.byStatus,
      byCode: mix.byCode,
      byKind: mix.byKind,
      missingRequestId: mix.missingRequestId,
      unparsable: mix.unparsable,
      unparsableSamples: mix.unparsableSamples,
      faults: { queued, used: queued - pending.reduce((a, f) => a + f.remaining, 0), byKind: faultKinds },
      upstream: {
        requests: app.requests.length,
        createAttempts: creates.length,
        createKeys: createKeys.size,
        sessionsCreated: app.countCreates(),
        createdEvents: createdEvents.length,
        retried,
      },
      duplicates: {
        keysWithMoreThanOneSession,
        extraSessions,
        clientRequestsWithMoreThanOneSession: requestsWithMoreThanOneSession,
        createsWithoutKey: perKey.get(null) ?? 0,
        callerKeyRepeats: mix.callerKeyRepeats,
      },
      status500,
      unexpected5xx,
      wrangler: {
        uncaught: uncaughtLines.length,
        // wrangler logs every 500 it served; Stripe's own final 500s (passed through, by design) are not
        // the Worker's failures, so those the access log shows as Stripe's are taken out.
        answered500: Math.max(
          0,
          (output.match(/\[wrangler:info\] [A-Z]+ \S+ 500 /g) ?? []).length -
            accessLines(output).filter((l) => l.status === 500 && l.upstream_status === 500).length,
        ),
        uncaughtSamples: [...new Set(uncaughtLines.map((l) => l.slice(0, 240)))].slice(0, 3),
      },
      listCache,
      registryTenant: { id: REGISTRY_TENANT_ID, keys: registryKeys.length, byStatus: registryByStatus },
      secrets: {
        checked: secrets.length,
        outputLines: output.split("\n").length,
        leaks: leaks.length,
        checkSeconds: Number(checkSeconds.toFixed(1)),
      },
      bars: [],
      ok: false,
    };
    const bar = (name: string, ok: boolean, detail: string) => report.bars.push({ name, ok, detail });
    bar(
      "no duplicate create",
      extraSessions === 0 &&
        requestsWithMoreThanOneSession === 0 &&
        (perKey.get(null) ?? 0) === 0 &&
        createdEvents.length === app.countCreates(),
      `${extraSessions} extra sessions over ${createKeys.size} idempotency keys; ${requestsWithMoreThanOneSession} of ${perTag.size} client creates with >1 session; ${perKey.get(null) ?? 0} creates without a key; ${createdEvents.length} created events for ${app.countCreates()} sessions`,
    );
    bar(
      "sessions created ≤ distinct create keys",
      app.countCreates() <= createKeys.size,
      `${app.countCreates()} sessions, ${createKeys.size} keys`,
    );
    bar("no 500", status500 === 0, `${status500} answers with status 500`);
    bar("no 5xx but the gateway's 502/504", unexpected5xx === 0, `${unexpected5xx} other 5xx`);
    bar("every answer is complete JSON", mix.unparsable === 0, `${mix.unparsable} answers that are not JSON`);
    bar("every answer has a Request-Id", mix.missingRequestId === 0, `${mix.missingRequestId} without`);
    bar(
      "no dropped connection or timeout",
      result.errors === 0 && result.timeouts === 0,
      `${result.errors} errors, ${result.timeouts} timeouts`,
    );
    bar(
      "no exception escaped the Worker",
      report.wrangler.uncaught === 0 && report.wrangler.answered500 === 0,
      `${report.wrangler.uncaught} uncaught exceptions, ${report.wrangler.answered500} 500s in wrangler's log${report.wrangler.uncaughtSamples.map((l) => `; ${l}`).join("")}`,
    );
    bar(
      "no secret in wrangler's output",
      leaks.length === 0,
      leaks.length === 0 ? `${secrets.length} secrets checked` : describeLeaks(leaks, secrets),
    );
    bar(
      "the faults were exercised",
      report.faults.used > 0 && retried > 0,
      `${report.faults.used}/${queued} faults used, ${retried} requests retried upstream`,
    );
    bar("the load was real", completed >= Math.min(500, profile.maxRequests / 2), `${completed} requests completed`);
    const registryServed = report.registryTenant.byStatus["200"] ?? 0;
    bar(
      "the KV registry tenant was served",
      registryServed > 0 && (report.registryTenant.byStatus["401"] ?? 0) === 0,
      `${registryServed} answers 200, ${report.registryTenant.byStatus["401"] ?? 0} refused as unauthenticated`,
    );
    report.ok = report.bars.every((b) => b.ok);
    return report;
  } finally {
    await stop();
  }
}

function describeLeaks(leaks: ReturnType<typeof findSecretLeaks>, secrets: readonly string[]): string {
  return leaks
    .slice(0, 5)
    .map(
      (l) => `secret #${l.secretIndex} (${(secrets[l.secretIndex] ?? "").slice(0, 4)}…) ${l.form}, line ${l.line}: ${l.excerpt}`,
    )
    .join("; ");
}

export function formatReport(r: LoadReport): string {
  const lines: string[] = [];
  const sorted = (o: Record<string, number>) =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
  lines.push(
    `identity-edge load test (${r.profile.quick ? "quick" : "full"}): ${r.profile.connections} connections, cap ${r.profile.maxRequests} requests / ${r.profile.maxSeconds} s`,
  );
  lines.push(`machine: ${r.machine.cpus} × ${r.machine.model}, node ${r.machine.node}, ${r.machine.platform}`);
  lines.push(
    `requests: ${r.requests.completed} completed in ${r.requests.durationSeconds} s = ${r.requests.rps} req/s; latency p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`,
  );
  lines.push(`by status: ${sorted(r.byStatus)}`);
  lines.push(`by error code: ${sorted(r.byCode)}`);
  for (const [kind, counts] of Object.entries(r.byKind).sort()) lines.push(`  ${kind}: ${sorted(counts)}`);
  lines.push(`faults: ${r.faults.used}/${r.faults.queued} used upstream (${sorted(r.faults.byKind)})`);
  lines.push(
    `upstream: ${r.upstream.requests} requests, ${r.upstream.createAttempts} create attempts under ${r.upstream.createKeys} idempotency keys, ${r.upstream.sessionsCreated} sessions created, ${r.upstream.retried} requests retried by the proxy`,
  );
  lines.push(
    `duplicates: ${r.duplicates.clientRequestsWithMoreThanOneSession} client creates with more than one session; ${r.duplicates.extraSessions} extra sessions under one idempotency key (keys with >1 session: ${r.duplicates.keysWithMoreThanOneSession}; creates without key: ${r.duplicates.createsWithoutKey}; caller-key repeats sent: ${r.duplicates.callerKeyRepeats})`,
  );
  lines.push(
    `500s: ${r.status500}; other unexpected 5xx: ${r.unexpected5xx}; missing Request-Id: ${r.missingRequestId}; not JSON: ${r.unparsable}`,
  );
  lines.push(
    `list cache: ${sorted(r.listCache.byResult)}; MISSes that joined another request's upstream call: ${r.listCache.joined}`,
  );
  lines.push(`registry tenant ${r.registryTenant.id} (KV, ${r.registryTenant.keys} keys): ${sorted(r.registryTenant.byStatus)}`);
  lines.push(
    `secrets: ${r.secrets.leaks} leaks; ${r.secrets.checked} secrets over ${r.secrets.outputLines} output lines (${r.secrets.checkSeconds} s)`,
  );
  for (const b of r.bars) lines.push(`${b.ok ? "PASS" : "FAIL"}  ${b.name} — ${b.detail}`);
  for (const sample of r.unparsableSamples) lines.push(`not JSON: ${sample}`);
  lines.push(r.ok ? "all bars met" : "A BAR FAILED");
  return lines.join("\n");
}

const CLI = {
  command: "npm run load --",
  usage: `usage: npm run load -- [--quick] [--json FILE] [--save-output FILE]

Bounded load test of the local stack (wrangler dev + the Stripe stub, loopback only), then checks the
reliability bars (no duplicate create, no 500, a Request-Id on every answer, no secret in the logs).

  (default)            ~25 s of load, at most 20 000 requests, 50 connections (about 40 s in all)
  --quick              ~6 s, 2 000 requests, 20 connections
  --json FILE          write the report as JSON
  --save-output FILE   write wrangler's captured output

Exit codes: 0 every bar met, 1 a bar failed, 2 bad usage or the stack did not start.`,
  options: {
    quick: { type: "boolean" },
    json: { type: "string" },
    "save-output": { type: "string" },
  },
} as const;

async function main(): Promise<void> {
  const { values } = parseCommandLine(CLI);
  const outputFile = values["save-output"];
  const report = await runLoad({ quick: values.quick ?? false, verbose: true, ...(outputFile ? { outputFile } : {}) });
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  });
}
