import type { FormParams as Params } from "./form.ts";
import { StubError } from "./errors.ts";
import type { Scope } from "./store.ts";

/**
 * Stripe's idempotent requests, as its docs describe them: the first result of a POST with an
 * `Idempotency-Key` is saved once the endpoint started executing (validation failures are not) and
 * replayed for the same key and parameters for 24 hours; the same key with other parameters or on
 * another endpoint is an `idempotency_error`; a key whose first request is still running is a 409.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEY_MAX = 255;

export interface SavedResult {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
  /** The request that produced it: replays name it in `Original-Request`. */
  requestId: string;
  savedAt: number;
}

/** A canonical form of the parameters (sorted keys) so that key order never looks like a change. */
export function fingerprint(params: Params): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(canon(params));
}

export type IdempotencyLookup = { kind: "new" } | { kind: "replay"; saved: SavedResult };

export class IdempotencyStore {
  private readonly saved = new Map<string, SavedResult>();
  private readonly running = new Set<string>();

  private static mapKey(scope: Scope, key: string): string {
    return `${scope.key}\u0000${key}`;
  }

  /** What to do with a request carrying `key`; throws the Stripe error when it must be refused. */
  lookup(scope: Scope, key: string, method: string, path: string, print: string, nowMs: number): IdempotencyLookup {
    if (key.length > IDEMPOTENCY_KEY_MAX) {
      throw new StubError(400, `Idempotency keys can be at most ${IDEMPOTENCY_KEY_MAX} characters long.`, {
        type: "idempotency_error",
      });
    }
    const mapKey = IdempotencyStore.mapKey(scope, key);
    if (this.running.has(mapKey)) {
      throw new StubError(
        409,
        `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): '${key}'. Please try again later.`,
        { type: "idempotency_error", code: "idempotency_key_in_use", headers: { "Stripe-Should-Retry": "true" } },
      );
    }
    const saved = this.saved.get(mapKey);
    if (!saved || nowMs - saved.savedAt > IDEMPOTENCY_TTL_MS) return { kind: "new" };
    if (saved.method !== method || saved.path !== path) {
      throw new StubError(
        400,
        `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.path}' vs '${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        { type: "idempotency_error" },
      );
    }
    if (saved.fingerprint !== print) {
      throw new StubError(
        400,
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        { type: "idempotency_error" },
      );
    }
    return { kind: "replay", saved };
  }

  /** Marks the key as running until `end`; a concurrent request with it gets the 409. */
  begin(scope: Scope, key: string): void {
    this.running.add(IdempotencyStore.mapKey(scope, key));
  }

  end(scope: Scope, key: string): void {
    this.running.delete(IdempotencyStore.mapKey(scope, key));
  }

  save(scope: Scope, key: string, result: SavedResult): void {
    this.saved.set(IdempotencyStore.mapKey(scope, key), result);
  }

  reset(): void {
    this.saved.clear();
    this.running.clear();
  }
}
