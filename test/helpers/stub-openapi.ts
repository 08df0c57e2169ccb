/**
 * The Stripe Identity OpenAPI extract as real JSON Schema, for ajv: OpenAPI 3.0's `nullable` becomes
 * a `null` branch, `#/components/schemas/X` refs point into one shared `$defs` document, vendor keys go.
 * Objects that declare properties get `additionalProperties: false`: stricter than Stripe's spec on
 * purpose, so the stub cannot invent fields that Stripe does not have.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";

type Node = Record<string, unknown>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SPEC_PATH = resolve(root, process.env.IDENTITY_OPENAPI ?? "vendor/stripe/identity-openapi.json");

export interface IdentitySpec {
  paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: Node }> }> }>>;
  components: { schemas: Record<string, Node> };
}

export function loadIdentitySpec(): IdentitySpec {
  return JSON.parse(readFileSync(SPEC_PATH, "utf8")) as IdentitySpec;
}

const COMPONENTS_ID = "stripe-components";

/** OpenAPI 3.0 schema → JSON Schema (draft 2020-12 subset that ajv's default draft-07 also reads). */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== "object" || node === null) return node;
  const src = node as Node;
  if (typeof src.$ref === "string") {
    const ref = { $ref: src.$ref.replace("#/components/schemas/", `${COMPONENTS_ID}#/$defs/`) };
    return src.nullable === true ? { anyOf: [ref, { type: "null" }] } : ref;
  }
  const out: Node = {};
  for (const [key, value] of Object.entries(src)) {
    if (key.startsWith("x-") || key === "nullable") continue;
    out[key] = key === "properties" ? mapValues(value as Node, toJsonSchema) : toJsonSchema(value);
  }
  if (src.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: "null" }];
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function mapValues(obj: Node, fn: (v: unknown) => unknown): Node {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
}

export interface SpecValidators {
  ajv: Ajv;
  /** The validator of one component schema (`identity.verification_session`, `error`, …). */
  component(name: string): ValidateFunction;
  /** The validator of an operation's answer: its 200 schema, or `default` (the error schema) otherwise. */
  response(method: string, openapiPath: string, status: number): ValidateFunction;
}

export function compileSpec(spec: IdentitySpec = loadIdentitySpec()): SpecValidators {
  const ajv = new Ajv({ strict: true, allErrors: true });
  // Stripe's timestamps: integer seconds.
  ajv.addFormat("unix-time", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= 0 });
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: mapValues(spec.components.schemas, toJsonSchema) });
  const cache = new Map<string, ValidateFunction>();
  const compiled = (key: string, make: () => unknown) => {
    let v = cache.get(key);
    if (!v) {
      v = ajv.compile(make() as Node);
      cache.set(key, v);
    }
    return v;
  };
  return {
    ajv,
    component: (name) => {
      if (!spec.components.schemas[name]) throw new Error(`no component schema ${name}`);
      return compiled(`c:${name}`, () => ({ $ref: `${COMPONENTS_ID}#/$defs/${name}` }));
    },
    response: (method, openapiPath, status) => {
      const op = spec.paths[openapiPath]?.[method.toLowerCase()];
      if (!op) throw new Error(`no operation ${method} ${openapiPath}`);
      const which = status === 200 ? "200" : "default";
      const schema = op.responses[which]?.content["application/json"]?.schema;
      if (!schema) throw new Error(`no ${which} response for ${method} ${openapiPath}`);
      return compiled(`r:${method}:${openapiPath}:${which}`, () => toJsonSchema(schema));
    },
  };
}

/** ajv's errors as one readable line, for assertion messages. */
export function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("; ");
}

/**
 * Every expandable path the extract declares below a schema (`x-expandableFields`, followed through
 * refs and anyOf), e.g. `last_verification_report`, `options.document`.
 */
export function expandablePaths(spec: IdentitySpec, schemaName: string, depth = 3): string[] {
  const out: string[] = [];
  const visit = (name: string, prefix: string, level: number) => {
    const schema = spec.components.schemas[name];
    if (!schema || level > depth) return;
    const fields = (schema["x-expandableFields"] as string[] | undefined) ?? [];
    const props = (schema.properties ?? {}) as Record<string, Node>;
    for (const field of fields) {
      const path = `${prefix}${field}`;
      out.push(path);
      for (const target of refsOf(props[field])) visit(target, `${path}.`, level + 1);
    }
  };
  visit(schemaName, "", 0);
  return out;
}

function refsOf(node: Node | undefined): string[] {
  if (!node) return [];
  const refs: string[] = [];
  const add = (n: unknown) => {
    const ref = (n as Node | undefined)?.$ref;
    if (typeof ref === "string") refs.push(ref.replace("#/components/schemas/", ""));
  };
  add(node);
  for (const branch of (node.anyOf as unknown[] | undefined) ?? []) add(branch);
  return refs;
}
