import { StubError } from "./errors.ts";

/**
 * Injected faults: what an unreliable network or a struggling Stripe does to a request. Each request
 * to the API (`/v1/…`) takes the first queued fault that matches it and uses up one of its `times`.
 *
 * - `latency`     wait `ms` (default 1000) before the operation runs; a POST's Idempotency-Key is held
 *                 "in flight" meanwhile, so a concurrent retry gets Stripe's 409.
 * - `status`      answer `status` (default 500) with Stripe's error body, without running the operation.
 *                 409 is Stripe's idempotency-key-in-use conflict, 429 its rate limit.
 * - `reset_before` drop the connection without running the operation.
 * - `reset_after`  run the operation (the session IS stored) and then drop the connection.
 * - `truncated`   run the operation, send the status and half the body, then drop the connection.
 * - `non_json`    answer an HTML error page (status default 502), as a load balancer in front would.
 * - `slow_body`   run the operation, send the headers at once and the body in pieces over `ms` (default 2000).
 * `should_retry` sets `Stripe-Should-Retry` on `status` answers.
 */
export const FAULT_KINDS = ["latency", "status", "reset_before", "reset_after", "truncated", "non_json", "slow_body"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  /** Which requests: method (case-insensitive) and path, exact or a prefix ending in `*`. Absent: any. */
  match?: { method?: string; path?: string };
  kind: FaultKind;
  status?: number;
  should_retry?: boolean;
  ms?: number;
  /** How many matching requests it applies to (default 1). */
  times?: number;
}

export interface PendingFault extends FaultSpec {
  remaining: number;
}

/**
 * What a dropped connection looks like in-process: fetch rejects with a TypeError. The Node server
 * recognizes it and destroys the socket instead.
 */
export class StubNetworkError extends TypeError {
  constructor(message: string) {
    super(`fetch failed (stub fault: ${message})`);
  }
}

