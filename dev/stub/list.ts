import type { FormParams as Params, FormValue as ParamValue } from "./form.ts";
import { StubError } from "./errors.ts";
import type { JsonObject } from "./store.ts";

/**
 * Stripe's cursor pagination: newest first (ties broken by creation order, so pages are stable),
 * `limit` 1..100 (default 10), `starting_after` pages towards older objects and `ending_before`
 * towards newer ones, `has_more` telling whether more exist in the direction of travel.
 */
export interface Listable {
  id: string;
  created: number;
  seq: number;
}

export const LIST_LIMIT = { default: 10, min: 1, max: 100 } as const;

function newerFirst(a: Listable, b: Listable): number {
  return b.created - a.created || b.seq - a.seq;
}

function str(v: ParamValue | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function parseLimit(raw: ParamValue | undefined): number {
  if (raw === undefined) return LIST_LIMIT.default;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < LIST_LIMIT.min || n > LIST_LIMIT.max) {
    throw new StubError(
      400,
      `Invalid integer: ${String(raw)}. This value must be between ${LIST_LIMIT.min} and ${LIST_LIMIT.max}.`,
      {
        code: "parameter_invalid_integer",
        param: "limit",
      },
    );
  }
  return n;
}

/** The `created` filter: an exact second, or a range with gt/gte/lt/lte. */
export function createdFilter(raw: ParamValue | undefined): (created: number) => boolean {
  if (raw === undefined) return () => true;
  if (typeof raw === "string") {
    const exact = Number(raw);
    return (c) => c === exact;
  }
  const range = raw as Params;
  const bound = (k: string) => (typeof range[k] === "string" ? Number(range[k]) : undefined);
  const gt = bound("gt");
  const gte = bound("gte");
  const lt = bound("lt");
  const lte = bound("lte");
  return (c) =>
    (gt === undefined || c > gt) &&
    (gte === undefined || c >= gte) &&
    (lt === undefined || c < lt) &&
    (lte === undefined || c <= lte);
}

/**
 * One page of `all` (the caller's objects, unfiltered, so cursors are found even when filtered out)
 * after applying `keep`. A cursor that names no object of the caller is Stripe's `resource_missing`.
 */
export function listPage<T extends Listable>(
  all: readonly T[],
  params: Params,
  url: string,
  keep: (item: T) => boolean,
  render: (item: T) => JsonObject,
  kind: "verification_session" | "verification_report",
): JsonObject {
  const limit = parseLimit(params.limit);
  const startingAfter = str(params.starting_after);
  const endingBefore = str(params.ending_before);
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw new StubError(400, "You may only specify one of these parameters: ending_before, starting_after.", {
      code: "parameters_exclusive",
      param: "ending_before",
    });
  }
  const sorted = [...all].sort(newerFirst);
  const cursorParam = startingAfter !== undefined ? "starting_after" : "ending_before";
  const cursorId = startingAfter ?? endingBefore;
  const cursor = cursorId === undefined ? undefined : sorted.find((item) => item.id === cursorId);
  if (cursorId !== undefined && !cursor) {
    throw new StubError(404, `No such ${kind}: '${cursorId}'`, { code: "resource_missing", param: cursorParam });
  }

  let page: T[];
  let hasMore: boolean;
  if (cursor && endingBefore !== undefined) {
    // Objects newer than the cursor; the page is the `limit` closest to it.
    const newer = sorted.filter((item) => newerFirst(item, cursor) < 0 && keep(item));
    page = newer.slice(Math.max(0, newer.length - limit));
    hasMore = newer.length > limit;
  } else {
    const older = cursor ? sorted.filter((item) => newerFirst(item, cursor) > 0 && keep(item)) : sorted.filter(keep);
    page = older.slice(0, limit);
    hasMore = older.length > limit;
  }
  return { object: "list", data: page.map(render), has_more: hasMore, url };
}
