import { resourceMissing, StubError } from "./errors.ts";
import { type Expansion, parseExpand, REPORT_EXPANDABLE, SESSION_EXPANDABLE } from "./expand.ts";
import { newId } from "./ids.ts";
import { type FormParams as Params, type FormValue as ParamValue, formTrue } from "./form.ts";
import { createdFilter, listPage } from "./list.ts";
import { type RenderEnv, renderReport, renderSession } from "./objects.ts";
import { assertUpdatable, cancelSession, newAttempt, redactSession, type TransitionEnv } from "./status.ts";
import type { OperationName } from "./routes.ts";
import type { DocumentOptions, DocumentType, JsonObject, Scope, SessionOptions, StoredSession } from "./store.ts";

/**
 * The eight Identity operations on the stub's store. Parameters arrive already validated against
 * the OpenAPI extract (types, enums, unknown names); what is checked here is what Stripe checks beyond
 * the schema: exclusive/required combinations, URLs, metadata limits, status rules, ids.
 */
export interface ApiEnv extends RenderEnv, TransitionEnv {}

export interface OperationCall {
  op: OperationName;
  id: string | undefined;
  params: Params;
  scope: Scope;
}

const SESSIONS_URL = "/v1/identity/verification_sessions";
const REPORTS_URL = "/v1/identity/verification_reports";

