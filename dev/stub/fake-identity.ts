import { newId } from "./ids.ts";
import type {
  Address,
  DateParts,
  DocumentReport,
  DocumentType,
  IdNumberReport,
  SelfieReport,
  StoredSession,
  VerifiedOutputs,
} from "./store.ts";

/**
 * The one fake person every verification "finds". Fixed values so that tests can assert them, and
 * obviously fake so that nobody mistakes them for a real person's data in a log.
 */
export const FAKE_PERSON = {
  first_name: "Jenny",
  last_name: "Rosen",
  dob: { day: 1, month: 1, year: 1990 } satisfies DateParts,
  address: {
    city: "San Francisco",
    country: "US",
    line1: "1234 Main St.",
    line2: null,
    postal_code: "94111",
    state: "CA",
  } satisfies Address,
  sex: "female",
  id_number: "0000",
  id_number_type: "us_ssn",
  document_number: "STUB0000000",
  issuing_country: "US",
  issued_date: { day: 1, month: 1, year: 2020 } satisfies DateParts,
  expiration_date: { day: 31, month: 12, year: 2035 } satisfies DateParts,
} as const;

/** Whether the session's checks include an id number (its type, or a document that requires one). */
export function checksIdNumber(session: StoredSession): boolean {
  return session.type === "id_number" || session.options.document?.require_id_number === true;
}

export function fakeVerifiedOutputs(session: StoredSession): VerifiedOutputs {
  const idNumber = checksIdNumber(session);
  return {
    address: { ...FAKE_PERSON.address },
    dob: { ...FAKE_PERSON.dob },
    email: session.provided_details?.email ?? null,
    first_name: FAKE_PERSON.first_name,
    id_number: idNumber ? FAKE_PERSON.id_number : null,
    id_number_type: idNumber ? FAKE_PERSON.id_number_type : null,
    last_name: FAKE_PERSON.last_name,
    phone: session.provided_details?.phone ?? null,
    sex: session.type === "id_number" ? null : FAKE_PERSON.sex,
    unparsed_place_of_birth: null,
    unparsed_sex: null,
  };
}

export function fakeDocumentReport(session: StoredSession): DocumentReport {
  const allowed = session.options.document?.allowed_types;
  const type: DocumentType = allowed?.[0] ?? "driving_license";
  return {
    status: "verified",
    address: { ...FAKE_PERSON.address },
    dob: { ...FAKE_PERSON.dob },
    error: null,
    expiration_date: { ...FAKE_PERSON.expiration_date },
    files: [newId("file"), newId("file")],
    first_name: FAKE_PERSON.first_name,
    issued_date: { ...FAKE_PERSON.issued_date },
    issuing_country: FAKE_PERSON.issuing_country,
    last_name: FAKE_PERSON.last_name,
    number: FAKE_PERSON.document_number,
    sex: FAKE_PERSON.sex,
    type,
    unparsed_place_of_birth: null,
    unparsed_sex: null,
  };
}

export function fakeIdNumberReport(): IdNumberReport {
  return {
    status: "verified",
    dob: { ...FAKE_PERSON.dob },
    error: null,
    first_name: FAKE_PERSON.first_name,
    id_number: FAKE_PERSON.id_number,
    id_number_type: FAKE_PERSON.id_number_type,
    last_name: FAKE_PERSON.last_name,
  };
}

export function fakeSelfieReport(): SelfieReport {
  return { status: "verified", document: newId("file"), error: null, selfie: newId("file") };
}
