import type { FaultSpec } from "../../dev/stub/faults.ts";
import { SESSIONS } from "./mix.ts";

/**
 * The load test's fault plan: a few hundred upstream faults queued in the Stripe stub in batches
 * during the run, so they land all along it and not only at the start.
 */

const BATCHES = 8;

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

async function postFaults(stubUrl: string, faults: FaultSpec[]): Promise<void> {
  const res = await fetch(`${stubUrl}/_stub/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ faults }),
  });
  if (!res.ok) throw new Error(`the stub refused the faults: ${res.status} ${await res.text()}`);
}

export interface FaultPlan {
  /** Faults queued so far. */
  queued(): number;
  /** Queues no more. */
  stop(): void;
}

/** Queues the first batch now and the rest of `total` faults every `seconds / (BATCHES + 1)`. */
export async function startFaultPlan(
  stubUrl: string,
  total: number,
  seconds: number,
  log: (line: string) => void,
): Promise<FaultPlan> {
  const perBatch = Math.ceil(total / BATCHES);
  let queued = 0;
  const queue = (n: number): Promise<void> => {
    queued += n;
    return postFaults(stubUrl, faultBatch(n));
  };
  const timer = setInterval(
    () => {
      if (queued >= total) return;
      queue(Math.min(perBatch, total - queued)).catch((err: unknown) => log(`fault injection failed: ${String(err)}`));
    },
    Math.max(250, (seconds * 1000) / (BATCHES + 1)),
  );
  try {
    await queue(perBatch);
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  return { queued: () => queued, stop: () => clearInterval(timer) };
}
