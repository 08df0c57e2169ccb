/**
 * What `npm run check:config` (and `npm run deploy` before it deploys) reads and how it reports:
 * wrangler.toml's TENANTS, a JSON file (a TENANTS map, or one tenant's config as
 * `npm run tenants -- put` takes it), or a dotenv file's TENANTS line (.dev.vars). The rules are
 * ./tenant-checks.ts (on the Worker's own schema); this module finds the value, says which shape it saw,
 * words the validator's messages for people, and adds deploy warnings (no tenants, placeholder KV
 * namespace ids). Every problem is listed at once. No tenants is not a warning when a real
 * TENANT_REGISTRY namespace is bound (the tenants are then in KV, docs/tenants.md).
 *
 * Exit codes: 0 valid (warnings allowed unless `strict`), 1 problems (or warnings under `strict`),
 * 2 unreadable input or bad usage (including an `--env` that wrangler.toml does not define).
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseEnv } from "node:util";
import * as v from "valibot";
import { checkTenants } from "./tenant-checks.ts";
import { readTenantsValue } from "../../src/config/load.ts";
import { TenantIdSchema } from "../../src/config/schema.ts";

export interface CheckRequest {
  /** A JSON or dotenv file; otherwise the wrangler config. */
  file?: string | undefined;
  config?: string | undefined;
  env?: string | undefined;
  /** Warnings fail the check (exit 1): what `npm run deploy` uses. */
  strict?: boolean;
}

export interface CheckReport {
  code: 0 | 1 | 2;
  /** Lines for stdout (the verdict) and stderr (problems, warnings, unreadable input). */
  out: string[];
  err: string[];
}

interface Found {
  label: string;
  /** The TENANTS value (a map), already in the shape checkTenants reads. */
  value: unknown;
  /** What was read, when it is not plainly a TENANTS map. */
  note?: string;
  warnings: string[];
  /** A TENANT_REGISTRY namespace with a real id is bound: tenants may all live there. */
  registry?: boolean;
}

type Read = { ok: true; found: Found } | { ok: false; message: string };

/** `position` in `text` → 1-based line and column. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(position, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** JSON.parse with a syntax error as `line L, column C: what was expected`. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    const position = at ? Number(at[1]) : text.length;
    const { line, column } = lineAndColumn(text, position);
    const what = message
      .replace(/ in JSON at position \d+.*$/s, "")
      .replace(/, ".*" is not valid JSON$/s, "")
      .replace(/^Unexpected end of JSON input$/, "unexpected end (a missing } or ]?)");
    return { ok: false, message: `line ${line}, column ${column}: ${what}` };
  }
}

const TENANT_FIELDS = ["hosts", "stripe", "verification"];

/** One tenant's config (what `tenants put` takes) rather than a map of tenant id → config. */
export function looksLikeOneTenant(value: unknown): boolean {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && TENANT_FIELDS.some((f) => Object.hasOwn(value, f))
  );
}

function readText(path: string): { ok: true; text: string } | { ok: false; message: string } {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch {
    return { ok: false, message: `cannot read ${path}` };
  }
}

