import { bracketPath, emptyParams, type ParamValue, type Params } from "./form-codec.ts";
import { OPERATION_PARAMS } from "./openapi-params.generated.ts";
import type { ParamSchema } from "./param-schema.ts";

export type ParamIssue = {
  code: "parameter_unknown" | "parameter_invalid" | "parameter_missing";
  param: string;
  message: string;
};

export type ValidateResult = { ok: true; params: Params } | { ok: false; issue: ParamIssue };

const INTEGER = /^-?\d{1,15}$/;

/**
 * Behaviour Stripe documents that its OpenAPI extract does not encode, by operation: parameters that
 * also take the empty string to unset them. Stripe's metadata docs: "All keys can be unset by posting
 * an empty value to metadata" (https://docs.stripe.com/api/metadata); a single key is unset with
 * `metadata[key]=`, which the schema already allows. The extract's own `anyOf` with `enum: [""]`
 * (`options[document]`) is read from the schema, and the policy decides about it.
 */
export const DOCUMENTED_EMPTY_UNSETS: Readonly<Record<string, readonly string[]>> = {
  "POST /v1/identity/verification_sessions": ["metadata"],
  "POST /v1/identity/verification_sessions/{session}": ["metadata"],
};

const EMPTY_STRING: ParamSchema = { t: "string", enum: [""] };

/** The operation's schema with each documented top-level "empty string unsets" idiom as an anyOf branch. */
function withDocumentedIdioms(key: string, schema: ParamSchema): ParamSchema {
  const unsets = DOCUMENTED_EMPTY_UNSETS[key];
  if (!unsets || schema.t !== "object") return schema;
  const props = { ...schema.props };
  for (const name of unsets) {
    const prop = props[name];
    if (prop) props[name] = { t: "anyOf", of: [prop, EMPTY_STRING] };
  }
  return { ...schema, props };
}

const SCHEMAS: Readonly<Record<string, ParamSchema>> = Object.fromEntries(
  Object.entries(OPERATION_PARAMS).map(([key, schema]) => [key, withDocumentedIdioms(key, schema)]),
);

/**
 * A boolean as Stripe's v1 API reads it: `true`/`false` in any case (stripe-python before 2025 sent
 * `True`/`False`). Returns the canonical form the proxy forwards and the policy reads, or undefined.
 */
export function canonicalBoolean(value: ParamValue | undefined): "true" | "false" | undefined {
  if (typeof value !== "string") return undefined;
  const lower = value.toLowerCase();
  return lower === "true" || lower === "false" ? lower : undefined;
}

/**
 * Validates form-shaped params against the operation's schema from the OpenAPI extract and returns them
 * normalized: indexed arrays that arrived as objects with numeric keys become arrays. The first problem
 * found is reported with Stripe's code and the parameter in bracket notation; unknown parameters win
 * over invalid ones so that a policy can never be sidestepped by a parameter it does not know.
 */
export function validateParams(operationKey: string, params: Params): ValidateResult {
  const schema = SCHEMAS[operationKey];
  if (!schema) throw new Error(`no parameter schema for ${operationKey}`);
  const unknown = findUnknown(schema, params, []);
  if (unknown) return { ok: false, issue: unknown };
  const result = check(schema, params, []);
  if (!result.ok) return result;
  return { ok: true, params: result.value as Params };
}

function isRecord(v: ParamValue): v is Params {
  return typeof v === "object" && !Array.isArray(v);
}

function objectBranch(schema: ParamSchema): Extract<ParamSchema, { t: "object" }> | undefined {
  if (schema.t === "object") return schema;
  if (schema.t === "anyOf") return schema.of.find((s): s is Extract<ParamSchema, { t: "object" }> => s.t === "object");
  return undefined;
}

function arrayItems(schema: ParamSchema): ParamSchema | undefined {
  if (schema.t === "array") return schema.items;
  if (schema.t === "anyOf") return schema.of.find((s) => s.t === "array")?.items as ParamSchema | undefined;
  return undefined;
}

/**
 * The schema of property `k`: an own property of `props` only, so a key named like an
 * Object.prototype member (`toString`, `hasOwnProperty`…) is unknown, not a function.
 */
function propSchema(schema: Extract<ParamSchema, { t: "object" }>, k: string): ParamSchema | undefined {
  return Object.hasOwn(schema.props, k) ? schema.props[k] : schema.extra;
}

