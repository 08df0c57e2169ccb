import type { CpuCase } from "./cpu-cases.ts";
import type { CpuResult } from "./cpu.ts";
import type { Bundle } from "./build.ts";
import type { BenchResults, RowResult } from "./results.ts";
import type { StartupWorker } from "./startup.ts";
import { LIST_DELAY_MS } from "./upstream.ts";

/**
 * Renders the bench results: the summary (stdout) and BENCHMARKS.md. BENCHMARKS.md keeps one
 * hand-written block (between ANALYSIS_START and ANALYSIS_END) across runs: the profile and the
 * fixes, which need a person, not a script.
 */

export const ANALYSIS_START = "<!-- analysis:start (kept across `npm run bench` runs) -->";
export const ANALYSIS_END = "<!-- analysis:end -->";

const KIB = 1024;

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "–");
const us = (v: number) => (Number.isFinite(v) ? (v * 1000).toFixed(1) : "–");
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–");
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "–");
const kib = (bytes: number) => `${(bytes / KIB).toFixed(1)} KiB`;

function row(results: BenchResults, id: string): RowResult | undefined {
  return results.rows.find((r) => r.id === id);
}

function cpu(results: BenchResults, kind: CpuCase): CpuResult | undefined {
  return results.cpu.find((c) => c.case === kind);
}

export function mainTable(results: BenchResults): string {
  const c = results.options.connections;
  const lines = [
    `| row | upstream | req/s @${c} | × passthrough | workerd CPU µs/req | p50 ms | p99 ms | p50 ms @1 | p99 ms @1 | p99 added @1 |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results.rows) {
    const ref = row(results, r.reference);
    const self = r.reference === r.id;
    const x = ref && !self ? ratio(r.rps / ref.rps) : self ? "1.00× (ref)" : "–";
    const signed = (v: number, f: (v: number) => string) => `${v >= 0 ? "+" : ""}${f(v)}`;
    const added = ref && !self ? signed(r.p99Ms1 - ref.p99Ms1, ms) : "–";
    const cpuAdded = ref && !self && Number.isFinite(r.cpuMs - ref.cpuMs) ? ` (${signed(r.cpuMs - ref.cpuMs, us)})` : "";
    const refNote = ref && !self && ref.upstreamMs !== r.upstreamMs ? " vs 0 ms list" : "";
    lines.push(
      `| ${r.label} | ${r.upstreamMs} ms | ${int(r.rps)} | ${x}${refNote} | ${us(r.cpuMs)}${cpuAdded} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.p50Ms1)} | ${ms(r.p99Ms1)} | ${added} |`,
    );
  }
  return lines.join("\n");
}

const CPU_LABELS: Record<CpuCase, string> = {
  create: "create: parse + validate + policy + encode + log (the bar)",
  create_parse: "  parse (`parseForm`, qs)",
  create_validate: "  validate (`validateParams`)",
  create_policy: "  policy (`enforceSessionPolicy`)",
  create_encode: "  encode (`encodeForm`, qs)",
  create_log: "  access log line (`createLogger().access`)",
  retrieve: "retrieve: match + validate + encode + log",
  create_full: "create, whole request path (`handleRequest`, instant upstream)",
  retrieve_full: "retrieve, whole request path (`handleRequest`, instant upstream)",
};

export function cpuTable(results: BenchResults): string {
  const method = results.cpu[0]?.method ?? "workerd CPU time";
  const lines = [
    `| case | median µs (${method}) | min–max µs | wall time µs | Worker's own clock µs | N per batch × batches |`,
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const c of results.cpu) {
    lines.push(
      `| ${CPU_LABELS[c.case]} | ${us(c.medianMs)} | ${us(c.minMs)}–${us(c.maxMs)} | ${us(c.wallMedianMs)} | ${us(c.workerClockMs)} | ${c.iterations} × ${c.samples} |`,
    );
  }
  return lines.join("\n");
}

