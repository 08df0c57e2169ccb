import { STATE_ERROR_CODE, StubError } from "./errors.ts";
import {
  checksIdNumber,
  fakeDocumentReport,
  fakeIdNumberReport,
  fakeSelfieReport,
  fakeVerifiedOutputs,
} from "./fake-identity.ts";
import { newId, randomAlnum } from "./ids.ts";
import type { Address, CheckError, Store, StoredReport, StoredSession, VerifiedOutputs } from "./store.ts";

/**
 * The VerificationSession status machine (Stripe's "How sessions work"):
 *   requires_input → processing → verified
 *                              ↘ requires_input (with last_error, fresh url/client_secret)
 *   requires_input → canceled (cancel, or redact of an unfinished session)
 * Redaction is allowed from requires_input and verified only, runs in the background
 * (`redaction.status` processing → redacted) and scrubs personal data for good.
 */

/** `gelato_session_last_error.code` of the extract: what the hosted page lets a person pick. */
export const LAST_ERROR_CODES = [
  "abandoned",
  "consent_declined",
  "country_not_supported",
  "device_not_supported",
  "document_expired",
  "document_type_not_supported",
  "document_unverified_other",
  "email_unverified_other",
  "email_verification_declined",
  "id_number_insufficient_document_data",
  "id_number_mismatch",
  "id_number_unverified_other",
  "phone_unverified_other",
  "phone_verification_declined",
  "selfie_document_missing_photo",
  "selfie_face_mismatch",
  "selfie_manipulated",
  "selfie_unverified_other",
  "under_supported_age",
] as const;

export type LastErrorCode = (typeof LAST_ERROR_CODES)[number];

export function isLastErrorCode(value: string): value is LastErrorCode {
  return (LAST_ERROR_CODES as readonly string[]).includes(value);
}

/** Human-readable reasons, in the spirit of Stripe's (which it says may be shown to users). */
export const LAST_ERROR_REASONS: Readonly<Record<LastErrorCode, string>> = {
  abandoned: "The user did not complete the verification.",
  consent_declined: "The user declined to be verified by Stripe.",
  country_not_supported: "The user's country is not supported.",
  device_not_supported: "The user's device is not supported.",
  document_expired: "The provided identity document has expired.",
  document_type_not_supported: "The provided identity document is not one of the allowed document types.",
  document_unverified_other: "The provided identity document could not be verified.",
  email_unverified_other: "The provided email address could not be verified.",
  email_verification_declined: "The user declined to verify their email address.",
  id_number_insufficient_document_data: "The provided document did not contain enough data to match the ID number.",
  id_number_mismatch: "The information provided could not be matched to the ID number.",
  id_number_unverified_other: "The provided ID number could not be verified.",
  phone_unverified_other: "The provided phone number could not be verified.",
  phone_verification_declined: "The user declined to verify their phone number.",
  selfie_document_missing_photo: "The provided identity document did not contain a picture of a face.",
  selfie_face_mismatch: "The captured face image did not match the face on the document.",
  selfie_manipulated: "The captured face image was manipulated.",
  selfie_unverified_other: "The provided selfie could not be verified.",
  under_supported_age: "The user is under the supported age.",
};

export type Outcome =
  | { status: "verified" }
  | { status: "requires_input"; errorCode: LastErrorCode }
  | { status: "canceled" }
  /** Submitted, and held in `processing` until another outcome is given (a stub control, for tests). */
  | { status: "processing" };

export type SessionEventType =
  | "identity.verification_session.created"
  | "identity.verification_session.processing"
  | "identity.verification_session.verified"
  | "identity.verification_session.requires_input"
  | "identity.verification_session.canceled"
  | "identity.verification_session.redacted";

/** What a transition needs from the stub: the store, the clock, and the way to announce events. */
export interface TransitionEnv {
  readonly store: Store;
  now(): number;
  emit(type: SessionEventType, session: StoredSession): void;
  /** Runs background work (redaction) after the current request, in order with webhook deliveries. */
  schedule(task: () => void): void;
}

/** A fresh url/client_secret pair for an attempt. */
export function newAttempt(sessionId: string): { client_secret: string; url_token: string } {
  return { client_secret: `${sessionId}_secret_test_${randomAlnum(24)}`, url_token: `test_${randomAlnum(32)}` };
}

