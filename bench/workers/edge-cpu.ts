import { CPU_CASES, type CpuCase } from "../cpu-cases.ts";
import { parseTenantConfig } from "../../src/config/schema.ts";
import type { VerificationPolicy } from "../../src/policy/verification-policy.ts";
import type { Deps } from "../../src/deps.ts";
import type { Env } from "../../src/env.ts";
import { createLogger } from "../../src/log/logger.ts";
import { enforceSessionPolicy } from "../../src/policy/enforce.ts";
import { handleRequest } from "../../src/router.ts";
import { encodeForm, type Params, parseForm } from "../../src/stripe/form-codec.ts";
import { matchOperation, OPERATIONS } from "../../src/stripe/operations.ts";
import { operationKey, validateParams } from "../../src/stripe/validate-params.ts";

/**
 * Bench-only Worker: runs identity-edge's edge work N times in a loop inside workerd and returns.
 * workerd freezes its clocks while JavaScript runs (Spectre mitigation), so the loop cannot time
 * itself reliably: the bench times the whole request from Node and compares N iterations with zero
 * (bench/cpu.ts). The Worker reports its own clock's view too, so the bench can show whether it moved.
 *
 * Cases (`GET /?case=...&n=...`):
 * - `create`, `retrieve`: the pure stages only: parse → validate → policy → encode → access log line
 *   (to a sink that only counts its bytes);
 * - `create_parse|validate|policy|encode|log`: one stage of `create` alone, on precomputed input;
 * - `create_full`, `retrieve_full`: the whole request path (`handleRequest`: routing, key hash, tenant
 *   lookup, parse, policy, encode, response shaping, log) with an upstream `fetch` that answers a fixed
 *   response at once, so only the edge's own work is left.
 *
 * Bindings: BENCH_CONFIG (JSON: tenants, proxy key, create body, retrieve id) and the identity-edge
 * bindings the full cases read (TENANTS, STRIPE_KEY_BENCH, CACHE_ENCRYPTION_KEY, LOG_LEVEL).
 */
interface BenchConfig {
  tenant: string;
  proxyKey: string;
  createBody: string;
  sessionId: string;
  upstreamSession: string;
}

type CpuEnv = Env & { BENCH_CONFIG: string };

const discard = (): void => {};
const CREATE_KEY = operationKey(OPERATIONS.create.method, OPERATIONS.create.openapiPath);

/** Inputs of each stage, computed once, so a single-stage case measures that stage alone. */
interface Prepared {
  config: BenchConfig;
  policy: VerificationPolicy;
  parsed: Params;
  validated: Params;
  enforced: Params;
  decisions: string;
}

let prepared: Prepared | undefined;

function prepare(env: CpuEnv): Prepared {
  if (prepared) return prepared;
  const config = JSON.parse(env.BENCH_CONFIG) as BenchConfig;
  const tenants = JSON.parse(String(env.TENANTS)) as Record<string, unknown>;
  const tenant = parseTenantConfig(tenants[config.tenant]);
  if (!tenant.ok) throw new Error(`bench tenant config is invalid: ${JSON.stringify(tenant.issues)}`);
  const policy = tenant.config.verification;
  const parsed = parseForm(config.createBody);
  if (!parsed.ok) throw new Error(parsed.reason);
  const validated = validateParams(CREATE_KEY, parsed.params);
  if (!validated.ok) throw new Error(validated.issue.message);
  const enforced = enforceSessionPolicy("create", validated.params, policy);
  if (!enforced.ok) throw new Error(enforced.message);
  prepared = {
    config,
    policy,
    parsed: parsed.params,
    validated: validated.params,
    enforced: enforced.params,
    decisions: enforced.decisions.join(","),
  };
  return prepared;
}

/**
 * Request ids as the proxy makes them (random hex), rotated: a constant id would flatter the
 * scrubber. Made on first use: Workers refuse random values at global scope.
 */
let requestIds: string[] | undefined;
let nextId = 0;
function requestId(): string {
  requestIds ??= Array.from({ length: 64 }, () => {
    let id = "req_edge_";
    for (const b of crypto.getRandomValues(new Uint8Array(12))) id += b.toString(16).padStart(2, "0");
    return id;
  });
  return requestIds[nextId++ % requestIds.length] as string;
}

function logCreate(policyDecision: string, now: () => number): number {
  let bytes = 0;
  const log = createLogger(
    "info",
    (line) => {
      bytes += line.length;
    },
    now,
  );
  log.access({
    request_id: requestId(),
    method: "POST",
    status: 200,
    duration_ms: 1,
    tenant: "bench",
    role: "server",
    operation: "create",
    route: OPERATIONS.create.path,
    upstream_status: 200,
    upstream_ms: 1,
    retries: 0,
    policy: policyDecision,
    stripe_request_id: "req_1BenchUpstream42",
  });
  return bytes;
}