function isDotenv(path: string, text: string): boolean {
  const name = basename(path);
  return (
    name.startsWith(".dev.vars") || name.startsWith(".env") || name.endsWith(".env") || /^\s*(#|[A-Z_][A-Z0-9_]*=)/.test(text)
  );
}

/** The TENANTS line of a dotenv file (as wrangler dev reads it) and the JSON in it. */
function readDotenv(path: string, text: string): Read {
  const vars = parseEnv(text);
  const label = `${path} TENANTS`;
  const lineIndex = text.split("\n").findIndex((l) => /^\s*(export\s+)?TENANTS\s*=/.test(l));
  if (vars.TENANTS === undefined || lineIndex === -1)
    return { ok: true, found: { label, value: undefined, warnings: [`${path}: no TENANTS line`] } };
  const where = `${path} line ${lineIndex + 1}`;
  const raw = text.split("\n")[lineIndex] ?? "";
  const parsed = parseJson(vars.TENANTS);
  if (!parsed.ok) {
    const hint = /=\s*"/.test(raw)
      ? ` (write the JSON in single quotes, TENANTS='{…}': in double quotes its " end the value)`
      : "";
    return { ok: false, message: `${where}: TENANTS is not valid JSON at ${parsed.message}${hint}` };
  }
  return { ok: true, found: { label, value: parsed.value, note: `the TENANTS line (${where})`, warnings: [] } };
}

function readJsonFile(path: string, text: string): Read {
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, message: `${path} is not valid JSON: ${parsed.message}` };
  if (looksLikeOneTenant(parsed.value)) {
    const stem = basename(path).replace(/\.json$/i, "");
    const id = v.is(TenantIdSchema, stem) ? stem : "tenant";
    return {
      ok: true,
      found: {
        label: path,
        value: { [id]: parsed.value },
        note: `one tenant's config (the shape \`npm run tenants -- put <id> ${path}\` takes), checked as tenant "${id}"`,
        warnings: [],
      },
    };
  }
  return { ok: true, found: { label: path, value: parsed.value, note: "a TENANTS map (tenant id → config)", warnings: [] } };
}

interface RawWranglerConfig {
  vars?: Record<string, unknown>;
  kv_namespaces?: { binding?: string; id?: string }[];
  env?: Record<string, { vars?: Record<string, unknown>; kv_namespaces?: { binding?: string; id?: string }[] }>;
}

/** A namespace id that is still the template's `000…` placeholder. */
export function isPlaceholderId(id: unknown): boolean {
  return typeof id === "string" && /^0{16,}[0-9a-f]?$/i.test(id);
}

async function readWrangler(path: string, env: string | undefined): Promise<Read> {
  // wrangler's own reader, so the TOML (or JSONC) is read exactly as `wrangler deploy` reads it.
  const { experimental_readRawConfig } = await import("wrangler");
  let raw: RawWranglerConfig;
  try {
    raw = experimental_readRawConfig({ config: path }).rawConfig as RawWranglerConfig;
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    return { ok: false, message: `cannot read ${path}: ${first}` };
  }
  if (env !== undefined && raw.env?.[env] === undefined) {
    const names = Object.keys(raw.env ?? {});
    return {
      ok: false,
      message: `${path} has no [env.${env}] (${names.length > 0 ? `environments: ${names.join(", ")}` : "it defines no environments"}); wrangler would deploy the top-level config`,
    };
  }
  // Vars and bindings are not inherited by wrangler environments: [env.x.vars] replaces [vars].
  const section = env === undefined ? raw : (raw.env?.[env] ?? {});
  const label = env === undefined ? `${path} [vars] TENANTS` : `${path} [env.${env}.vars] TENANTS`;
  const warnings = (section.kv_namespaces ?? [])
    .filter((ns) => isPlaceholderId(ns.id))
    .map(
      (ns) =>
        `KV namespace ${ns.binding ?? "?"} has the placeholder id ${ns.id}: create it (wrangler kv namespace create ${ns.binding ?? "NAME"}) and put its id in ${path}`,
    );
  const registry = (section.kv_namespaces ?? []).some((ns) => ns.binding === "TENANT_REGISTRY" && !isPlaceholderId(ns.id));
  let value = section.vars?.TENANTS;
  if (typeof value === "string" && value.trim() !== "") {
    // TENANTS written as a JSON string: say where in that string it breaks.
    const parsed = parseJson(value);
    if (!parsed.ok) return { ok: false, message: `${label} is not valid JSON: ${parsed.message} (of the string)` };
    value = parsed.value;
  }
  return { ok: true, found: { label, value, warnings, registry } };
}

