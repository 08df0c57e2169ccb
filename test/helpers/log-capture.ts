/**
 * Captures everything written to the console during a test and checks that none of the secrets the
 * test used reached it, raw or encoded.
 *
 * Every integration and end-to-end test uses it. The one-liner, at the top of a `describe`:
 *
 *   const logs = useLogCapture({ secrets: SECRETS });          // harness keys, JWT/webhook secrets…
 *
 *   it("creates a session", async () => {
 *     const body = await (await h.post(PATH, "type=document", { key })).json();
 *     logs.secret(body.client_secret, body.url);              // secrets learned during the test
 *     expect(logs.records()).toContainEqual(expect.objectContaining({ event: "request", status: 200 }));
 *   });                                                         // afterEach: restore + assertNoSecrets
 *
 That is the one API tests use. Text that never went through this console (a child process' output,
 * `wrangler dev` in e2e tests; stored values) is checked with `assertNoSecretsIn(text, secrets)` or
 * `findSecretLeaks`. `captureLogs()` is the building block `useLogCapture` runs per test.
 *
 * Works in the workerd pool (the Worker under test runs in the test's isolate, so its console is this
 * console) and in Node. Lines written after the capture ends (a `waitUntil` still running) are
 * not seen: await the execution context (`waitOnExecutionContext`) before the test returns.
 *
 * `assertNoSecrets` looks for each secret in every captured line as written and after undoing
 * percent-encoding and JSON/JS string escapes (up to three nested levels, in any order), and for
 * secrets of 24+ characters also for their last 16 characters (a tail left behind by a mask that
 * started too late) and their base64/base64url encodings at every byte alignment. Its failure message
 * names the secret by its first four characters and length, never in full. The finder itself is
 * bench/secret-leaks.ts (the load test checks wrangler's output with it too).
 */
import { afterEach, beforeEach } from "vitest";
import { checkedSecret, describeLeak, findSecretLeaks } from "../../bench/secret-leaks.ts";

/** The finder lives with the tooling (the load test uses it too); tests import it from here. */
export { findSecretLeaks, type SecretLeak } from "../../bench/secret-leaks.ts";

export interface LogCapture {
  /** Every console call, formatted as one string (arguments joined by a space), in order. */
  readonly lines: string[];
  /** The lines that are JSON objects (the Worker's structured log lines), parsed. */
  records(): Record<string, unknown>[];
  /** Puts the console back. Safe to call twice. */
  restore(): void;
  /** Adds text written elsewhere (a child process' stdout/stderr) to what is checked. */
  ingest(text: string): void;
  /** Throws, naming the secret and where it was seen, if any secret appears in any form. */
  assertNoSecrets(secrets: readonly string[]): void;
}

export interface CaptureOptions {
  /** Also write through to the real console (for debugging a test). Default false. */
  echo?: boolean;
}

const METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;
type ConsoleMethod = (typeof METHODS)[number];

/** Starts capturing console output now; call `restore()` when done. */
export function captureLogs(options: CaptureOptions = {}): LogCapture {
  const lines: string[] = [];
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of METHODS) {
    const original = console[method] as (...args: unknown[]) => void;
    originals.set(method, original);
    console[method] = (...args: unknown[]) => {
      lines.push(formatArgs(args));
      if (options.echo) original.apply(console, args);
    };
  }
  let restored = false;
  return {
    lines,
    records: () => parseRecords(lines),
    restore() {
      if (restored) return;
      restored = true;
      for (const [method, original] of originals) console[method] = original;
    },
    ingest(text: string) {
      for (const line of text.split(/\r?\n/)) if (line.length > 0) lines.push(line);
    },
    assertNoSecrets(secrets: readonly string[]) {
      assertNoSecretsIn(lines, secrets);
    },
  };
}

export interface UseLogCaptureOptions extends CaptureOptions {
  /** Secrets known up front (the harness' keys); a function is read after each test. */
  secrets?: readonly string[] | (() => readonly string[]);
}

