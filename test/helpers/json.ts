/** A Stripe JSON object as a test received it (response body, SDK result, error), read field by field in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests read what they assert; a wrong guess fails the assertion.
export type Json = Record<string, any>;
