import type { StripeStub } from "../../dev/stub/app.ts";
import { describeLeak, findSecretLeaks } from "../secret-leaks.ts";
import { SESSIONS } from "./mix.ts";
import type { LoadReport } from "./report.ts";

/** What the load test reads after the run: the Stripe stub's record of it, and wrangler's captured output. */

type UpstreamView = Pick<LoadReport, "upstream"> & {
  duplicates: Omit<LoadReport["duplicates"], "callerKeyRepeats">;
  faults: { remaining: number; byKind: Record<string, number> };
};

/** The stub's view: the proxy's create attempts and their keys, the sessions made, the faults used, retries. */
export function readStub(app: StripeStub): UpstreamView {
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
  const faultKinds: Record<string, number> = {};
  for (const r of app.requests) if (r.fault) faultKinds[r.fault] = (faultKinds[r.fault] ?? 0) + 1;
  // Requests of the same method, path and Idempotency-Key seen more than once upstream: the proxy's retries.
  const attemptsByKey = new Map<string, number>();
  for (const r of app.requests) {
    if (r.headers.idempotencyKey === null) continue;
    const key = `${r.method} ${r.path} ${r.headers.idempotencyKey}`;
    attemptsByKey.set(key, (attemptsByKey.get(key) ?? 0) + 1);
  }
  return {
    upstream: {
      requests: app.requests.length,
      createAttempts: creates.length,
      createKeys: createKeys.size,
      sessionsCreated: app.countCreates(),
      createdEvents: createdEvents.length,
      retried: [...attemptsByKey.values()].filter((n) => n > 1).length,
    },
    duplicates: {
      keysWithMoreThanOneSession,
      extraSessions,
      clientRequestsWithMoreThanOneSession: [...perTag.values()].filter((n) => n > 1).length,
      clientCreates: perTag.size,
      createsWithoutKey: perKey.get(null) ?? 0,
    },
    faults: { remaining: app.pendingFaults().reduce((a, f) => a + f.remaining, 0), byKind: faultKinds },
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

/** Wrangler colours its error lines. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** wrangler's view and the Worker's access log: escaped exceptions, 500s served, list cache results, a tenant's statuses. */
export function readOutput(
  output: string,
  tenantId: string,
): Pick<LoadReport, "wrangler" | "listCache"> & { tenantByStatus: Record<string, number> } {
  const access = accessLines(output);
  const uncaughtLines = output
    .split("\n")
    .filter((l) => /Uncaught/.test(l))
    .map((l) => l.replace(ANSI_COLOUR, ""));
  // Cache results of the server list requests. A MISS without `upstream_ms` joined another request's
  // upstream call (the list cache's single flight), the path that once answered 500s under this load.
  const byResult: Record<string, number> = {};
  let joined = 0;
  for (const record of access) {
    if (typeof record.cache !== "string") continue;
    byResult[record.cache] = (byResult[record.cache] ?? 0) + 1;
    if (record.cache === "MISS" && record.upstream_ms === undefined) joined++;
  }
  const tenantByStatus: Record<string, number> = {};
  for (const r of access)
    if (r.tenant === tenantId) tenantByStatus[String(r.status)] = (tenantByStatus[String(r.status)] ?? 0) + 1;
  return {
    wrangler: {
      uncaught: uncaughtLines.length,
      // wrangler logs every 500 it served; Stripe's own final 500s (passed through, by design) are not
      // the Worker's failures, so those the access log shows as Stripe's are taken out.
      answered500: Math.max(
        0,
        (output.match(/\[wrangler:info\] [A-Z]+ \S+ 500 /g) ?? []).length -
          access.filter((l) => l.status === 500 && l.upstream_status === 500).length,
      ),
      uncaughtSamples: [...new Set(uncaughtLines.map((l) => l.slice(0, 240)))].slice(0, 3),
    },
    listCache: { byResult, joined },
    tenantByStatus,
  };
}

/** Every secret in every encoded form (`plainOnly`: as written only) in the output. */
export function checkSecrets(output: string, secrets: readonly string[], plainOnly: readonly string[]): LoadReport["secrets"] {
  const started = Date.now();
  const all = [...secrets, ...plainOnly];
  const leaks = [
    ...findSecretLeaks(output, secrets),
    ...plainOnly.flatMap((s, i) =>
      output.includes(s) ? [{ secretIndex: secrets.length + i, form: "in full", line: 0, excerpt: "" }] : [],
    ),
  ];
  return {
    checked: all.length,
    outputLines: output.split("\n").length,
    leaks: leaks.length,
    checkSeconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    leakSamples: leaks.slice(0, 5).map((l) => describeLeak(l, all)),
  };
}