function stateError(message: string): StubError {
  return new StubError(400, message, { code: STATE_ERROR_CODE });
}

/**
 * Refuses an update Stripe would refuse: nothing changes on a redacted session, and the checks (type,
 * options, provided details) only change while the session waits for input. Metadata stays editable.
 */
export function assertUpdatable(session: StoredSession, touchesChecks: boolean): void {
  if (session.redaction) throw stateError("This VerificationSession has been redacted and can no longer be updated.");
  if (touchesChecks && session.status !== "requires_input") {
    throw stateError(
      `You can only update the type, options or provided_details of a VerificationSession with a status of requires_input. This VerificationSession has a status of ${session.status}.`,
    );
  }
}

export function cancelSession(session: StoredSession, env: TransitionEnv): void {
  if (session.status !== "requires_input") {
    throw stateError(
      `This VerificationSession cannot be canceled because it has a status of ${session.status}. Only a VerificationSession with a status of requires_input can be canceled.`,
    );
  }
  session.status = "canceled";
  session.attempt = null;
  env.emit("identity.verification_session.canceled", session);
}

/**
 * Starts redaction. An unfinished session is canceled first (Stripe: "Redacting a VerificationSession
 * in requires_action state will automatically cancel it"); the scrub and the `redacted` event follow in
 * the background, so the response shows `redaction.status: processing` like Stripe's.
 */
export function redactSession(session: StoredSession, env: TransitionEnv): void {
  if (session.redaction) throw stateError("This VerificationSession has already been redacted.");
  if (session.status !== "requires_input" && session.status !== "verified") {
    throw stateError(
      `This VerificationSession cannot be redacted because it has a status of ${session.status}. Only a VerificationSession with a status of requires_input or verified can be redacted.`,
    );
  }
  if (session.status === "requires_input") {
    session.status = "canceled";
    session.attempt = null;
    env.emit("identity.verification_session.canceled", session);
  }
  session.redaction = { status: "processing" };
  env.schedule(() => {
    scrubSession(session, env.store);
    session.redaction = { status: "redacted" };
    env.emit("identity.verification_session.redacted", session);
  });
}

/**
 * Applies what the person did on the hosted page. Only a session waiting for input (and not redacted)
 * can be submitted; the url/client_secret of the attempt are used up either way.
 */
export function submitOutcome(session: StoredSession, outcome: Outcome, env: TransitionEnv): void {
  // A session held in processing (outcome `processing`) takes its final outcome later.
  const held = session.status === "processing" && outcome.status !== "processing" && outcome.status !== "canceled";
  if (session.redaction || (session.status !== "requires_input" && !held)) {
    throw stateError(`This VerificationSession has a status of ${session.status} and cannot be submitted.`);
  }
  session.attempt = null;
  if (outcome.status === "canceled") {
    session.status = "canceled";
    env.emit("identity.verification_session.canceled", session);
    return;
  }
  if (!held) {
    session.status = "processing";
    env.emit("identity.verification_session.processing", session);
  }
  if (outcome.status === "processing") return;

  const errorCode = outcome.status === "requires_input" ? outcome.errorCode : null;
  const report = buildReport(session, errorCode, env);
  if (report) {
    env.store.reports.set(report.id, report);
    session.last_verification_report = report.id;
  }
  if (errorCode === null) {
    session.status = "verified";
    session.last_error = null;
    session.verified_outputs = fakeVerifiedOutputs(session);
    env.emit("identity.verification_session.verified", session);
  } else {
    session.status = "requires_input";
    session.last_error = { code: errorCode, reason: LAST_ERROR_REASONS[errorCode] };
    session.attempt = newAttempt(session.id);
    env.emit("identity.verification_session.requires_input", session);
  }
}

type Check = "document" | "selfie" | "id_number" | "email" | "phone";

/** Which check a failure code belongs to; user-session failures (consent, device, …) have none. */
function failedCheck(code: LastErrorCode): Check | null {
  const prefix = code.split("_")[0];
  if (prefix === "document" || prefix === "selfie" || prefix === "email" || prefix === "phone") return prefix;
  if (code.startsWith("id_number_")) return "id_number";
  return null;
}

/**
 * The report of an attempt: the checks the session asked for, the failing one unverified with its
 * error. Attempts that never reached a check (consent declined, abandoned, …) produce no report.
 */