export interface LogCaptureHandle {
  /** The current test's captured lines. */
  readonly lines: readonly string[];
  records(): Record<string, unknown>[];
  /** Registers secrets learned during the test (client_secret, url…); null/undefined are ignored. */
  secret(...values: (string | null | undefined)[]): void;
  /** Checks now (the afterEach hook checks again at the end), with the registered secrets and `extra`. */
  assertNoSecrets(extra?: readonly string[]): void;
}

/**
 * Installs `beforeEach`/`afterEach` hooks in the enclosing `describe` (or file): each test runs with
 * its console captured, and when it ends the console is restored and every secret from `options` and
 * from `secret(...)` is checked against what it wrote. A leak fails the test.
 */
export function useLogCapture(options: UseLogCaptureOptions = {}): LogCaptureHandle {
  let current: LogCapture | undefined;
  let learned: string[] = [];
  const known = (): readonly string[] => (typeof options.secrets === "function" ? options.secrets() : (options.secrets ?? []));
  const active = (): LogCapture => {
    if (current === undefined) throw new Error("useLogCapture: no test is running (use the handle inside a test)");
    return current;
  };
  beforeEach(() => {
    learned = [];
    current = captureLogs(options);
  });
  afterEach(() => {
    const capture = current;
    current = undefined;
    if (capture === undefined) return;
    capture.restore();
    capture.assertNoSecrets([...known(), ...learned]);
  });
  return {
    get lines() {
      return active().lines;
    },
    records: () => active().records(),
    secret(...values) {
      for (const value of values) if (value !== null && value !== undefined) learned.push(checkedSecret(value, learned.length));
    },
    assertNoSecrets(extra = []) {
      active().assertNoSecrets([...known(), ...learned, ...extra]);
    },
  };
}

/** Throws an Error describing every leak of `secrets` in `text` (one string or lines). */
export function assertNoSecretsIn(text: string | readonly string[], secrets: readonly string[]): void {
  const leaks = findSecretLeaks(text, secrets);
  if (leaks.length === 0) return;
  const shown = leaks.slice(0, 10).map((leak) => `  - ${describeLeak(leak, secrets)}`);
  const more = leaks.length > shown.length ? `\n  … and ${leaks.length - shown.length} more` : "";
  throw new Error(`A secret reached the logs (${leaks.length} finding(s)):\n${shown.join("\n")}${more}`);
}

/* ---------------------------------------------------------------------------------------------- */

function parseRecords(lines: readonly string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) out.push(value as Record<string, unknown>);
    } catch {
      // Not a structured line.
    }
  }
  return out;
}

/** Formats console arguments so that whatever an object holds is visible to the check. */
function formatArgs(args: readonly unknown[]): string {
  return args.map(formatValue).join(" ");
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return formatError(value);
  if (typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value, jsonReplacer()) ?? String(value);
  } catch {
    return String(value);
  }
}

function formatError(err: Error): string {
  const cause = (err as { cause?: unknown }).cause;
  const head = `${err.name}: ${err.message}`;
  const stack = err.stack && !err.stack.startsWith(head) ? `${head}\n${err.stack}` : (err.stack ?? head);
  return cause === undefined ? stack : `${stack}\nCaused by: ${formatValue(cause)}`;
}

/** JSON that also shows Headers/Map/URLSearchParams entries, Request/Response urls, errors and bigints. */
function jsonReplacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "function") return `[Function ${value.name}]`;
    if (typeof value !== "object" || value === null) return value;
    if (seen.has(value)) return "[Circular]";
    seen.add(value);
    if (value instanceof Error) return formatError(value);
    if (value instanceof Request) return { method: value.method, url: value.url, headers: [...value.headers] };
    if (value instanceof Response) return { status: value.status, url: value.url, headers: [...value.headers] };
    if (!Array.isArray(value) && typeof (value as { entries?: unknown }).entries === "function") {
      try {
        return Array.from((value as { entries(): Iterable<unknown> }).entries());
      } catch {
        return value;
      }
    }
    return value;
  };
}
