import { StubError } from "./errors.ts";
import { bracketParam, type FormParams } from "./form.ts";
import { VALIDATORS } from "./validators.generated.ts";

/** The part of an ajv error the stub reads (the generated code produces these objects). */
interface AjvIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvIssue[] | null };

const TABLE = VALIDATORS as unknown as Record<string, Validator>;

function paramOf(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  return bracketParam(parts);
}

/**
 * Checks decoded params against the operation's generated validator and throws Stripe's 400 for the
 * first problem: an unknown parameter wins (Stripe names it even when other values are also wrong),
 * then a missing one, then the deepest invalid value. Messages follow Stripe's wording where known.
 */
export function validateForm(operation: string, params: FormParams): void {
  const validate = TABLE[operation];
  if (!validate) throw new Error(`no validator for ${operation}`);
  if (validate(params)) return;
  const issues = (validate.errors ?? []).filter((e) => e.keyword !== "anyOf");
  const unknown = issues.find((e) => e.keyword === "additionalProperties");
  if (unknown) {
    const param = paramOf(unknown.instancePath, String(unknown.params.additionalProperty));
    throw new StubError(400, `Received unknown parameter: ${param}`, { code: "parameter_unknown", param });
  }
  const missing = issues.find((e) => e.keyword === "required");
  if (missing) {
    const param = paramOf(missing.instancePath, String(missing.params.missingProperty));
    throw new StubError(400, `Missing required param: ${param}.`, { code: "parameter_missing", param });
  }
  const deepest = [...issues].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
  const param = paramOf(deepest?.instancePath ?? "");
  throw new StubError(400, invalidMessage(param, deepest), { code: "parameter_invalid", param });
}

function invalidMessage(param: string, issue: AjvIssue | undefined): string {
  switch (issue?.keyword) {
    case "pattern":
      return String(issue.params.pattern).includes("Tt")
        ? `Invalid boolean: ${param} must be true or false.`
        : `Invalid integer: ${param}.`;
    case "enum":
      return `Invalid ${param}: must be one of ${(issue.params.allowedValues as unknown[]).map(String).join(", ")}`;
    case "maxLength":
      return `Invalid string: ${param} must be at most ${String(issue.params.limit)} characters.`;
    case "type":
      return issue.params.type === "object"
        ? `Invalid object: ${param} must be a hash.`
        : issue.params.type === "array"
          ? `Invalid array: ${param} must be a list.`
          : `Invalid string: ${param} must be a single string value.`;
    default:
      return `Invalid value for ${param}.`;
  }
}
