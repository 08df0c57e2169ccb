/**
 * The stub's state: sessions and reports as stored (not as rendered), scoped per tenant. Rendering to
 * Stripe's JSON shapes lives in objects.ts; status changes in status.ts.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type SessionStatus = "requires_input" | "processing" | "verified" | "canceled";
export type SessionType = "document" | "id_number" | "verification_flow";
export type DocumentType = "driving_license" | "id_card" | "passport";

/** Who is asking: Stripe keeps objects per account, the stub per (API key, Stripe-Account). */
export interface Scope {
  readonly apiKey: string;
  readonly account: string | null;
  /** The map key of the scope; never shown to anyone. */
  readonly key: string;
}

export function scopeOf(apiKey: string, account: string | null): Scope {
  return { apiKey, account, key: `${apiKey}\u0000${account ?? ""}` };
}

export interface DocumentOptions {
  allowed_types?: DocumentType[];
  require_id_number?: boolean;
  require_live_capture?: boolean;
  require_matching_selfie?: boolean;
}

export interface SessionOptions {
  document?: DocumentOptions;
  id_number?: Record<string, never>;
}

export interface DateParts {
  day: number | null;
  month: number | null;
  year: number | null;
}

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export type Sex = "[redacted]" | "female" | "male" | "unknown";
export type IdNumberType = "br_cpf" | "sg_nric" | "us_ssn";

export interface VerifiedOutputs {
  address: Address | null;
  dob: DateParts | null;
  email: string | null;
  first_name: string | null;
  id_number: string | null;
  id_number_type: IdNumberType | null;
  last_name: string | null;
  phone: string | null;
  sex: Sex | null;
  unparsed_place_of_birth: string | null;
  unparsed_sex: string | null;
}

export interface CheckError {
  code: string | null;
  reason: string | null;
}

export interface DocumentReport {
  status: "verified" | "unverified";
  address: Address | null;
  dob: DateParts | null;
  error: CheckError | null;
  expiration_date: DateParts | null;
  files: string[] | null;
  first_name: string | null;
  issued_date: DateParts | null;
  issuing_country: string | null;
  last_name: string | null;
  number: string | null;
  sex: Sex | null;
  type: DocumentType | null;
  unparsed_place_of_birth: string | null;
  unparsed_sex: string | null;
}

export interface IdNumberReport {
  status: "verified" | "unverified";
  dob: DateParts | null;
  error: CheckError | null;
  first_name: string | null;
  id_number: string | null;
  id_number_type: IdNumberType | null;
  last_name: string | null;
}

export interface SelfieReport {
  status: "verified" | "unverified";
  document: string | null;
  error: CheckError | null;
  selfie: string | null;
}

export interface ContactReport {
  status: "verified" | "unverified";
  value: string | null;
  error: CheckError | null;
}

export interface StoredReport {
  id: string;
  scope: Scope;
  seq: number;
  created: number;
  type: SessionType;
  verification_flow?: string;
  verification_session: string;
  client_reference_id: string | null;
  options: SessionOptions;
  document?: DocumentReport;
  id_number?: IdNumberReport;
  selfie?: SelfieReport;
  email?: ContactReport;
  phone?: ContactReport;
}

export interface StoredSession {
  id: string;
  scope: Scope;
  seq: number;
  created: number;
  type: SessionType;
  verification_flow?: string;
  status: SessionStatus;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  options: SessionOptions;
  provided_details: { email?: string; phone?: string } | null;
  related_customer: string | null;
  related_customer_account: string | null;
  related_person?: { account: string; person: string };
  /** Where the hosted page sends the person back; not part of Stripe's object. */
  return_url: string | null;
  last_error: CheckError | null;
  last_verification_report: string | null;
  verified_outputs: VerifiedOutputs | null;
  redaction: { status: "processing" | "redacted" } | null;
  /**
   * The short-lived credentials of the current attempt: present only while the session waits for
   * input, replaced after a failed attempt (Stripe hands out a fresh url/client_secret then).
   */
  attempt: { client_secret: string; url_token: string } | null;
}

/** Sessions and reports of every tenant; lookups always go through a scope. */
export class Store {
  readonly sessions = new Map<string, StoredSession>();
  readonly reports = new Map<string, StoredReport>();
  /** Sessions actually created (not idempotent replays): the number reliability tests count. */
  createdSessions = 0;
  private seq = 0;

  /** A strictly increasing number: the tie-break when two objects share a `created` second. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  session(id: string, scope: Scope): StoredSession | undefined {
    const s = this.sessions.get(id);
    return s && s.scope.key === scope.key ? s : undefined;
  }

  report(id: string, scope: Scope): StoredReport | undefined {
    const r = this.reports.get(id);
    return r && r.scope.key === scope.key ? r : undefined;
  }

  sessionsIn(scope: Scope): StoredSession[] {
    return [...this.sessions.values()].filter((s) => s.scope.key === scope.key);
  }

  reportsIn(scope: Scope): StoredReport[] {
    return [...this.reports.values()].filter((r) => r.scope.key === scope.key);
  }

  reset(): void {
    this.sessions.clear();
    this.reports.clear();
    this.createdSessions = 0;
  }
}
