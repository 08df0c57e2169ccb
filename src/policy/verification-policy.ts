import * as v from "valibot";
import { checkReturnUrl, parseAllowListEntry } from "./return-url.ts";

/**
 * The policy's own vocabulary: the session and document types Stripe documents, and the schema of a
 * tenant's `verification` block. The tenant config (config/schema.ts) embeds this schema; the policy
 * modules read `VerificationPolicy`. Policy depends on nothing of config.
 */

/** The session types Stripe documents. `type` bypasses Stripe's own enum validation, so we hold it here. */
export const SESSION_TYPES = ["document", "id_number"] as const;
export type SessionType = (typeof SESSION_TYPES)[number];

/** The document types Stripe documents for `options[document][allowed_types]`. */
export const DOCUMENT_TYPES = ["driving_license", "id_card", "passport"] as const;

/**
 * A `return_urls` entry: the policy matches scheme, host and port exactly and uses the path as a
 * prefix, so the entry itself must be canonical, https (http only for local hosts), without userinfo,
 * query or fragment. The same reader the policy uses decides, so config and run time never disagree.
 */
const ReturnUrlEntry = v.pipe(
  v.string(),
  v.url("must be an absolute URL"),
  v.check(
    (entry) => parseAllowListEntry(entry).ok,
    (issue) => {
      const read = typeof issue.input === "string" ? parseAllowListEntry(issue.input) : undefined;
      return read && !read.ok ? read.problem : "must be an absolute https URL";
    },
  ),
);

/** A tenant's `verification` block: what its sessions may ask of Stripe Identity (docs/policy.md). */
export const VerificationSchema = v.pipe(
  v.strictObject({
    session_types: v.pipe(v.array(v.picklist(SESSION_TYPES)), v.minLength(1, "must allow at least one session type")),
    allowed_document_types: v.optional(
      v.pipe(v.array(v.picklist(DOCUMENT_TYPES)), v.minLength(1, "must allow at least one document type")),
      [...DOCUMENT_TYPES],
    ),
    require_live_capture: v.optional(v.boolean(), false),
    require_matching_selfie: v.optional(v.boolean(), false),
    require_id_number: v.optional(v.boolean(), false),
    verification_flows: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
    return_urls: v.optional(v.array(ReturnUrlEntry), []),
    default_return_url: v.optional(v.pipe(v.string(), v.url("must be an absolute URL"))),
  }),
  v.forward(
    v.partialCheck(
      [["return_urls"], ["default_return_url"]],
      (input) => input.default_return_url === undefined || checkReturnUrl(input.default_return_url, input.return_urls).ok,
      "must match an entry of return_urls (it is checked like a caller's return_url)",
    ),
    ["default_return_url"],
  ),
);

export type VerificationPolicy = v.InferOutput<typeof VerificationSchema>;