function str(v: ParamValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * The extract marks `type` with x-stripeBypassValidation (Stripe may accept unpublished values), so the
 * generated schema lets any string through; the stub knows only the published ones and says so.
 */
function sessionType(v: ParamValue | undefined): "document" | "id_number" | undefined {
  if (v === undefined || v === "document" || v === "id_number") return v;
  throw new StubError(400, "Invalid type: must be one of document, id_number.", { code: "parameter_invalid", param: "type" });
}

function record(v: ParamValue | undefined): Params | undefined {
  return typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

/** Runs one operation and returns the JSON body of its 200 answer; refusals are thrown as StubError. */
export function runOperation(call: OperationCall, env: ApiEnv): JsonObject {
  switch (call.op) {
    case "create":
      return createSession(call, env);
    case "retrieve":
      return renderSession(sessionOf(call, env), env, sessionExpand(call));
    case "update":
      return updateSession(call, env);
    case "list":
      return listSessions(call, env);
    case "cancel": {
      const expand = sessionExpand(call);
      const session = sessionOf(call, env);
      cancelSession(session, env);
      return renderSession(session, env, expand);
    }
    case "redact": {
      const expand = sessionExpand(call);
      const session = sessionOf(call, env);
      redactSession(session, env);
      return renderSession(session, env, expand);
    }
    case "report_retrieve": {
      const expand = parseExpand(call.params.expand, REPORT_EXPANDABLE, false);
      const report = env.store.report(call.id ?? "", call.scope);
      if (!report) throw resourceMissing("verification_report", call.id ?? "");
      return renderReport(report, expand);
    }
    case "report_list":
      return listReports(call, env);
  }
}

function sessionExpand(call: OperationCall): Expansion {
  return parseExpand(call.params.expand, SESSION_EXPANDABLE, false);
}

function sessionOf(call: OperationCall, env: ApiEnv): StoredSession {
  const session = env.store.session(call.id ?? "", call.scope);
  if (!session) throw resourceMissing("verification_session", call.id ?? "");
  return session;
}

/** Form booleans are the strings "true"/"false" in any case (validated); the object carries real booleans. */
function documentOptions(raw: ParamValue | undefined, base: DocumentOptions = {}): DocumentOptions {
  // `options[document]=` is Stripe's way to unset the document options.
  if (raw === "" || raw === undefined) return raw === "" ? {} : { ...base };
  const given = record(raw) ?? {};
  const out: DocumentOptions = { ...base };
  if (Array.isArray(given.allowed_types)) out.allowed_types = given.allowed_types.map(String) as DocumentType[];
  for (const flag of ["require_id_number", "require_live_capture", "require_matching_selfie"] as const) {
    if (typeof given[flag] === "string") out[flag] = formTrue(given[flag]);
  }
  return out;
}

function optionsFor(type: StoredSession["type"], document: DocumentOptions | undefined): SessionOptions {
  if (type === "id_number") return { id_number: {} };
  if (type === "document") return { document: document ?? {} };
  return {};
}

/** Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500. */
function checkMetadata(metadata: Params | undefined): void {
  if (!metadata) return;
  const entries = Object.entries(metadata);
  if (entries.length > 50)
    throw new StubError(400, "Metadata can have up to 50 keys.", { code: "parameter_invalid", param: "metadata" });
  for (const [k, v] of entries) {
    if (k.length > 40) {
      throw new StubError(
        400,
        `Metadata keys can have up to 40 characters, but you passed in a key that is ${k.length} characters.`,
        {
          code: "parameter_invalid",
          param: `metadata[${k}]`,
        },
      );
    }
    if (typeof v === "string" && v.length > 500) {
      throw new StubError(
        400,
        `Metadata values can have up to 500 characters, but you passed in a value that is ${v.length} characters.`,
        {
          code: "parameter_invalid",
          param: `metadata[${k}]`,
        },
      );
    }
  }
}

/**
 * A null-prototype object, so keys named like Object.prototype members (`constructor`, `toString`) are
 * stored like any other key, as Stripe stores them.
 */
function mergeMetadata(current: Record<string, string>, given: Params | undefined): Record<string, string> {
  const out: Record<string, string> = Object.assign(Object.create(null), current);
  for (const [k, v] of Object.entries(given ?? {})) {
    // An empty value unsets the key, as everywhere in Stripe's API.
    if (v === "") delete out[k];
    else out[k] = String(v);
  }
  return out;
}

function checkReturnUrl(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StubError(400, "Not a valid URL", { code: "url_invalid", param: "return_url" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new StubError(400, "Not a valid URL", { code: "url_invalid", param: "return_url" });
  }
  return raw;
}

function createSession(call: OperationCall, env: ApiEnv): JsonObject {
  const p = call.params;
  const expand = sessionExpand(call);
  const type = sessionType(p.type);
  const flow = str(p.verification_flow);
  if (type !== undefined && flow !== undefined) {
    throw new StubError(400, "You may only specify one of these parameters: type, verification_flow.", {
      code: "parameters_exclusive",
      param: "type",
    });
  }
  if (type === undefined && flow === undefined) {
    throw new StubError(400, "Missing required param: type.", { code: "parameter_missing", param: "type" });
  }
  const metadata = record(p.metadata);
  checkMetadata(metadata);
  const returnUrl = checkReturnUrl(str(p.return_url));
  const kind = type ?? "verification_flow";
  const options = record(p.options);
  const provided = record(p.provided_details);
  const person = record(p.related_person);

  const id = newId("vs");
  const session: StoredSession = {
    id,
    scope: call.scope,
    seq: env.store.nextSeq(),
    created: Math.floor(env.now() / 1000),
    type: kind,
    status: "requires_input",
    client_reference_id: str(p.client_reference_id) ?? null,
    metadata: mergeMetadata({}, metadata),
    options: optionsFor(kind, options?.document === undefined ? undefined : documentOptions(options.document)),
    provided_details: provided ? { ...(provided as { email?: string; phone?: string }) } : null,
    related_customer: str(p.related_customer) ?? null,
    related_customer_account: str(p.related_customer_account) ?? null,
    return_url: returnUrl,
    last_error: null,
    last_verification_report: null,
    verified_outputs: null,
    redaction: null,
    attempt: newAttempt(id),
  };
  if (flow !== undefined) session.verification_flow = flow;
  if (person) session.related_person = { account: String(person.account), person: String(person.person) };
  env.store.sessions.set(id, session);
  env.store.createdSessions += 1;
  env.emit("identity.verification_session.created", session);
  return renderSession(session, env, expand);
}

function updateSession(call: OperationCall, env: ApiEnv): JsonObject {
  const p = call.params;
  const expand = sessionExpand(call);
  const session = sessionOf(call, env);
  const options = record(p.options);
  const provided = record(p.provided_details);
  const metadata = record(p.metadata);
  const type = sessionType(p.type);
  checkMetadata(metadata);
  assertUpdatable(session, type !== undefined || options !== undefined || provided !== undefined);

  if (type !== undefined && type !== session.type) {
    session.type = type;
    session.options = optionsFor(type, session.options.document);
  }
  if (options?.document !== undefined) {
    // Given keys replace, others stay: a partial update must not silently drop options set before.
    session.options = { ...session.options, document: documentOptions(options.document, session.options.document) };
  }
  if (provided)
    session.provided_details = { ...(session.provided_details ?? {}), ...(provided as { email?: string; phone?: string }) };
  // `metadata=` (empty) unsets every key (https://docs.stripe.com/api/metadata).
  if (p.metadata === "") session.metadata = mergeMetadata({}, undefined);
  else if (metadata) session.metadata = mergeMetadata(session.metadata, metadata);
  return renderSession(session, env, expand);
}

function listSessions(call: OperationCall, env: ApiEnv): JsonObject {
  const p = call.params;
  const expand = parseExpand(p.expand, SESSION_EXPANDABLE, true);
  const created = createdFilter(p.created);
  const eq = (want: ParamValue | undefined, have: string | null) => want === undefined || want === have;
  return listPage(
    env.store.sessionsIn(call.scope),
    p,
    SESSIONS_URL,
    (s) =>
      created(s.created) &&
      eq(p.status, s.status) &&
      eq(p.client_reference_id, s.client_reference_id) &&
      eq(p.related_customer, s.related_customer) &&
      eq(p.related_customer_account, s.related_customer_account),
    (s) => renderSession(s, env, expand),
    "verification_session",
  );
}

function listReports(call: OperationCall, env: ApiEnv): JsonObject {
  const p = call.params;
  const expand = parseExpand(p.expand, REPORT_EXPANDABLE, true);
  sessionType(p.type);
  const created = createdFilter(p.created);
  const eq = (want: ParamValue | undefined, have: string | null) => want === undefined || want === have;
  return listPage(
    env.store.reportsIn(call.scope),
    p,
    REPORTS_URL,
    (r) =>
      created(r.created) &&
      eq(p.type, r.type) &&
      eq(p.verification_session, r.verification_session) &&
      eq(p.client_reference_id, r.client_reference_id),
    (r) => renderReport(r, expand),
    "verification_report",
  );
}