/** The pure stages of a create, as the request path runs them. Returns a number so nothing is optimized away. */
function createStages(body: string, policy: VerificationPolicy, now: () => number): number {
  const decoded = parseForm(body);
  if (!decoded.ok) throw new Error(decoded.reason);
  const checked = validateParams(CREATE_KEY, decoded.params);
  if (!checked.ok) throw new Error(checked.issue.message);
  const outcome = enforceSessionPolicy("create", checked.params, policy);
  if (!outcome.ok) throw new Error(outcome.message);
  return encodeForm(outcome.params).length + logCreate(outcome.decisions.join(","), now);
}

function createStage(kind: CpuCase, p: Prepared, now: () => number): number {
  switch (kind) {
    case "create_parse": {
      const decoded = parseForm(p.config.createBody);
      return decoded.ok ? Object.keys(decoded.params).length : -1;
    }
    case "create_validate": {
      const checked = validateParams(CREATE_KEY, p.parsed);
      return checked.ok ? Object.keys(checked.params).length : -1;
    }
    case "create_policy": {
      const outcome = enforceSessionPolicy("create", p.validated, p.policy);
      return outcome.ok ? outcome.decisions.length : -1;
    }
    case "create_encode":
      return encodeForm(p.enforced).length;
    case "create_log":
      return logCreate(p.decisions, now);
    default:
      return createStages(p.config.createBody, p.policy, now);
  }
}

function retrieveStages(id: string, now: () => number): number {
  const match = matchOperation("GET", `/v1/identity/verification_sessions/${id}`);
  if (match.kind !== "operation") throw new Error("retrieve did not match");
  const checked = validateParams(operationKey(match.op.method, match.op.openapiPath), {});
  if (!checked.ok) throw new Error(checked.issue.message);
  const encoded = encodeForm(checked.params);
  let bytes = 0;
  const log = createLogger(
    "info",
    (line) => {
      bytes += line.length;
    },
    now,
  );
  log.access({
    request_id: requestId(),
    method: "GET",
    status: 200,
    duration_ms: 1,
    tenant: "bench",
    role: "server",
    operation: match.op.name,
    route: match.op.path,
    upstream_status: 200,
    upstream_ms: 1,
    retries: 0,
    stripe_request_id: "req_bench_upstream",
  });
  return encoded.length + bytes;
}

/** The full request path with an upstream that answers at once and a log sink that discards. */
async function fullRequest(
  kind: "create" | "retrieve",
  env: CpuEnv,
  config: BenchConfig,
  ctx: ExecutionContext,
): Promise<number> {
  const deps: Deps = {
    fetch: async () =>
      new Response(config.upstreamSession, {
        status: 200,
        headers: {
          "Content-Type": "application/json",
          "Request-Id": "req_bench_upstream",
          "Stripe-Version": "2026-07-29.dahlia",
        },
      }),
    now: () => Date.now(),
    logSink: discard,
  };
  const headers = { Authorization: `Bearer ${config.proxyKey}`, Host: "edge.bench.test" };
  const request =
    kind === "create"
      ? new Request("http://edge.bench.test/v1/identity/verification_sessions", {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
          body: config.createBody,
        })
      : new Request(`http://edge.bench.test/v1/identity/verification_sessions/${config.sessionId}`, { headers });
  const response = await handleRequest(request, env, ctx, deps);
  if (response.status !== 200) throw new Error(`${kind}_full answered ${response.status}: ${await response.text()}`);
  return (await response.arrayBuffer()).byteLength;
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    const kind = url.searchParams.get("case") as CpuCase | null;
    const n = Number(url.searchParams.get("n") ?? "1");
    if (kind === null || !CPU_CASES.includes(kind) || !Number.isSafeInteger(n) || n < 0 || n > 1_000_000) {
      return new Response(`usage: /?case=${CPU_CASES.join("|")}&n=N`, { status: 400 });
    }
    const p = prepare(env);
    // The full cases would bump the tenant's list-cache marker in KV on every create; the pure cost
    // is what is measured here, so they run without the KV binding (invalidation stays in memory).
    const fullEnv: CpuEnv = { ...env, LIST_CACHE: undefined };
    const now = () => Date.now();
    const wallStart = Date.now();
    const perfStart = performance.now();
    let sink = 0;
    for (let i = 0; i < n; i++) {
      if (kind === "retrieve") sink += retrieveStages(p.config.sessionId, now);
      else if (kind === "create_full" || kind === "retrieve_full")
        sink += await fullRequest(kind === "create_full" ? "create" : "retrieve", fullEnv, p.config, ctx);
      else sink += createStage(kind, p, now);
    }
    return Response.json({ case: kind, n, sink, clockMs: Date.now() - wallStart, perfMs: performance.now() - perfStart });
  },
} satisfies ExportedHandler<CpuEnv>;
