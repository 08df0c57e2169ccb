import { isProxyRequestId } from "../http/request-id.ts";
import { scrubString } from "./scrub.ts";

/**
 * Structured JSON logs, fail closed. A line carries only the fields declared below, each checked
 * against its rule when it is written (not just typed): unknown keys are dropped even from an object
 * cast to these types, non-finite numbers and values of the wrong type are dropped, enums accept only
 * their values, objects and arrays are never logged, and every string passes the value scrubber
 * (scrub.ts) and a length cap. Nothing else (bodies, headers, params) can reach a log line.
 * docs/logging.md lists the fields and how to query them.
 */

export const ROLES = ["server", "browser", "webhook", "public"] as const;
export const CACHE_RESULTS = ["HIT", "MISS", "STALE", "BYPASS"] as const;

/** The one access-log line per request (`"event":"request"`). */
export interface AccessLogFields {
  /** The proxy's own request id (`req_edge_…`). */
  request_id: string;
  /** Stripe's `Request-Id` of the (last) upstream answer; the response carries it when present. */
  stripe_request_id?: string;
  tenant?: string;
  role?: (typeof ROLES)[number];
  operation?: string;
  method: string;
  /** The route template (`/v1/identity/verification_sessions/{id}`), never the raw path or query. */
  route?: string;
  status: number;
  upstream_status?: number;
  duration_ms: number;
  upstream_ms?: number;
  retries?: number;
  cache?: (typeof CACHE_RESULTS)[number];
  /** The policy decision: `allowed`, what it changed (`injected:allowed_types,…`) or `refused:<rule>`. */
  policy?: string;
  error_code?: string;
}

/** Fields a warning, error or debug line may carry, besides its event name. */
export interface EventFields {
  request_id?: string;
  tenant?: string;
  /** A binding *name* (never its value), e.g. the missing secret of a misconfigured tenant. */
  binding?: string;
  error_name?: string;
  error_message?: string;
  stack?: string;
  detail?: string;
  /** Event relay (src/events): the Stripe event id and type, never the event's content. */
  event_id?: string;
  event_type?: string;
  /** Event relay: the receiver's HTTP status (0: no answer), the attempt number, its duration. */
  status?: number;
  attempt?: number;
  duration_ms?: number;
  /** Event relay: what became of the attempt (delivered, retry, dropped, dead_lettered, ...). */
  outcome?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A written line, as an object: only strings and finite numbers. */
export type LogRecord = Readonly<Record<string, string | number>>;

/**
 * Receives each line. The JSON text is what to print (`console.log(line)`); `record` is the same line
 * as an object, for sinks that log objects (Workers Logs indexes the fields of a logged object).
 */
export type LogSink = (line: string, record: LogRecord) => void;

export interface Logger {
  /** The access line: level `info`, or `error` when the status is 5xx. */
  access(fields: AccessLogFields): void;
  /** A routine event worth keeping (an event delivered to a tenant). */
  info(event: string, fields?: EventFields): void;
  warn(event: string, fields?: EventFields): void;
  error(event: string, fields?: EventFields): void;
  debug(event: string, fields?: EventFields): void;
}

type FieldRule =
  | { readonly kind: "string"; readonly max: number }
  /** The proxy's own request id: taken as it is when it has the shape the proxy makes, else scrubbed as a string. */
  | { readonly kind: "request_id" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "integer" }
  | { readonly kind: "number" };

/** Ids, names and codes: short. */
const SHORT_MAX = 200;
const SHORT: FieldRule = { kind: "string", max: SHORT_MAX };
const TEXT: FieldRule = { kind: "string", max: 2048 };
const INTEGER: FieldRule = { kind: "integer" };
const NUMBER: FieldRule = { kind: "number" };

// `satisfies` makes a field added to an interface without a rule here (or a rule for a field the
// interface does not declare) a compile error.
const ACCESS_RULES = {
  request_id: { kind: "request_id" },
  stripe_request_id: SHORT,
  tenant: SHORT,
  role: { kind: "enum", values: ROLES },
  operation: SHORT,
  method: { kind: "string", max: 16 },
  route: { kind: "string", max: 256 },
  status: INTEGER,
  upstream_status: INTEGER,
  duration_ms: NUMBER,
  upstream_ms: NUMBER,
  retries: INTEGER,
  cache: { kind: "enum", values: CACHE_RESULTS },
  policy: { kind: "string", max: 512 },
  error_code: SHORT,
} as const satisfies Record<keyof AccessLogFields, FieldRule>;

const EVENT_RULES = {
  request_id: { kind: "request_id" },
  tenant: SHORT,
  binding: SHORT,
  error_name: SHORT,
  error_message: TEXT,
  stack: TEXT,
  detail: TEXT,
  event_id: SHORT,
  event_type: SHORT,
  status: INTEGER,
  attempt: INTEGER,
  duration_ms: NUMBER,
  outcome: SHORT,
} as const satisfies Record<keyof EventFields, FieldRule>;

/** Event names are code literals in snake_case; anything else is replaced, never logged. */
const EVENT_NAME = /^[a-z][a-z0-9_.]{0,63}$/;

/** Parses `LOG_LEVEL` (case and surrounding spaces ignored); anything unknown means `info`. */
export function parseLogLevel(value: unknown): LogLevel {
  const v = typeof value === "string" ? value.trim().toLowerCase() : "";
  return v === "debug" || v === "info" || v === "warn" || v === "error" ? v : "info";
}

/**
 * A logger that writes one JSON line per call to `sink` (console.log in the Worker), dropping lines
 * below `level`. Every line has `level`, `time` (ISO 8601 from `now`) and `event`. Logging never
 * throws: a failing sink loses the line, not the request.
 */
export function createLogger(level: LogLevel, sink: LogSink, now: () => number = Date.now): Logger {
  const min = LEVELS[level] ?? LEVELS.info;
  const write = (lvl: LogLevel, event: string, fields: Record<string, string | number>) => {
    if (LEVELS[lvl] < min) return;
    try {
      const record: LogRecord = { level: lvl, time: isoTime(now), event, ...fields };
      sink(JSON.stringify(record), record);
    } catch {
      // Logging must not fail a request.
    }
  };
  const event = (lvl: LogLevel) => (name: string, fields?: EventFields) =>
    write(lvl, eventName(name), pick(fields, EVENT_ENTRIES));
  return {
    access: (fields) => {
      const picked = pick(fields, ACCESS_ENTRIES);
      const status = picked.status;
      write(typeof status === "number" && status >= 500 ? "error" : "info", "request", picked);
    },
    info: event("info"),
    warn: event("warn"),
    error: event("error"),
    debug: event("debug"),
  };
}

/**
 * Turns an unknown thrown value into scrubbed log fields: name, message and the first frames of the
 * stack. A non-error value (a thrown string could hold anything) is reduced to its type. Never throws.
 */
export function errorFields(err: unknown): Pick<EventFields, "error_name" | "error_message" | "stack"> {
  try {
    if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
      const e = err as { name?: unknown; message: string; stack?: unknown };
      const out: Pick<EventFields, "error_name" | "error_message" | "stack"> = {
        error_name: scrubString(typeof e.name === "string" ? e.name : "Error", 200),
        error_message: scrubString(e.message),
      };
      if (typeof e.stack === "string") out.stack = scrubString(e.stack.split("\n").slice(0, STACK_LINES).join("\n"));
      return out;
    }
    return { error_name: err === null ? "null" : typeof err };
  } catch {
    return { error_name: "unreadable" };
  }
}