export function bundleTable(results: BenchResults): string {
  const b = results.bundles;
  const lines = ["| bundle | raw | gzip (wrangler) | gzip (zlib -6) |", "|---|---:|---:|---:|"];
  for (const [label, bundle] of [
    ["identity-edge, as wrangler.toml deploys it (minified)", b.edge],
    ["Hono proxy", b.hono],
    ["passthrough", b.passthrough],
  ] as const) {
    const wrangler = /gzip:\s*([\d.]+ KiB)/.exec(bundle.size.wranglerLine)?.[1] ?? "–";
    lines.push(`| ${label} | ${kib(bundle.size.rawBytes)} | ${wrangler} | ${kib(bundle.size.gzipBytes)} |`);
  }
  return lines.join("\n");
}

export interface BarStatus {
  bar: string;
  measured: string;
  status:
    | "met"
    | "missed"
    | "not measured"
    | "met on Miniflare, missed on workerd serve"
    | "missed on Miniflare, met on workerd serve";
}

/** The bar's status on Miniflare (the design's runtime) and, where measured, on the workerd serve cross-check. */
function status(ok: boolean | undefined, rawOk?: boolean): BarStatus["status"] {
  if (ok === undefined) return "not measured";
  if (rawOk === undefined || rawOk === ok) return ok ? "met" : "missed";
  return ok ? "met on Miniflare, missed on workerd serve" : "missed on Miniflare, met on workerd serve";
}

