import { describe, expect, it } from "vitest";
import { matchOperation, upstreamPath } from "../../src/stripe/operations.ts";

describe("matchOperation", () => {
  it.each([
    ["POST", "/v1/identity/verification_sessions", "create"],
    ["GET", "/v1/identity/verification_sessions", "list"],
    ["GET", "/v1/identity/verification_sessions/vs_123abc", "retrieve"],
    ["POST", "/v1/identity/verification_sessions/vs_123abc", "update"],
    ["POST", "/v1/identity/verification_sessions/vs_123abc/cancel", "cancel"],
    ["POST", "/v1/identity/verification_sessions/vs_123abc/redact", "redact"],
    ["GET", "/v1/identity/verification_reports", "report_list"],
    ["GET", "/v1/identity/verification_reports/vr_9", "report_retrieve"],
  ])("%s %s → %s", (method, path, name) => {
    const m = matchOperation(method, path);
    expect(m.kind).toBe("operation");
    if (m.kind === "operation") expect(m.op.name).toBe(name);
  });

  it.each([
    "/v1/identity/verification_sessions/vs_a%2F..",
    "/v1/identity/verification_sessions/vs_",
    "/v1/identity/verification_sessions/vr_123",
    "/v1/identity/verification_sessions/vs_a.b",
    "/v1/identity/verification_sessions/..",
    "/v1/identity/verification_reports/vs_123",
  ])("refuses a malformed id in %s", (path) => {
    expect(matchOperation("GET", path).kind).toBe("bad_id");
  });

  it("reports the allowed methods of a known path", () => {
    expect(matchOperation("DELETE", "/v1/identity/verification_sessions")).toEqual({
      kind: "wrong_method",
      allowed: ["POST", "GET"],
    });
  });

  it.each([
    "/v1/customers",
    "/v1/identity/verification_sessions/vs_1/cancel/x",
    "/v2/identity/verification_sessions",
    "//v1/identity/verification_sessions",
  ])("does not match %s", (path) => expect(matchOperation("GET", path).kind).toBe("none"));

  it("rebuilds the upstream path from the template", () => {
    const m = matchOperation("POST", "/v1/identity/verification_sessions/vs_1/cancel");
    if (m.kind !== "operation") throw new Error("no match");
    expect(upstreamPath(m.op, m.id)).toBe("/v1/identity/verification_sessions/vs_1/cancel");
  });
});