/** The message line and the frames that locate a failure; deeper frames are runtime noise. */
const STACK_LINES = 10;

/** The rules as entries, made once: `pick` runs on every line. */
const ACCESS_ENTRIES = Object.entries(ACCESS_RULES) as readonly (readonly [string, FieldRule])[];
const EVENT_ENTRIES = Object.entries(EVENT_RULES) as readonly (readonly [string, FieldRule])[];

function pick(source: unknown, rules: readonly (readonly [string, FieldRule])[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (typeof source !== "object" || source === null) return out;
  for (const [key, rule] of rules) {
    let value: unknown;
    try {
      value = (source as Record<string, unknown>)[key];
    } catch {
      continue; // a throwing getter
    }
    const checked = checkField(value, rule);
    if (checked !== undefined) out[key] = checked;
  }
  return out;
}

function checkField(value: unknown, rule: FieldRule): string | number | undefined {
  switch (rule.kind) {
    case "string":
      return typeof value === "string" ? scrubString(value, rule.max) : undefined;
    case "request_id":
      // The id the proxy makes is a fixed prefix and random hex (http/request-id.ts): nothing to
      // scrub, and scanning a value that differs on every line cannot be memoized.
      if (typeof value !== "string") return undefined;
      return isProxyRequestId(value) ? value : scrubString(value, SHORT_MAX);
    case "enum":
      return typeof value === "string" && rule.values.includes(value) ? value : undefined;
    case "integer":
      return Number.isSafeInteger(value) ? (value as number) : undefined;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  }
}

function eventName(name: unknown): string {
  return typeof name === "string" && EVENT_NAME.test(name) && scrubString(name) === name ? name : "invalid_event_name";
}

function isoTime(now: () => number): string {
  const t = now();
  return Number.isFinite(t) ? new Date(t).toISOString() : new Date(0).toISOString();
}