export function evaluateBars(results: BenchResults): BarStatus[] {
  const pt = row(results, "pt_retrieve");
  const ptCreate = row(results, "pt_create");
  const pt0 = row(results, "pt_list0");
  const retrieve = row(results, "edge_retrieve");
  const create = row(results, "edge_create");
  const hit = row(results, "edge_list_hit");
  const miss = row(results, "edge_list_miss");
  const createCpu = cpu(results, "create");
  const bars: BarStatus[] = [];
  const both = <T>(a: T | undefined, b: T | undefined): [T, T] | undefined => (a && b ? [a, b] : undefined);

  const rawRetrieve = both(row(results, "raw_edge_retrieve"), row(results, "raw_pt_retrieve"));
  const rawCreate = both(row(results, "raw_edge_create"), row(results, "raw_pt_create"));
  const cpuAdded = (pair: [RowResult, RowResult]) => {
    const d = pair[0].cpuMs - pair[1].cpuMs;
    return `${d >= 0 ? "+" : ""}${us(d)} µs workerd CPU/req`;
  };
  const r1 = both(retrieve, pt);
  bars.push({
    bar: "retrieve throughput ≥ 0.9× passthrough",
    measured: r1
      ? `${ratio(r1[0].rps / r1[1].rps)} (${int(r1[0].rps)} vs ${int(r1[1].rps)} req/s; ${cpuAdded(r1)})${
          rawRetrieve ? `; workerd serve: ${ratio(rawRetrieve[0].rps / rawRetrieve[1].rps)} (${cpuAdded(rawRetrieve)})` : ""
        }`
      : "–",
    status: status(
      r1 ? r1[0].rps >= 0.9 * r1[1].rps : undefined,
      rawRetrieve ? rawRetrieve[0].rps >= 0.9 * rawRetrieve[1].rps : undefined,
    ),
  });
  const c1 = both(create, ptCreate);
  const signedMs = (v: number) => `${v >= 0 ? "+" : ""}${ms(v)} ms`;
  const addedMs = (pair: [RowResult, RowResult]) => pair[0].p99Ms1 - pair[1].p99Ms1;
  const p99Bar = (op: string, pair: [RowResult, RowResult] | undefined, raw: [RowResult, RowResult] | undefined): BarStatus => ({
    bar: `p99 added at one connection < 2 ms: ${op}`,
    measured: pair
      ? `${signedMs(addedMs(pair))} (${ms(pair[0].p99Ms1)} vs ${ms(pair[1].p99Ms1)}; identity-edge by round: ${pair[0].runs
          .filter((r) => r.connections === 1)
          .map((r) => ms(r.load.p99Ms))
          .join(", ")})${raw ? `; workerd serve: ${signedMs(addedMs(raw))}` : ""}`
      : "–",
    status: status(pair ? addedMs(pair) < 2 : undefined, raw ? addedMs(raw) < 2 : undefined),
  });
  bars.push(p99Bar("retrieve", r1, rawRetrieve));
  bars.push(p99Bar("create", c1, rawCreate));
  const h0 = both(hit, pt0);
  const rawHit = both(row(results, "raw_edge_list_hit"), row(results, "raw_pt_list0"));
  bars.push({
    bar: "list HIT ≥ 0.9× passthrough (zero-latency upstream)",
    measured: h0
      ? `${ratio(h0[0].rps / h0[1].rps)} (${int(h0[0].rps)} vs ${int(h0[1].rps)} req/s; ${cpuAdded(h0)})${
          rawHit ? `; workerd serve: ${ratio(rawHit[0].rps / rawHit[1].rps)} (${cpuAdded(rawHit)})` : ""
        }`
      : "–",
    status: status(h0 ? h0[0].rps >= 0.9 * h0[1].rps : undefined, rawHit ? rawHit[0].rps >= 0.9 * rawHit[1].rps : undefined),
  });
  const hm = both(hit, miss);
  const rawHm = both(row(results, "raw_edge_list_hit"), row(results, "raw_edge_list_miss"));
  bars.push({
    bar: `list HIT ≥ 3× MISS (${LIST_DELAY_MS} ms upstream)`,
    measured: hm
      ? `${ratio(hm[0].rps / hm[1].rps)} (${int(hm[0].rps)} vs ${int(hm[1].rps)} req/s)${rawHm ? `; workerd serve: ${ratio(rawHm[0].rps / rawHm[1].rps)}` : ""}`
      : "–",
    status: status(hm ? hm[0].rps >= 3 * hm[1].rps : undefined),
  });
  const hitRows = results.rows.filter((r) => r.expectCache === "HIT");
  const hitRequests = hitRows.reduce((a, r) => a + r.requests, 0);
  const hitUpstream = hitRows.reduce((a, r) => a + r.upstreamLists, 0);
  const hitShare = hitRequests > 0 ? hitUpstream / hitRequests : Number.NaN;
  bars.push({
    bar: "HITs reach upstream for ≤ 1% of requests",
    measured: hitRows.length > 0 ? `${(hitShare * 100).toFixed(3)}% (${hitUpstream} of ${int(hitRequests)}, both runtimes)` : "–",
    status: status(hitRows.length > 0 ? hitShare <= 0.01 : undefined),
  });
  bars.push({
    bar: "edge CPU per create (parse, policy, encode, log) < 0.3 ms median",
    measured: createCpu
      ? `${ms(createCpu.medianMs)} ms (whole request path: ${ms(cpu(results, "create_full")?.medianMs ?? Number.NaN)} ms)`
      : "–",
    status: status(createCpu ? createCpu.medianMs < 0.3 : undefined),
  });
  const gzip = parseWranglerGzip(results.bundles.edge.size.wranglerLine) ?? results.bundles.edge.size.gzipBytes;
  bars.push({
    bar: "bundle < 64 KiB gzip",
    measured: `${kib(gzip)} as wrangler.toml deploys it (\`minify = true\`)`,
    status: status(gzip < 64 * KIB),
  });
  return bars;
}

function parseWranglerGzip(line: string): number | undefined {
  const m = /gzip:\s*([\d.]+) KiB/.exec(line);
  return m?.[1] ? Number(m[1]) * KIB : undefined;
}

/** Issue 18's targets: added workerd CPU per request over the passthrough, on the workerd serve rows of the same run. */
const CPU_TARGETS: readonly { label: string; row: string; reference: string; maxAddedUs: number }[] = [
  { label: "retrieve (server key)", row: "raw_edge_retrieve", reference: "raw_pt_retrieve", maxAddedUs: 80 },
  { label: "create (policy, form)", row: "raw_edge_create", reference: "raw_pt_create", maxAddedUs: 150 },
  { label: "list HIT", row: "raw_edge_list_hit", reference: "raw_pt_list0", maxAddedUs: 25 },
  { label: "list MISS (in-memory KV)", row: "raw_edge_list_miss", reference: "raw_pt_list", maxAddedUs: 500 },
  {
    label: "browser retrieve (JWT + ownership)",
    row: "raw_edge_browser_retrieve",
    reference: "raw_pt_retrieve",
    maxAddedUs: 200,
  },
];
const BUNDLE_TARGET_KIB = 48;

