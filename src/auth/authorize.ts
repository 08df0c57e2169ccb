import { ProxyError } from "../errors.ts";
import { DEFAULT_OPERATIONS, type OperationSpec } from "../stripe/operations.ts";
import type { Caller } from "./identify-caller.ts";

/**
 * The operation rights of a caller, in one place: a server key's `operations` (default: every
 * server operation), a browser's operations for its tenant and identity (default: the browser set).
 */
export function mayUse(caller: Caller, operation: string): boolean {
  const allowed: readonly string[] = caller.operations ?? DEFAULT_OPERATIONS[caller.role];
  return allowed.includes(operation);
}

/** Refuses, with 403 `operation_not_allowed`, an Identity operation the caller has no right to. */
export function authorizeOperation(caller: Caller, op: OperationSpec): void {
  if (mayUse(caller, op.name)) return;
  const who = caller.role === "server" ? "This proxy key" : "Browser callers";
  throw new ProxyError("operation_not_allowed", `${who} may not use the ${op.name} operation for this tenant.`);
}