function buildReport(session: StoredSession, errorCode: LastErrorCode | null, env: TransitionEnv): StoredReport | null {
  const failing = errorCode ? failedCheck(errorCode) : null;
  if (errorCode && !failing) return null;
  const report: StoredReport = {
    id: newId("vr"),
    scope: session.scope,
    seq: env.store.nextSeq(),
    created: Math.floor(env.now() / 1000),
    type: session.type,
    verification_session: session.id,
    client_reference_id: session.client_reference_id,
    options: JSON.parse(JSON.stringify(session.options)) as StoredReport["options"],
  };
  if (session.verification_flow !== undefined) report.verification_flow = session.verification_flow;
  const error: CheckError | null = errorCode ? { code: errorCode, reason: LAST_ERROR_REASONS[errorCode] } : null;
  const verdict = (check: Check) => (failing === check ? { status: "unverified" as const, error } : {});

  if (session.type !== "id_number") {
    report.document = { ...fakeDocumentReport(session), ...verdict("document") };
    if (session.options.document?.require_matching_selfie || failing === "selfie") {
      report.selfie = { ...fakeSelfieReport(), ...verdict("selfie") };
    }
  }
  if (checksIdNumber(session) || failing === "id_number") report.id_number = { ...fakeIdNumberReport(), ...verdict("id_number") };
  if (session.provided_details?.email !== undefined || failing === "email") {
    report.email = { status: "verified", value: session.provided_details?.email ?? null, error: null, ...verdict("email") };
  }
  if (session.provided_details?.phone !== undefined || failing === "phone") {
    report.phone = { status: "verified", value: session.provided_details?.phone ?? null, error: null, ...verdict("phone") };
  }
  return report;
}

const REDACTED = "[redacted]";

function redactString(value: string | null): string | null {
  return value === null ? null : REDACTED;
}

function redactAddress(address: Address | null): Address | null {
  if (!address) return null;
  return {
    city: redactString(address.city),
    country: redactString(address.country),
    line1: redactString(address.line1),
    line2: redactString(address.line2),
    postal_code: redactString(address.postal_code),
    state: redactString(address.state),
  };
}

function redactOutputs(v: VerifiedOutputs): VerifiedOutputs {
  return {
    address: redactAddress(v.address),
    dob: null,
    email: redactString(v.email),
    first_name: redactString(v.first_name),
    id_number: redactString(v.id_number),
    id_number_type: v.id_number_type,
    last_name: redactString(v.last_name),
    phone: redactString(v.phone),
    sex: v.sex === null ? null : REDACTED,
    unparsed_place_of_birth: redactString(v.unparsed_place_of_birth),
    unparsed_sex: redactString(v.unparsed_sex),
  };
}

/**
 * Replaces personal data with `[redacted]` (or null where the schema has no string), erases metadata,
 * for the session and every report of it. Irreversible, as on Stripe.
 */
function scrubSession(session: StoredSession, store: Store): void {
  session.metadata = {};
  if (session.provided_details) {
    session.provided_details = Object.fromEntries(Object.keys(session.provided_details).map((k) => [k, REDACTED]));
  }
  if (session.verified_outputs) session.verified_outputs = redactOutputs(session.verified_outputs);
  for (const report of store.reports.values()) {
    if (report.verification_session !== session.id) continue;
    if (report.document) {
      const d = report.document;
      report.document = {
        ...d,
        address: redactAddress(d.address),
        dob: null,
        expiration_date: null,
        issued_date: null,
        files: [],
        first_name: redactString(d.first_name),
        last_name: redactString(d.last_name),
        number: redactString(d.number),
        sex: d.sex === null ? null : REDACTED,
        unparsed_place_of_birth: redactString(d.unparsed_place_of_birth),
        unparsed_sex: redactString(d.unparsed_sex),
      };
    }
    if (report.id_number) {
      const r = report.id_number;
      report.id_number = {
        ...r,
        dob: null,
        first_name: redactString(r.first_name),
        last_name: redactString(r.last_name),
        id_number: redactString(r.id_number),
      };
    }
    if (report.selfie) report.selfie = { ...report.selfie, document: null, selfie: null };
    if (report.email) report.email = { ...report.email, value: redactString(report.email.value) };
    if (report.phone) report.phone = { ...report.phone, value: redactString(report.phone.value) };
  }
}