export interface TargetStatus {
  target: string;
  measured: string;
  status: "met" | "missed" | "not measured" | "measured";
}

export function evaluateTargets(results: BenchResults): TargetStatus[] {
  const targets: TargetStatus[] = [];
  const addedUs = (id: string, reference: string): number | undefined => {
    const r = row(results, id);
    const ref = row(results, reference);
    const d = r && ref ? (r.cpuMs - ref.cpuMs) * 1000 : Number.NaN;
    return Number.isFinite(d) ? d : undefined;
  };
  const signedUs = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)} µs`;
  const hono = addedUs("raw_hono_retrieve", "raw_pt_retrieve");
  const honoLine = addedUs("raw_hono_log_retrieve", "raw_pt_retrieve");
  for (const t of CPU_TARGETS) {
    const d = addedUs(t.row, t.reference);
    const honoNote =
      t.reference === "raw_pt_retrieve" && hono !== undefined
        ? `; Hono proxy · retrieve: ${signedUs(hono)}${honoLine !== undefined ? `, with one access line: ${signedUs(honoLine)}` : ""}`
        : "";
    targets.push({
      target: `${t.label}: ≤ +${t.maxAddedUs} µs`,
      measured:
        d === undefined
          ? "–"
          : `${signedUs(d)} (${us(row(results, t.row)?.cpuMs ?? Number.NaN)} vs ${us(row(results, t.reference)?.cpuMs ?? Number.NaN)} µs)${honoNote}`,
      status: d === undefined ? "not measured" : d <= t.maxAddedUs ? "met" : "missed",
    });
  }
  const gzip = parseWranglerGzip(results.bundles.edge.size.wranglerLine) ?? results.bundles.edge.size.gzipBytes;
  targets.push({
    target: `bundle, gzip, as deployed: ≤ ${BUNDLE_TARGET_KIB} KiB`,
    measured: kib(gzip),
    status: gzip <= BUNDLE_TARGET_KIB * KIB ? "met" : "missed",
  });
  const startup = results.startup;
  const edge = startup?.workers.find((w) => w.worker === "raw_edge");
  const others = (startup?.workers ?? []).filter((w) => w.worker !== "raw_edge");
  targets.push({
    target: "Worker startup (script evaluation): measured, beside the passthrough's and Hono's",
    measured: edge
      ? `identity-edge ${ms(edge.scriptEvalMs)} ms (${others.map((w) => `${STARTUP_LABELS[w.worker]} ${ms(w.scriptEvalMs)} ms`).join(", ")}); see Worker startup`
      : "–",
    status: edge ? "measured" : "not measured",
  });
  return targets;
}

export function targetsTable(results: BenchResults): string {
  const lines = [
    "| target (workerd serve, added workerd CPU per request over the passthrough) | measured | status |",
    "|---|---|---|",
  ];
  for (const t of evaluateTargets(results)) lines.push(`| ${t.target} | ${t.measured} | **${t.status}** |`);
  return lines.join("\n");
}

const STARTUP_LABELS: Record<StartupWorker, string> = {
  raw_passthrough: "passthrough",
  raw_hono: "Hono proxy",
  raw_edge: "identity-edge",
};

export function startupTable(results: BenchResults): string {
  const startup = results.startup;
  if (!startup) return "Not measured in this run.";
  const hono = startup.workers.find((w) => w.worker === "raw_hono");
  const bundleOf: Record<StartupWorker, Bundle> = {
    raw_passthrough: results.bundles.passthrough,
    raw_hono: results.bundles.hono,
    raw_edge: results.bundles.edge,
  };
  const lines = [
    "| Worker | bundle gzip | script evaluation ms | first request's extra ms | cold start adds ms | × Hono (evaluation, cold start) | warm request ms | samples |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of startup.workers) {
    // The passthrough's script is within the noise of nothing: no ratio to or from it.
    const x =
      hono && w.worker === "raw_edge"
        ? `${ratio(w.scriptEvalMs / hono.scriptEvalMs)}, ${ratio(w.coldStartMs / hono.coldStartMs)}`
        : "–";
    lines.push(
      `| ${STARTUP_LABELS[w.worker]} | ${kib(bundleOf[w.worker].size.gzipBytes)} | ${ms(w.scriptEvalMs)} | ${ms(w.firstRequestExtraMs)} | ${ms(w.coldStartMs)} | ${x} | ${ms(w.warmRequestCpuMs)} | ${w.evalSamples} / ${w.firstRequestSamples} |`,
    );
  }
  const e = startup.empty;
  lines.push(
    "",
    `Subtracted (the empty Worker): a fresh isolate ${ms(e.loadCpuMs)} ms; workerd's first request ${ms(e.firstRequestCpuMs)} ms, a warm one ${ms(e.warmRequestCpuMs)} ms. workerd CPU time, medians over rounds; samples: evaluation / first request.`,
  );
  return lines.join("\n");
}

