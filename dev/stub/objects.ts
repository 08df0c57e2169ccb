import { Expansion } from "./expand.ts";
import type {
  CheckError,
  ContactReport,
  DocumentReport,
  IdNumberReport,
  Json,
  JsonObject,
  SessionOptions,
  Store,
  StoredReport,
  StoredSession,
  VerifiedOutputs,
} from "./store.ts";

/**
 * Renders stored objects in Stripe's shapes (`identity.verification_session`,
 * `identity.verification_report` of the extract's `components.schemas`): every nullable field present
 * as null, optional ones only when set, and the includable ones (`verified_outputs`,
 * `provided_details`, sensitive report fields) only when expanded, as Stripe does.
 */
export interface RenderEnv {
  readonly store: Store;
  readonly publicBaseUrl: string;
}

/** Stripe writes `id` and `object` first and the rest alphabetically; tests and humans read it that way. */
function ordered(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of ["id", "object"]) if (k in obj) out[k] = obj[k] ?? null;
  for (const k of Object.keys(obj).sort()) if (!(k in out)) out[k] = obj[k] ?? null;
  return out;
}

function clone<T>(value: T): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function renderError(error: CheckError | null): Json {
  return error ? { code: error.code, reason: error.reason } : null;
}

export function renderOptions(options: SessionOptions): JsonObject {
  return clone(options) as JsonObject;
}

/** The url of the stub's hosted page for the current attempt. */
export function sessionUrl(session: StoredSession, publicBaseUrl: string): string | null {
  if (!session.attempt) return null;
  return `${publicBaseUrl}/verify/${session.id}?cs=${session.attempt.url_token}`;
}

export function renderSession(session: StoredSession, env: RenderEnv, expand: Expansion = Expansion.none): JsonObject {
  const out: JsonObject = {
    id: session.id,
    object: "identity.verification_session",
    client_reference_id: session.client_reference_id,
    client_secret: session.attempt?.client_secret ?? null,
    created: session.created,
    last_error: renderError(session.last_error),
    last_verification_report: session.last_verification_report,
    livemode: false,
    metadata: { ...session.metadata },
    options: renderOptions(session.options),
    redaction: session.redaction ? { status: session.redaction.status } : null,
    related_customer: session.related_customer,
    related_customer_account: session.related_customer_account,
    status: session.status,
    type: session.type,
    url: sessionUrl(session, env.publicBaseUrl),
  };
  if (session.related_person) out.related_person = { ...session.related_person };
  if (session.verification_flow !== undefined) out.verification_flow = session.verification_flow;
  if (expand.has("provided_details")) out.provided_details = session.provided_details ? { ...session.provided_details } : null;
  if (expand.has("verified_outputs")) {
    out.verified_outputs = session.verified_outputs
      ? renderVerifiedOutputs(session.verified_outputs, expand.under("verified_outputs"))
      : null;
  }
  if (expand.has("last_verification_report") && session.last_verification_report) {
    const report = env.store.reports.get(session.last_verification_report);
    if (report) out.last_verification_report = renderReport(report, expand.under("last_verification_report"));
  }
  return ordered(out);
}

function renderVerifiedOutputs(v: VerifiedOutputs, expand: Expansion): JsonObject {
  const out = clone(v) as JsonObject;
  // Date of birth and id number are sensitive: Stripe includes them only when expanded by name.
  if (!expand.has("dob")) delete out.dob;
  if (!expand.has("id_number")) delete out.id_number;
  return ordered(out);
}

function renderDocument(d: DocumentReport, expand: Expansion): JsonObject {
  const out = clone(d) as JsonObject;
  for (const sensitive of ["dob", "expiration_date", "number"]) if (!expand.has(sensitive)) delete out[sensitive];
  return ordered(out);
}

function renderIdNumber(r: IdNumberReport, expand: Expansion): JsonObject {
  const out = clone(r) as JsonObject;
  for (const sensitive of ["dob", "id_number"]) if (!expand.has(sensitive)) delete out[sensitive];
  return ordered(out);
}

function renderContact(r: ContactReport, field: "email" | "phone"): JsonObject {
  return ordered({ status: r.status, [field]: r.value, error: renderError(r.error) });
}

export function renderReport(report: StoredReport, expand: Expansion = Expansion.none): JsonObject {
  const out: JsonObject = {
    id: report.id,
    object: "identity.verification_report",
    client_reference_id: report.client_reference_id,
    created: report.created,
    livemode: false,
    options: renderOptions(report.options),
    type: report.type,
    verification_session: report.verification_session,
  };
  if (report.verification_flow !== undefined) out.verification_flow = report.verification_flow;
  if (report.document) out.document = renderDocument(report.document, expand.under("document"));
  if (report.id_number) out.id_number = renderIdNumber(report.id_number, expand.under("id_number"));
  if (report.selfie) out.selfie = ordered(clone(report.selfie) as JsonObject);
  if (report.email) out.email = renderContact(report.email, "email");
  if (report.phone) out.phone = renderContact(report.phone, "phone");
  return ordered(out);
}