/** valibot's wording → a sentence for the person fixing the file. Unknown messages pass unchanged. */
export function humanMessage(message: string): string {
  const received = (m: string) => (m === "undefined" ? "" : ` (it is ${m})`);
  let m = /^Invalid key: Expected "([^"]+)" but received undefined$/.exec(message);
  if (m) return "is required but missing";
  m =
    /^Invalid type: Expected \((.+)\) but received (.+)$/.exec(message) ??
    /^Invalid option: Expected (.+) but received (.+)$/.exec(message);
  if (m?.[1] && m[2]) return `must be one of ${m[1].split(" | ").join(", ")}${received(m[2])}`;
  m = /^Invalid type: Expected (\w+) but received (.+)$/.exec(message);
  if (m?.[1] && m[2]) {
    const kinds: Record<string, string> = {
      Array: "a list ([…])",
      Object: "an object ({…})",
      boolean: "true or false",
      string: "a string",
      number: "a number",
    };
    return `must be ${kinds[m[1]] ?? m[1]}${received(m[2])}`;
  }
  m = /^Invalid value: Expected (>=|<=|>|<)(.+) but received (.+)$/.exec(message);
  if (m?.[1] && m[2] && m[3]) {
    const words: Record<string, string> = { ">=": "at least", "<=": "at most", ">": "more than", "<": "less than" };
    return `must be ${words[m[1]]} ${m[2]}${received(m[3])}`;
  }
  m = /^Invalid length: Expected (>=|<=)(\d+) but received (\d+)$/.exec(message);
  if (m?.[1] && m[2]) return `must have ${m[1] === ">=" ? "at least" : "at most"} ${m[2]} (it has ${m[3]})`;
  return message;
}

export async function checkConfig(request: CheckRequest): Promise<CheckReport> {
  const out: string[] = [];
  const err: string[] = [];
  let read: Read;
  if (request.file !== undefined) {
    const text = readText(request.file);
    read = !text.ok
      ? text
      : isDotenv(request.file, text.text)
        ? readDotenv(request.file, text.text)
        : readJsonFile(request.file, text.text);
  } else read = await readWrangler(request.config ?? "wrangler.toml", request.env);
  if (!read.ok) return { code: 2, out, err: [read.message] };
  const { found } = read;
  if (found.note) out.push(`${found.label}: read ${found.note}`);

  const issues = found.value === undefined ? [] : checkTenants(found.value);
  for (const issue of issues) err.push(`${issue.path}: ${humanMessage(issue.message)}`);

  const warnings = [...found.warnings];
  const valueRead = readTenantsValue(found.value);
  const ids = valueRead.ok ? Object.keys(valueRead.value) : [];
  if (issues.length === 0 && ids.length === 0 && found.registry) {
    out.push(`${found.label}: no tenants here; they are served from the KV tenant registry (TENANT_REGISTRY, npm run tenants)`);
  } else if (issues.length === 0 && ids.length === 0) {
    warnings.unshift(
      found.value === undefined && request.file === undefined
        ? `${found.label} is not set: fine if TENANTS is a secret or every tenant is in the KV registry, otherwise the Worker serves nobody`
        : `${found.label} has no tenants: the Worker serves nobody from it (fine if every tenant is in the KV registry)`,
    );
  }
  for (const w of warnings) err.push(`warning: ${w}`);

  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (issues.length > 0) {
    err.push(
      "",
      `${found.label}: ${plural(issues.length, "problem")}${warnings.length > 0 ? `, ${plural(warnings.length, "warning")}` : ""}`,
    );
    return { code: 1, out, err };
  }
  const tenants = `${plural(ids.length, "tenant")}${ids.length > 0 ? ` (${ids.join(", ")})` : ""}`;
  if (warnings.length > 0 && request.strict) {
    err.push("", `${found.label}: ${plural(warnings.length, "warning")}, which stop a deploy`);
    return { code: 1, out, err };
  }
  out.push(`${found.label}: valid, ${tenants}${warnings.length > 0 ? `; ${plural(warnings.length, "warning")}` : ""}`);
  return { code: 0, out, err };
}