export function barsTable(results: BenchResults): string {
  const lines = ["| bar | measured | status |", "|---|---|---|"];
  for (const b of evaluateBars(results)) lines.push(`| ${b.bar} | ${b.measured} | **${b.status}** |`);
  return lines.join("\n");
}

export function checksTable(results: BenchResults): string {
  // Rows whose Worker writes access lines at LOG_LEVEL=info.
  const edgeRows = results.rows.filter((r) => r.target === "edge" || r.target === "edge_mf_ratelimit" || r.target === "raw_edge");
  const edgeRequests = edgeRows.reduce((a, r) => a + r.requests, 0);
  const edgeLogged = edgeRows.reduce((a, r) => a + r.logLines, 0);
  const errors = results.rows.reduce((a, r) => a + r.errors, 0);
  const non2xx = results.rows.reduce((a, r) => a + r.non2xx, 0);
  const cacheRows = results.rows
    .filter((r) => r.expectCache)
    .map(
      (r) =>
        `${r.label.replace("identity-edge · ", "")}: ${int(r.expectedCache ?? 0)} of ${int(r.requests)} logged ${r.expectCache}`,
    );
  const lines = [
    "| check | result |",
    "|---|---|",
    `| connection errors / timeouts, all rows | ${errors} |`,
    `| non-2xx responses, all rows | ${non2xx} |`,
    `| identity-edge access-log lines per measured request | ${edgeRequests > 0 ? (edgeLogged / edgeRequests).toFixed(3) : "–"} (${int(edgeLogged)} lines, ${int(edgeRequests)} requests) |`,
    `| cache results | ${cacheRows.join("; ") || "–"} |`,
    `| bench secrets (proxy key, Stripe key, cache key, JWT secret, browser token) in workerd's output | ${results.runtimeOutput.secretHits} in ${int(results.runtimeOutput.lines)} lines |`,
  ];
  return lines.join("\n");
}

/** What `npm run bench` prints on stdout. */
export function renderSummary(results: BenchResults): string {
  return [
    `## identity-edge bench (${results.options.rounds} round(s) × ${results.options.duration} s per row and connection count; medians)`,
    "",
    mainTable(results),
    "",
    "### Edge CPU per request (in workerd)",
    "",
    cpuTable(results),
    "",
    "### Bundle",
    "",
    bundleTable(results),
    "",
    "### Worker startup (workerd CPU)",
    "",
    startupTable(results),
    "",
    "### Issue 18 targets",
    "",
    targetsTable(results),
    "",
    "### Bars",
    "",
    barsTable(results),
    "",
    "### Checks",
    "",
    checksTable(results),
    "",
  ].join("\n");
}

const DEFAULT_ANALYSIS = `${ANALYSIS_START}
## Analysis

(Write the profile of any missed bar here: what costs, how it was measured, what to fix.)
${ANALYSIS_END}`;

