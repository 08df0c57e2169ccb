import { ProxyError } from "../errors.ts";
import { readBoundedText } from "../http/read-body.ts";
import { MAX_REQUEST_BODY_BYTES } from "../limits.ts";
import { type DecodeResult, type Params, paramsFromJson, parseForm } from "./form-codec.ts";
import type { OperationSpec } from "./operations.ts";
import { operationKey, validateParams } from "./validate-params.ts";

type MediaType = "form" | "json" | "none" | "other";

function mediaTypeOf(header: string | null): MediaType {
  if (header === null || header.trim() === "") return "none";
  const [type, ...paramsList] = header
    .toLowerCase()
    .split(";")
    .map((s) => s.trim());
  const charset = paramsList
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/"/g, "");
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return "other";
  if (type === "application/x-www-form-urlencoded") return "form";
  if (type === "application/json") return "json";
  return "other";
}

function decodeOrThrow(result: DecodeResult): Params {
  if (!result.ok) throw new ProxyError("parameter_invalid", result.reason);
  return result.params;
}

/**
 * Reads the caller's parameters for an operation (query string for GET, form or JSON body for POST),
 * and validates them against the operation's OpenAPI schema. Query strings on POST are refused so
 * that no parameter reaches Stripe by a channel the policy does not read.
 */
export async function parseOperationParams(request: Request, url: URL, op: OperationSpec): Promise<Params> {
  let params: Params;
  if (op.method === "GET") {
    params = url.search.length > 1 ? decodeOrThrow(parseForm(url.search.slice(1))) : {};
  } else {
    if (url.search.length > 1) {
      throw new ProxyError("parameter_invalid", "Parameters of a POST request must be sent in the body, not the query string.");
    }
    const media = mediaTypeOf(request.headers.get("content-type"));
    if (media === "other") {
      throw new ProxyError(
        "unsupported_media_type",
        "The request body must be application/x-www-form-urlencoded (as Stripe's SDKs send) or application/json, in UTF-8.",
      );
    }
    const text = await readBoundedText(request.body, request.headers.get("content-length"), MAX_REQUEST_BODY_BYTES);
    if (media === "none") {
      if (text.trim() !== "") throw new ProxyError("unsupported_media_type", "A request body needs a Content-Type header.");
      params = {};
    } else if (media === "form") {
      params = decodeOrThrow(parseForm(text));
    } else {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ProxyError("parameter_invalid", "The request body is not valid JSON.");
      }
      params = decodeOrThrow(paramsFromJson(json));
    }
  }
  const checked = validateParams(operationKey(op.method, op.openapiPath), params);
  if (!checked.ok) throw new ProxyError(checked.issue.code, checked.issue.message, { param: checked.issue.param });
  return checked.params;
}
