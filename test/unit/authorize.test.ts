import { describe, expect, it } from "vitest";
import { authorizeOperation, mayUse } from "../../src/auth/authorize.ts";
import type { BrowserCaller } from "../../src/auth/browser-caller.ts";
import type { ServerCaller } from "../../src/auth/identify-caller.ts";
import type { TenantRecord } from "../../src/config/load.ts";
import { ProxyError } from "../../src/errors.ts";
import { OPERATION_NAMES, OPERATIONS } from "../../src/stripe/operations.ts";

// The rights only read `role` and `operations`; the tenant is never consulted.
const tenant: TenantRecord = { id: "acme", ok: false, issues: [] };

function server(operations?: readonly string[]): ServerCaller {
  return { role: "server", tenant, keyName: "backend", operations, path: "/v1/identity/verification_sessions" };
}

function browser(operations: readonly string[]): BrowserCaller {
  return { role: "browser", tenant, identity: { kind: "anonymous" }, operations, clientIp: null, path: "/" };
}

function refusal(run: () => void): { code: string; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err;
    return { code: err.code, message: err.message };
  }
}

describe("mayUse (the one place operation rights are decided)", () => {
  it("gives a server key without an operations list every operation", () => {
    for (const op of OPERATION_NAMES) expect(mayUse(server(), op)).toBe(true);
  });

  it("narrows a server key to its operations list, the empty list included", () => {
    expect(mayUse(server(["list"]), "list")).toBe(true);
    expect(mayUse(server(["list"]), "create")).toBe(false);
    expect(mayUse(server([]), "list")).toBe(false);
  });

  it("gives a browser only the operations its tenant and identity allow", () => {
    expect(mayUse(browser(["create"]), "create")).toBe(true);
    expect(mayUse(browser(["create"]), "retrieve")).toBe(false);
    expect(mayUse(browser(["create", "retrieve"]), "list")).toBe(false);
  });

  it("grants nothing for a name that is no operation (purge asks for `list`, never for itself)", () => {
    expect(mayUse(server(), "cache_purge")).toBe(false);
  });
});

describe("authorizeOperation", () => {
  it("lets an allowed operation through", () => {
    expect(refusal(() => authorizeOperation(server(["cancel"]), OPERATIONS.cancel))).toBeUndefined();
  });

  it("refuses with 403 operation_not_allowed, naming the operation and who asked", () => {
    expect(refusal(() => authorizeOperation(server(["list"]), OPERATIONS.redact))).toEqual({
      code: "operation_not_allowed",
      message: "This proxy key may not use the redact operation for this tenant.",
    });
    expect(refusal(() => authorizeOperation(browser(["create"]), OPERATIONS.list))).toEqual({
      code: "operation_not_allowed",
      message: "Browser callers may not use the list operation for this tenant.",
    });
  });
});