/** BENCHMARKS.md. */
export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const o = results.options;
  return `# Benchmarks

Generated by \`${results.command}\` on ${results.startedAt.slice(0, 10)} (${Math.round(results.seconds)} s). The numbers below
are from that run; rerun \`npm run bench -- --write\` to refresh them (the Analysis section is kept).

${renderSummary(results).replace(/^## .*\n/, "## Results\n")}
Rows: requests/s at ${o.connections} connections (throughput), p50/p99 latency at ${o.connections} connections, and the same at ONE
connection, where p99 is service time rather than queueing. Each value is the median over ${o.rounds} interleaved round(s)
of ${o.duration} s per row and connection count. "× passthrough" is the ratio of a row's throughput to the bare passthrough
doing the same upstream call (list HIT: to the passthrough's list against a zero-latency upstream, the design's
comparison); "p99 added @1" is the row's one-connection p99 minus that passthrough's.

${DEFAULT_ANALYSIS}

## Method

- **Runtime**: one workerd process started through Miniflare's API (\`new Miniflare({ workers: [...] })\`), every Worker on
  its own direct socket (\`unsafeDirectSockets\`, \`mf.unsafeGetDirectURL\`): requests reach the Worker with nothing in
  front, neither Miniflare's entry worker nor \`wrangler dev\`'s proxy (which costs over 1 ms a request).
  Compatibility date: wrangler.toml's \`${results.compatibilityDate.configured}\`${
    results.compatibilityDate.effective !== results.compatibilityDate.configured
      ? `, clamped to \`${results.compatibilityDate.effective}\`, the newest this workerd supports (wrangler dev falls back the same way)`
      : ""
  }; flags as in wrangler.toml.
