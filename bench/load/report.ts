/**
 * The load test's report: what was measured, the reliability bars it is judged by (RELIABILITY.md),
 * and the text `npm run load` prints.
 */

export interface Profile {
  connections: number;
  maxRequests: number;
  maxSeconds: number;
  faults: number;
  serverKeys: number;
}

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
    /** Client creates the load tagged (metadata[load]) that made a session. */
    clientCreates: number;
  };
  status500: number;
  unexpected5xx: number;
  secrets: {
    checked: number;
    outputLines: number;
    leaks: number;
    checkSeconds: number;
    /** The first few findings, each naming the secret by its first four characters only. */
    leakSamples: string[];
  };
  /** What wrangler itself saw: exceptions that escaped the Worker, and the 500s it answered (in flight at the stop too). */
  wrangler: { uncaught: number; answered500: number; uncaughtSamples: string[] };
  /** The list cache as the access log tells it; `joined`: MISSes answered by another request's upstream call. */
  listCache: { byResult: Record<string, number>; joined: number };
  /** Requests of the tenant served from the KV registry, by status (from the access log). */
  registryTenant: { id: string; keys: number; byStatus: Record<string, number> };
  bars: { name: string; ok: boolean; detail: string }[];
  ok: boolean;
}

export interface Bar {
  name: string;
  ok: boolean;
  detail: string;
}

/** The reliability bars (RELIABILITY.md), judged from the report alone. */
export function judge(r: Omit<LoadReport, "bars" | "ok">): Bar[] {
  const bars: Bar[] = [];
  const bar = (name: string, ok: boolean, detail: string) => bars.push({ name, ok, detail });
  const { upstream: up, duplicates: dup } = r;
  bar(
    "no duplicate create",
    dup.extraSessions === 0 &&
      dup.clientRequestsWithMoreThanOneSession === 0 &&
      dup.createsWithoutKey === 0 &&
      up.createdEvents === up.sessionsCreated,
    `${dup.extraSessions} extra sessions over ${up.createKeys} idempotency keys; ${dup.clientRequestsWithMoreThanOneSession} of ${dup.clientCreates} client creates with >1 session; ${dup.createsWithoutKey} creates without a key; ${up.createdEvents} created events for ${up.sessionsCreated} sessions`,
  );
  bar(
    "sessions created ≤ distinct create keys",
    up.sessionsCreated <= up.createKeys,
    `${up.sessionsCreated} sessions, ${up.createKeys} keys`,
  );
  bar("no 500", r.status500 === 0, `${r.status500} answers with status 500`);
  bar("no 5xx but the gateway's 502/504", r.unexpected5xx === 0, `${r.unexpected5xx} other 5xx`);
  bar("every answer is complete JSON", r.unparsable === 0, `${r.unparsable} answers that are not JSON`);
  bar("every answer has a Request-Id", r.missingRequestId === 0, `${r.missingRequestId} without`);
  bar(
    "no dropped connection or timeout",
    r.requests.errors === 0 && r.requests.timeouts === 0,
    `${r.requests.errors} errors, ${r.requests.timeouts} timeouts`,
  );
  bar(
    "no exception escaped the Worker",
    r.wrangler.uncaught === 0 && r.wrangler.answered500 === 0,
    `${r.wrangler.uncaught} uncaught exceptions, ${r.wrangler.answered500} 500s in wrangler's log${r.wrangler.uncaughtSamples.map((l) => `; ${l}`).join("")}`,
  );
  bar(
    "no secret in wrangler's output",
    r.secrets.leaks === 0,
    r.secrets.leaks === 0 ? `${r.secrets.checked} secrets checked` : r.secrets.leakSamples.join("; "),
  );
  bar(
    "the faults were exercised",
    r.faults.used > 0 && up.retried > 0,
    `${r.faults.used}/${r.faults.queued} faults used, ${up.retried} requests retried upstream`,
  );
  // A floor that tells a load generator that did run from one that did not, not a throughput bar (a busy
  // shared machine halves the quick run's count): 250 of --quick's 2,000, 500 in a full run.
  bar(
    "the load was real",
    r.requests.completed >= Math.min(500, r.profile.maxRequests / 8),
    `${r.requests.completed} requests completed`,
  );
  const registryServed = r.registryTenant.byStatus["200"] ?? 0;
  bar(
    "the KV registry tenant was served",
    registryServed > 0 && (r.registryTenant.byStatus["401"] ?? 0) === 0,
    `${registryServed} answers 200, ${r.registryTenant.byStatus["401"] ?? 0} refused as unauthenticated`,
  );
  return bars;
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