const MAX_MS = 120_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates faults from the control API or a test; a bad entry is refused whole, with its index. */
export function parseFaults(value: unknown): FaultSpec[] {
  const list = isRecord(value) ? value.faults : value;
  if (!Array.isArray(list)) throw new StubError(400, 'Expected a JSON body {"faults": [...]}.');
  return list.map((raw, i): FaultSpec => {
    const bad = (why: string) => new StubError(400, `faults[${i}]: ${why}`);
    if (!isRecord(raw)) throw bad("must be an object");
    const kind = raw.kind;
    if (typeof kind !== "string" || !(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw bad(`kind must be one of ${FAULT_KINDS.join(", ")}`);
    }
    const spec: FaultSpec = { kind: kind as FaultKind };
    if (raw.match !== undefined) {
      if (!isRecord(raw.match)) throw bad("match must be an object");
      const { method, path } = raw.match;
      if (method !== undefined && typeof method !== "string") throw bad("match.method must be a string");
      if (path !== undefined && typeof path !== "string") throw bad("match.path must be a string");
      spec.match = {};
      if (method !== undefined) spec.match.method = method.toUpperCase();
      if (path !== undefined) spec.match.path = path;
    }
    if (raw.status !== undefined) {
      if (!Number.isInteger(raw.status) || (raw.status as number) < 400 || (raw.status as number) > 599) {
        throw bad("status must be an integer 400-599");
      }
      spec.status = raw.status as number;
    }
    if (raw.should_retry !== undefined) {
      if (typeof raw.should_retry !== "boolean") throw bad("should_retry must be a boolean");
      spec.should_retry = raw.should_retry;
    }
    if (raw.ms !== undefined) {
      if (!Number.isInteger(raw.ms) || (raw.ms as number) < 0 || (raw.ms as number) > MAX_MS) throw bad(`ms must be 0-${MAX_MS}`);
      spec.ms = raw.ms as number;
    }
    if (raw.times !== undefined) {
      if (!Number.isInteger(raw.times) || (raw.times as number) < 1) throw bad("times must be a positive integer");
      spec.times = raw.times as number;
    }
    return spec;
  });
}

function matches(spec: FaultSpec, method: string, path: string): boolean {
  const m = spec.match;
  if (!m) return true;
  if (m.method !== undefined && m.method !== method.toUpperCase()) return false;
  if (m.path !== undefined) {
    if (m.path.endsWith("*") ? !path.startsWith(m.path.slice(0, -1)) : m.path !== path) return false;
  }
  return true;
}

export class FaultQueue {
  private pending: PendingFault[] = [];

  add(specs: readonly FaultSpec[]): void {
    for (const spec of specs) this.pending.push({ ...spec, remaining: spec.times ?? 1 });
  }

  /** The fault this request gets, if any; uses up one of its times. */
  take(method: string, path: string): PendingFault | undefined {
    const index = this.pending.findIndex((f) => matches(f, method, path));
    if (index === -1) return undefined;
    const fault = this.pending[index] as PendingFault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.pending.splice(index, 1);
    return fault;
  }

  list(): PendingFault[] {
    return this.pending.map((f) => ({ ...f }));
  }

  clear(): void {
    this.pending = [];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const STATUS_ERRORS: Record<number, (idempotencyKey: string | null) => StubError> = {
  409: (key) =>
    new StubError(
      409,
      `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): '${key ?? ""}'. Please try again later.`,
      { type: "idempotency_error", code: "idempotency_key_in_use" },
    ),
  429: () =>
    new StubError(
      429,
      "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
      { code: "rate_limit" },
    ),
};

/** The Stripe error a `status` fault answers with. */
export function statusFaultError(fault: PendingFault, idempotencyKey: string | null): StubError {
  const status = fault.status ?? 500;
  const err =
    STATUS_ERRORS[status]?.(idempotencyKey) ??
    new StubError(
      status,
      status >= 500
        ? "An unknown error occurred. Please try again later or contact support at https://support.stripe.com/."
        : "The request could not be processed (stub fault).",
    );
  const retry = fault.should_retry ?? (status === 409 ? true : undefined);
  if (retry !== undefined) err.headers["Stripe-Should-Retry"] = String(retry);
  return err;
}

/** The page a load balancer answers with when Stripe is unreachable: HTML, no Stripe headers. */
export function nonJsonResponse(fault: PendingFault): Response {
  const status = fault.status ?? 502;
  const title = `${status} ${status === 502 ? "Bad Gateway" : status === 503 ? "Service Unavailable" : "Error"}`;
  return new Response(
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
    {
      status,
      headers: { "Content-Type": "text/html" },
    },
  );
}

/**
 * Body faults rebuild the response around a stream. The Node server needs the length the full body
 * would have had (to announce it, then fall short); it reads it from here rather than from a header.
 */
const streamedLength = new WeakMap<Response, number>();

export function announcedLength(response: Response): number | undefined {
  return streamedLength.get(response);
}

/** `truncated`: half the body, then the connection drops (reading the body rejects with a TypeError). */
export async function truncateBody(response: Response): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const cut = Math.floor(bytes.length / 2);
  let sent = false;
  // pull(), not start(): erroring in start() would discard the chunk before anyone reads it.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytes.slice(0, cut));
      } else {
        controller.error(new StubNetworkError("connection closed mid-body"));
      }
    },
  });
  const out = new Response(body, { status: response.status, headers: response.headers });
  streamedLength.set(out, bytes.length);
  return out;
}

/** `slow_body`: the whole body, in up to ten pieces spread over `ms`. */
export async function slowBody(response: Response, ms: number): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const pieces = Math.max(1, Math.min(10, bytes.length));
  const size = Math.ceil(bytes.length / pieces);
  let index = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index > 0) await sleep(ms / pieces);
      controller.enqueue(bytes.slice(index * size, (index + 1) * size));
      index += 1;
      if (index * size >= bytes.length) controller.close();
    },
  });
  const out = new Response(body, { status: response.status, headers: response.headers });
  streamedLength.set(out, bytes.length);
  return out;
}