- **Cross-check runtime** (\`workerd serve:\` rows, bench/raw-workerd.ts): a second workerd process started with a generated
  config, same binary, same bundles. Miniflare routes every subrequest of a Worker through its own outbound-interceptor
  Worker (one more isolate hop per \`fetch\`, which production does not have), and simulates KV and rate limiters with
  Workers of its own; under \`workerd serve\` a Worker's \`fetch\` goes straight to the network, and \`LIST_CACHE\` is a
  bounded in-memory Map in a Worker of its own, spoken to over workerd's KV-binding protocol (no disk, unlike
  Miniflare's SQLite-and-files simulator; no network, unlike production KV).
- **Bundles**: \`wrangler deploy --dry-run --outdir .bench/build/...\`. identity-edge exactly as wrangler.toml deploys it;
  the bench Workers (bench/workers/*.ts) from generated configs with the same date and flags.
- **Targets**: (1) \`bench/workers/passthrough.ts\`, fetch the upstream and return its response: the limit;
  (2) \`bench/workers/hono-proxy.ts\`, Hono + \`hono/proxy\` swapping in the Stripe key: what a user would otherwise write;
  on workerd serve also with \`ACCESS_LINE\` set, writing one JSON access line per request of identity-edge's size
  (the \`Hono proxy + one access line\` row: the naive proxy plus the line issue 18 says identity-edge owes);
  (3) identity-edge with the bench tenant (bench/tenant.ts): \`TENANTS\` as a JSON string with one server key (the
  SHA-256 of an obviously fake \`iek_bench_...\` key) and a browser block (host \`edge.bench.test\`, origin
  \`https://app.bench.test\`, HS256 JWTs with the fake secret in \`BENCH_JWT_SECRET\`, issuer and audience required),
  \`STRIPE_API_BASE\` = the bench upstream, \`STRIPE_KEY_BENCH\`,
  \`CACHE_ENCRYPTION_KEY\` (32 fake bytes), \`LIST_CACHE\` and \`TENANT_REGISTRY\` KV namespaces (Miniflare's local KV),
  \`LOG_LEVEL=info\`, and both rate-limiter names bound to an always-allow stand-in inside the isolate (a wrapped
  binding): the edge's limiter code runs, the binding's own cost does not. Miniflare's simulation of the Rate Limiting
  binding is a fetch to a Durable Object per call, which costs far more than production's local call; its cost is the
  \`profile: … Miniflare's rate-limiter simulator\` row. The other \`profile:\` row turns logging down
  (\`LOG_LEVEL=error\`: the access line is built but not written), to name the cost of writing it.
- **Logs**: identity-edge writes its JSON lines with \`console.log\` as in production. Miniflare's
  \`handleRuntimeStdio\` (and the pipes of \`workerd serve\`) are drained in the bench process, counting lines,
  access-log lines and \`cache\` results and searching for the bench secrets, and the text is discarded: the Worker pays
  for producing its logs, no terminal rendering is measured.
- **Upstream** (bench/upstream.ts): a Node \`http\` server on 127.0.0.1 in its own process, fixed Stripe-shaped JSON:
  a VerificationSession for retrieve and create (no latency), a 10-session list page after ${LIST_DELAY_MS} ms (a distant
  Stripe) unless a request asks for 0 ms (\`x-bench-upstream-delay-ms\`, used by the passthrough's zero-latency list row
  only). It counts what it serves, which gives the share of HITs that reached it.
- **Requests**: server caller (\`Authorization: Bearer iek_bench_...\`). create: a form body as stripe-node sends it
  (type, client_reference_id, metadata, two allowed document types, a return_url with a query), so the policy checks the
  document types, adds the two required \`require_*\` options and normalizes the return_url. list MISS: a new
  \`client_reference_id\` on every request, so each is a query never seen before: memory tier miss, KV read miss, upstream
  call, store (memory and an encrypted KV write in \`waitUntil\`): a true miss. \`Cache-Control: no-cache\` from a server
  key is measured separately as BYPASS (it skips the KV read but still refreshes the entry, so it is not a pure miss).
  list HIT: one fixed query, primed by one request before each run; the \`cache\` result of every logged line is
  counted (see Checks).
- **Browser retrieve** (\`… browser retrieve (JWT + ownership)\` rows): the retrieve the tenant's frontend makes from a
  signed-in user's browser: \`Host: edge.bench.test\` (the tenant's host, as the Worker sees it behind Cloudflare),
  \`Origin: https://app.bench.test\` (the listed frontend origin, so a CORS answer), \`Sec-Fetch-Site: same-site\`,
  \`Sec-Fetch-Mode: cors\`, and \`Authorization: Bearer <JWT>\`. The JWT (bench/browser-token.ts) is signed once per run
  with \`jose\` (HS256, the tenant's fake secret, its issuer and audience, \`sub\` = \`user_4242\`, valid 6 h, so it
  cannot expire mid-run). identity-edge verifies it, checks the origin, retrieves the session from the upstream and
  answers it only because its \`client_reference_id\` is the token's subject (the upstream's sessions all belong to
  \`user_4242\`), as the browser's view (allow-listed fields, with \`client_secret\` and \`url\` for the owner). Before
  warm-up the bench checks one answer is that view with status 200; a non-2xx answer in any measured run of any row
  stops the bench (a 401 or 404 is a cheaper path than the one the row names, so its numbers would lie).
- **Load**: autocannon ${m.autocannon} (programmatic API) in the bench process, ${o.connections} connections (and 1), ${o.duration} s per run,
  ${o.warmup} s unmeasured warm-up per row first; latencies are taken from every response at full precision (autocannon's
  own histogram keeps whole milliseconds). Rounds are interleaved: each round runs every row once, in an order rotated by
  one each round. **workerd CPU µs/req** is the CPU time the serving workerd process used during the run (Linux
  \`/proc/<pid>/task/*/schedstat\`, all threads, so the simulators and interceptor Miniflare runs in that process count
  too) divided by the requests served: unlike req/s it barely moves when other processes take the cores.
- **CPU per request** (bench/workers/edge-cpu.ts, bench/cpu.ts): a bench-only Worker imports identity-edge's functions
  from src/ and loops N times over one case; the bench compares requests of N iterations with requests of zero
  iterations, per-iteration = (C(N) − median C(0)) / N, where C is workerd's CPU time over the request (schedstat, as
  above; wall time shown too). N is sized for a ~${o.cpuBatchMs} ms batch, ${o.cpuSamples} batches after a ${int(o.cpuWarmup)}-iteration warm-up; the
  median is over batch means. Why not the Worker's own clock: workerd may freeze \`Date.now()\`/\`performance.now()\`
  while JavaScript runs (production does, against timing side channels); locally they advance in whole milliseconds,
  shown as "Worker's own clock" (it agrees with the other two over a whole batch). Why not \`vitest bench\`: under
  @cloudflare/vitest-plugin it runs, but tinybench times each call with \`performance.now()\`, so each sample is 0 or
  1 ms (checked: min 0, p75 0, p99 0, max 8 ms for a 10 µs function); only its mean over tens of thousands of samples
  carries information, and no percentile does.
- **Worker startup** (bench/startup.ts), workerd CPU time as above, on \`workerd serve\`, in two parts. *Script
  evaluation*: one workerd process runs a host Worker with a Worker Loader binding; each sample is one request that loads
  a Worker under a name never used before (so a new isolate) whose main module is \`import "./bundle.js"\` and a fetch
  handler answering at once: the bundle's top level (parse, compile, module-scope code) runs exactly once and its own
  handler never runs. The same request loading an empty module is subtracted, round by round, which leaves the
  bundle's evaluation without the isolate's creation or workerd's start. (Starting a new workerd process per sample
  and reading its CPU time when it listens measures the same thing, but workerd's own ~25 ms start varies by ±3 ms
  between processes on this machine, more than the passthrough's or the Hono proxy's whole script.) *The first
  request's extra*: V8 compiles functions lazily and identity-edge builds its per-isolate state on first use, so a
  fresh process per sample serves one server retrieve through to the upstream and then ten more; first − warm, minus the
  empty Worker's own first − warm, is the once-per-isolate work. Their sum is what a cold start adds to the request
  that meets it. Medians over ${results.startup ? `${results.startup.workers[0]?.evalSamples ?? 0} isolates and ${results.startup.workers[0]?.firstRequestSamples ?? 0} processes` : "the rounds"} per Worker, in rotated order.
- **Bundle size**: the raw size of the built \`index.js\`, wrangler's own "gzip" figure (what the Workers size limit is
  measured against) and zlib's at level 6.

## Machine

| | |
|---|---|
| nproc | ${m.nproc} |
| CPU | ${m.cpuModel} |
| Node | ${m.node} |
| workerd | ${m.workerd} |
| Miniflare | ${m.miniflare} |
| wrangler | ${m.wrangler} |
| autocannon | ${m.autocannon} |

Load generator, upstream and workerd share the ${m.nproc} cores: absolute numbers are this machine's, the ratios are what
the bars are about. 1-minute load average at the start of the run: ${results.loadAverage.start.toFixed(2)}, at the end:
${results.loadAverage.end.toFixed(2)} (anything above ~1.5 on this machine is other work sharing the cores: throughput and tail
latency then move between rounds; the workerd CPU per request column moves much less).

## Commands

\`\`\`sh
npm run bench -- --write           # tsx bench/run.ts: full run, writes BENCHMARKS.md (about 14 min)
npm run bench -- --json .bench/results.json   # the same, only the raw results (no report)
npm run bench -- --quick           # 1 round x 0.4 s per row, no report (the smoke test: test/tools/bench-smoke.test.ts)
npm run bench -- --only pt_retrieve,edge_retrieve --rounds 3                 # a few rows (no CPU cases, no startup)
npm run bench -- --only raw_pt_retrieve,raw_edge_browser_retrieve,startup     # a few rows and the Worker startup
npm run bench -- --render .bench/results.json                                # rewrite BENCHMARKS.md from results
npx tsx bench/profile.ts --seconds 6 edge_retrieve,cpu:create_full          # V8 CPU profile of a row's isolate
npm run bench:log-line                                                      # what one console.log access line costs workerd (string vs object)
npm run bench:compare -- --base main                                        # a build at a git ref against the working tree, rows interleaved
npx wrangler deploy --dry-run --outdir .bench/build/identity-edge            # the bundle, as deployed
\`\`\`

This run: \`${results.command}\`. Scratch output (bundles, generated configs, profiles) goes to \`.bench/\` (gitignored).
`;
}

/** Keeps the hand-written analysis block of the previous BENCHMARKS.md, if any. */
export function mergeAnalysis(report: string, previous: string | undefined): string {
  if (!previous) return report;
  const start = previous.indexOf(ANALYSIS_START);
  const end = previous.indexOf(ANALYSIS_END);
  if (start === -1 || end === -1 || end < start) return report;
  const kept = previous.slice(start, end + ANALYSIS_END.length);
  const s = report.indexOf(ANALYSIS_START);
  const e = report.indexOf(ANALYSIS_END);
  return `${report.slice(0, s)}${kept}${report.slice(e + ANALYSIS_END.length)}`;
}
