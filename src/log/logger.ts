import { scrubString } from "./scrub.ts";

/**
 * Structured JSON logs, fail closed: a line carries only the fields declared here, and every string in
 * it passes the value scrubber. Nothing else (bodies, headers, params) can reach a log line.
 */
export interface AccessLogFields {
  request_id: string;
  stripe_request_id?: string;
  tenant?: string;
  role?: "server" | "browser" | "webhook" | "public";
  operation?: string;
  method: string;
  /** The route template (`/v1/identity/verification_sessions/{id}`), never the raw path. */
  route?: string;
  status: number;
  upstream_status?: number;
  duration_ms: number;
  upstream_ms?: number;
  retries?: number;
  cache?: "HIT" | "MISS" | "STALE" | "BYPASS";
  policy?: string;
  error_code?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields a warning or error line may carry, besides its event name. */
export interface EventFields {
  request_id?: string;
  tenant?: string;
  /** A binding *name* (never its value), e.g. the missing secret of a misconfigured tenant. */
  binding?: string;
  error_name?: string;
  error_message?: string;
  stack?: string;
  detail?: string;
}

const ACCESS_KEYS: readonly (keyof AccessLogFields)[] = [
  "request_id",
  "stripe_request_id",
  "tenant",
  "role",
  "operation",
  "method",
  "route",
  "status",
  "upstream_status",
  "duration_ms",
  "upstream_ms",
  "retries",
  "cache",
  "policy",
  "error_code",
];
const EVENT_KEYS: readonly (keyof EventFields)[] = ["request_id", "tenant", "binding", "error_name", "error_message", "stack", "detail"];

export interface Logger {
  access(fields: AccessLogFields): void;
  warn(event: string, fields?: EventFields): void;
  error(event: string, fields?: EventFields): void;
  debug(event: string, fields?: EventFields): void;
}

export type LogSink = (line: string) => void;

function pick(source: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = (source as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value === "string") out[key] = scrubString(value);
    else if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

/** Parses `LOG_LEVEL`; anything unknown means `info`. */
export function parseLogLevel(value: unknown): LogLevel {
  return value === "debug" || value === "info" || value === "warn" || value === "error" ? value : "info";
}

/** A logger that writes one JSON line per call to `sink` (console.log in the Worker). */
export function createLogger(level: LogLevel, sink: LogSink, now: () => number = Date.now): Logger {
  const min = LEVELS[level];
  const write = (lvl: LogLevel, base: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    sink(JSON.stringify({ level: lvl, time: new Date(now()).toISOString(), ...base }));
  };
  const event = (lvl: LogLevel) => (name: string, fields: EventFields = {}) =>
    write(lvl, { event: scrubString(name), ...pick(fields, EVENT_KEYS) });
  return {
    access: (fields) => write("info", { event: "request", ...pick(fields, ACCESS_KEYS) }),
    warn: event("warn"),
    error: event("error"),
    debug: event("debug"),
  };
}

/** Turns an unknown thrown value into scrubbed log fields (the stack is trimmed to a few frames). */
export function errorFields(err: unknown): Pick<EventFields, "error_name" | "error_message" | "stack"> {
  if (err instanceof Error) {
    return {
      error_name: err.name,
      error_message: err.message,
      ...(err.stack ? { stack: err.stack.split("\n").slice(0, 8).join("\n") } : {}),
    };
  }
  return { error_name: typeof err };
}
