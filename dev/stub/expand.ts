import { StubError } from "./errors.ts";

/**
 * What a report lets callers expand: the extract's `x-expandableFields` of the report and its
 * sub-objects, plus the sensitive fields Stripe only includes when asked for by name (Stripe's
 * "Access verification results" guide: document number, dates and id numbers).
 */
export const REPORT_EXPANDABLE: readonly string[] = [
  "document",
  "document.address",
  "document.dob",
  "document.error",
  "document.expiration_date",
  "document.issued_date",
  "document.number",
  "email",
  "email.error",
  "id_number",
  "id_number.dob",
  "id_number.error",
  "id_number.id_number",
  "options",
  "options.document",
  "options.id_number",
  "phone",
  "phone.error",
  "selfie",
  "selfie.error",
];

/**
 * What a session lets callers expand: its `x-expandableFields` (and theirs), the includable
 * `verified_outputs` sub-fields, and everything of the last report through `last_verification_report.`.
 */
export const SESSION_EXPANDABLE: readonly string[] = [
  "last_error",
  "last_verification_report",
  "options",
  "options.document",
  "options.email",
  "options.id_number",
  "options.matching",
  "options.phone",
  "provided_details",
  "redaction",
  "related_person",
  "verified_outputs",
  "verified_outputs.address",
  "verified_outputs.dob",
  "verified_outputs.id_number",
  ...REPORT_EXPANDABLE.map((p) => `last_verification_report.${p}`),
];

/**
 * The expansions one request asked for. `has(path)` is true when the path itself or anything below it
 * was requested, as with Stripe, where `a.b` implies expanding `a`.
 */
export class Expansion {
  static readonly none = new Expansion([]);
  private readonly paths: readonly string[];

  constructor(paths: readonly string[]) {
    this.paths = paths;
  }

  has(path: string): boolean {
    return this.paths.some((p) => p === path || p.startsWith(`${path}.`));
  }

  /** The expansions below `prefix`, relative to it (`last_verification_report.document.dob` → `document.dob`). */
  under(prefix: string): Expansion {
    const start = `${prefix}.`;
    return new Expansion(this.paths.filter((p) => p.startsWith(start)).map((p) => p.slice(start.length)));
  }
}

/**
 * Reads the `expand` parameter (already validated as a list of strings). List endpoints expand
 * through `data.`; a path without it gets Stripe's hint. Unknown paths are a 400, as with Stripe.
 */
export function parseExpand(raw: unknown, allowed: readonly string[], isList: boolean): Expansion {
  if (raw === undefined) return Expansion.none;
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const item of list) {
    const path = String(item);
    if (isList) {
      if (!path.startsWith("data.")) {
        const hint = allowed.includes(path) ? ` You may want to try expanding 'data.${path}' instead.` : "";
        throw new StubError(400, `This property cannot be expanded (${path}).${hint}`);
      }
      const inner = path.slice("data.".length);
      if (!allowed.includes(inner)) throw new StubError(400, `This property cannot be expanded (${path}).`);
      out.push(inner);
    } else {
      if (!allowed.includes(path)) throw new StubError(400, `This property cannot be expanded (${path}).`);
      out.push(path);
    }
  }
  return new Expansion(out);
}
