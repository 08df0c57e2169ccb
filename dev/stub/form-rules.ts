/**
 * What Stripe's form API accepts, as JSON Schema over the decoded form (every leaf a string): the
 * OpenAPI extract's parameter schemas, rewritten by the rules below. The rules are behaviours Stripe
 * documents but the extract does not encode; each names its source. dev/stub/gen-validators.ts compiles
 * the result with ajv's standalone code generation, so no schema is compiled at run time (workerd forbids
 * `new Function`).
 */
type Json = Record<string, unknown>;

export interface FormRule {
  id: string;
  rule: string;
  source: string;
}

export const FORM_RULES: readonly FormRule[] = [
  {
    id: "boolean_any_case",
    rule: "A boolean parameter is `true` or `false` in any letter case (`True`, `FALSE`).",
    source:
      "https://github.com/stripe/stripe-dotnet/pull/3104 (v1 accepts True/False); stripe-python before 2025 encoded booleans with str(): `True`/`False`",
  },
  {
    id: "integer_string",
    rule: "An integer parameter is a decimal string, optionally negative.",
    source: "https://docs.stripe.com/api/pagination (limit, created[gte] are sent as form strings)",
  },
  {
    id: "metadata_empty_unsets_all",
    rule: "`metadata=` (empty string) unsets every key; `metadata[key]=` unsets one key.",
    source: "https://docs.stripe.com/api/metadata; also the extract's own description of `metadata`",
  },
  {
    id: "bypass_validation_enum",
    rule: "A string enum marked `x-stripeBypassValidation` accepts values beyond the published list.",
    source: "https://github.com/stripe/openapi (x-stripeBypassValidation: the API may accept more values)",
  },
];

const BOOLEAN = "^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$";
const INTEGER = "^-?[0-9]{1,15}$";

/** The extract's parameter schema → the schema of the decoded form value. `deref` resolves `$ref`s. */
export function formSchema(node: Json, deref: (n: Json) => Json, at: readonly string[] = []): Json {
  const n = deref(node);
  if (Array.isArray(n.anyOf)) return { anyOf: (n.anyOf as Json[]).map((b) => formSchema(b, deref, at)) };
  switch (n.type) {
    case "boolean":
      return { type: "string", pattern: BOOLEAN };
    case "integer":
      return { type: "string", pattern: INTEGER };
    case "string": {
      const out: Json = { type: "string" };
      if (typeof n.maxLength === "number") out.maxLength = n.maxLength;
      if (Array.isArray(n.enum) && n["x-stripeBypassValidation"] !== true) out.enum = n.enum;
      return out;
    }
    case "array":
      return { type: "array", items: formSchema(n.items as Json, deref, [...at, "[]"]) };
    case "object": {
      const properties: Json = {};
      for (const [k, v] of Object.entries((n.properties as Record<string, Json>) ?? {})) {
        properties[k] = formSchema(v, deref, [...at, k]);
      }
      const out: Json = { type: "object", properties };
      const extra = n.additionalProperties;
      out.additionalProperties = extra && typeof extra === "object" ? formSchema(extra as Json, deref, [...at, "*"]) : false;
      if (Array.isArray(n.required) && n.required.length > 0) out.required = n.required;
      // metadata_empty_unsets_all: the extract types metadata as an object only.
      if (at.at(-1) === "metadata") return { anyOf: [out, { type: "string", enum: [""] }] };
      return out;
    }
    default:
      if (Array.isArray(n.enum)) return { type: "string", enum: n.enum };
      throw new Error(`unsupported schema node at ${at.join(".")}: ${JSON.stringify(n).slice(0, 200)}`);
  }
}

export interface IdentityExtract {
  info: { version: string };
  paths: Record<string, Record<string, Json>>;
}

/** One schema per operation (`POST /v1/identity/verification_sessions`): query parameters or form body. */
export function operationSchemas(spec: IdentityExtract): Record<string, Json> {
  const deref = (node: Json): Json => {
    const ref = node.$ref;
    if (typeof ref !== "string") return node;
    let cur: unknown = spec;
    for (const p of ref.replace(/^#\//, "").split("/")) cur = (cur as Json)[p];
    return deref(cur as Json);
  };
  const out: Record<string, Json> = {};
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const properties: Json = {};
      let required: unknown[] = [];
      for (const p of (op.parameters as Json[] | undefined) ?? []) {
        if (p.in === "query") properties[p.name as string] = formSchema(p.schema as Json, deref, [p.name as string]);
      }
      const content = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const form = content?.["application/x-www-form-urlencoded"]?.schema as Json | undefined;
      if (form) {
        const body = formSchema(form, deref);
        Object.assign(properties, body.properties as Json);
        required = (body.required as unknown[] | undefined) ?? [];
      }
      const schema: Json = { type: "object", properties, additionalProperties: false };
      if (required.length > 0) schema.required = required;
      out[`${method.toUpperCase()} ${path}`] = schema;
    }
  }
  return out;
}
