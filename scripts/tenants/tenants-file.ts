/**
 * The two formats of a file of tenants for `tenants import` / `export`: the JSON map `TENANTS` takes
 * (`{"acme": {...}, ...}`), and JSON Lines, one `{"id": "acme", "config": {...}}` a line (easier to
 * generate from a database, to stream and to diff). Parse errors name their line.
 */
import type { BulkIssue, TenantEntry } from "./registry-bulk.ts";

export type TenantsFormat = "json" | "jsonl";

export interface ParsedTenants {
  entries: TenantEntry[];
  /** Lines that are not JSON, entries of the wrong shape, duplicate ids: every one of them. */
  errors: BulkIssue[];
  format: TenantsFormat;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** The format a file name implies, if any (`.jsonl` / `.ndjson` → JSON Lines, `.json` → map). */
export function formatOfName(name: string): TenantsFormat | undefined {
  if (/\.(jsonl|ndjson)$/i.test(name)) return "jsonl";
  if (/\.json$/i.test(name)) return "json";
  return undefined;
}

/** A one-line `{"id", "config"}` record, which a JSON Lines file of one tenant also is. */
const isLineRecord = (x: unknown): boolean =>
  isObject(x) && typeof x.id === "string" && "config" in x && Object.keys(x).length === 2;

/**
 * Parses a file of tenants. Without `format`, a text that is one JSON object is a map (unless it is a
 * single `{"id","config"}` record) and anything else is read as JSON Lines.
 */
export function parseTenantsFile(text: string, format?: TenantsFormat): ParsedTenants {
  if (format !== "jsonl") {
    let whole: unknown;
    let parsed = false;
    try {
      whole = JSON.parse(text);
      parsed = true;
    } catch (err) {
      if (format === "json") return { entries: [], errors: [{ path: "", message: `not JSON: ${jsonError(err)}` }], format };
    }
    if (parsed && !(format === undefined && isLineRecord(whole))) {
      if (!isObject(whole))
        return {
          entries: [],
          errors: [{ path: "", message: "a JSON map of tenant id → config was expected (as TENANTS takes)" }],
          format: "json",
        };
      return { entries: Object.entries(whole).map(([id, config]) => ({ id, config })), errors: [], format: "json" };
    }
  }
  const entries: TenantEntry[] = [];
  const errors: BulkIssue[] = [];
  const seen = new Map<string, number>();
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (err) {
      errors.push({ line, path: "", message: `not JSON: ${jsonError(err)}` });
      return;
    }
    if (!isObject(record) || typeof record.id !== "string" || !isObject(record.config)) {
      errors.push({ line, path: "", message: 'each line must be {"id": "<tenant id>", "config": {…}}' });
      return;
    }
    const extra = Object.keys(record).filter((k) => k !== "id" && k !== "config");
    if (extra.length > 0)
      errors.push({ line, tenant: record.id, path: "", message: `unexpected field(s) ${extra.join(", ")} beside id and config` });
    const first = seen.get(record.id);
    if (first !== undefined) {
      errors.push({ line, tenant: record.id, path: "", message: `tenant ${record.id} is already on line ${first}` });
      return;
    }
    seen.set(record.id, line);
    entries.push({ id: record.id, config: record.config, line });
  });
  return { entries, errors, format: "jsonl" };
}

/** V8's message, which says where (`at position 12 (line 1 column 13)`), without the input echoed. */
function jsonError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // Newer V8 quotes the text around the error: it could be a secret pasted in the wrong place.
  return message.replace(/, ".*" is not valid JSON$/s, "");
}

/** The file `export` writes: sorted by id; a map pretty-printed for diffs, or one line per tenant. */
export function formatTenantsFile(tenants: ReadonlyMap<string, unknown>, format: TenantsFormat): string {
  const ids = [...tenants.keys()].sort();
  if (format === "jsonl") return ids.map((id) => `${JSON.stringify({ id, config: tenants.get(id) })}\n`).join("");
  return `${JSON.stringify(Object.fromEntries(ids.map((id) => [id, tenants.get(id)])), null, 2)}\n`;
}

/** `line 7: tenant acme: verification.return_urls[0]: must be https` */
export function formatIssue(issue: BulkIssue): string {
  const parts = [
    issue.line !== undefined ? `line ${issue.line}` : undefined,
    issue.tenant !== undefined ? `tenant ${issue.tenant}` : undefined,
    issue.path || undefined,
    issue.message,
  ];
  return parts.filter((p) => p !== undefined).join(": ");
}
