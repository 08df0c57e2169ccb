/**
 * `npm start` shows the Worker's JSON log lines (the production format, docs/logging.md) as one
 * short readable line each, and drops wrangler's own per-request line, which would say the same
 * thing a second time. Pure; everything that is not one of those lines passes through unchanged.
 */

/** wrangler dev's access line, e.g. `[wrangler:info] GET /healthz 200 OK (3ms)`. */
const WRANGLER_REQUEST = /^\[wrangler:info\] [A-Z]+ \S+ \d{3}\b/;

const EVENT_FIELDS = ["tenant", "binding", "error_name", "error_message", "detail"] as const;

export function prettyLogLine(line: string): string | null {
  if (WRANGLER_REQUEST.test(line)) return null;
  const start = line.indexOf("{");
  if (start === -1 || !line.trimEnd().endsWith("}")) return line;
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line.slice(start));
    if (typeof parsed !== "object" || parsed === null || typeof (parsed as { event?: unknown }).event !== "string") return line;
    record = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "";
  const str = (key: string) => (record[key] === undefined ? undefined : String(record[key]));
  if (record.event === "request") {
    const parts = [
      time,
      str("status"),
      str("method"),
      str("route") ?? "(no route)",
      str("tenant") && `tenant=${str("tenant")}`,
      str("role"),
      str("operation"),
      str("duration_ms") && `${str("duration_ms")}ms`,
      str("cache") && `cache=${str("cache")}`,
      str("policy") && str("policy") !== "allowed" ? `policy=${str("policy")}` : undefined,
      str("error_code") && `error=${str("error_code")}`,
      str("request_id"),
    ];
    return parts.filter((p) => p !== undefined && p !== "").join(" ");
  }
  const level = (str("level") ?? "info").toUpperCase();
  const fields = EVENT_FIELDS.filter((k) => record[k] !== undefined).map((k) => `${k}=${str(k)}`);
  return [time, level, record.event, ...fields].filter((p) => p !== "").join(" ");
}