function findUnknown(schema: ParamSchema, value: ParamValue, path: (string | number)[]): ParamIssue | undefined {
  const items = arrayItems(schema);
  if (items && (Array.isArray(value) || isRecord(value))) {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    for (const [k, v] of entries) {
      const found = findUnknown(items, v, [...path, k]);
      if (found) return found;
    }
    return undefined;
  }
  const obj = objectBranch(schema);
  if (!obj || !isRecord(value)) return undefined;
  for (const [k, v] of Object.entries(value)) {
    const child = propSchema(obj, k);
    if (!child) {
      const param = bracketPath([...path, k]);
      return { code: "parameter_unknown", param, message: `Received unknown parameter: ${param}` };
    }
    const found = findUnknown(child, v, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

type Checked = { ok: true; value: ParamValue } | { ok: false; issue: ParamIssue };

function invalid(path: (string | number)[], message: string): Checked {
  return { ok: false, issue: { code: "parameter_invalid", param: bracketPath(path), message } };
}

function check(schema: ParamSchema, value: ParamValue, path: (string | number)[]): Checked {
  switch (schema.t) {
    case "string": {
      if (typeof value !== "string") return invalid(path, `Invalid string: ${bracketPath(path)} must be a single string value.`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) {
        return invalid(path, `Invalid string: ${bracketPath(path)} must be at most ${schema.maxLength} characters.`);
      }
      if (schema.enum && !schema.enum.includes(value)) {
        return invalid(path, `Invalid ${bracketPath(path)}: must be one of ${schema.enum.join(", ")}.`);
      }
      return { ok: true, value };
    }
    case "integer":
      if (typeof value !== "string" || !INTEGER.test(value)) return invalid(path, `Invalid integer: ${bracketPath(path)}.`);
      return { ok: true, value };
    case "boolean": {
      const canonical = canonicalBoolean(value);
      if (canonical === undefined) return invalid(path, `Invalid boolean: ${bracketPath(path)} must be true or false.`);
      return { ok: true, value: canonical };
    }
    case "array": {
      let list: ParamValue[];
      if (Array.isArray(value)) list = value;
      else if (isRecord(value) && Object.keys(value).every((k) => /^\d{1,3}$/.test(k))) {
        // A hash of index-like keys (`a[01]=x`, JSON `{"0": …}`): Stripe reads it as a list in index order.
        list = Object.keys(value)
          .sort((a, b) => Number(a) - Number(b))
          .map((k) => value[k] as ParamValue);
      } else return invalid(path, `Invalid array: ${bracketPath(path)} must be a list.`);
      const out: ParamValue[] = [];
      for (const [i, item] of list.entries()) {
        const r = check(schema.items, item, [...path, i]);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return { ok: true, value: out };
    }
    case "object": {
      if (!isRecord(value)) return invalid(path, `Invalid object: ${bracketPath(path)} must be a hash.`);
      const out = emptyParams();
      for (const [k, v] of Object.entries(value)) {
        const child = propSchema(schema, k);
        if (!child) return invalid([...path, k], `Received unknown parameter: ${bracketPath([...path, k])}`);
        const r = check(child, v, [...path, k]);
        if (!r.ok) return r;
        out[k] = r.value;
      }
      for (const req of schema.required ?? []) {
        if (!Object.hasOwn(out, req)) {
          const param = bracketPath([...path, req]);
          return { ok: false, issue: { code: "parameter_missing", param, message: `Missing required param: ${param}.` } };
        }
      }
      return { ok: true, value: out };
    }
    case "anyOf": {
      let first: Checked | undefined;
      for (const option of schema.of) {
        const r = check(option, value, path);
        if (r.ok) return r;
        first ??= r;
      }
      // Report against the branch of the value's own shape (an object for a hash, else the scalar one).
      const shaped = schema.of.find((s) => (isRecord(value) ? s.t === "object" : s.t !== "object"));
      if (
        shaped?.t === "string" &&
        shaped.enum?.length === 1 &&
        shaped.enum[0] === "" &&
        schema.of.some((s) => s.t === "object")
      ) {
        return invalid(path, `Invalid ${bracketPath(path)}: must be a hash, or an empty string to unset it.`);
      }
      return shaped ? check(shaped, value, path) : (first ?? invalid(path, `Invalid value: ${bracketPath(path)}.`));
    }
  }
}

/** The key of an operation in the generated table. */
export function operationKey(method: string, openapiPath: string): string {
  return `${method} ${openapiPath}`;
}
