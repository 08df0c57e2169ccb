/**
 * The compact parameter schema generated from Stripe's OpenAPI extract (a subset of JSON Schema:
 * what the Identity request parameters use).
 */
export type ParamSchema =
  | { t: "string"; maxLength?: number; enum?: string[] }
  | { t: "integer" }
  | { t: "boolean" }
  | { t: "array"; items: ParamSchema }
  | { t: "object"; props: Record<string, ParamSchema>; extra?: ParamSchema; required?: string[] }
  | { t: "anyOf"; of: ParamSchema[] };
