import type { Env } from "./env.ts";
import type { UpstreamTimings } from "./limits.ts";
import type { AccessLogFields, Logger } from "./log/logger.ts";
import type { TenantDirectory } from "./tenancy/directory.ts";

/**
 * What the request path needs from the outside world, passed in rather than captured at module scope,
 * so tests substitute the upstream (the Stripe stub), the clock and timings.
 */
export interface Deps {
  fetch: (input: Request) => Promise<Response>;
  now: () => number;
  /** Writes one log line; console.log in the Worker. */
  logSink: (line: string) => void;
  timings?: Partial<UpstreamTimings>;
  /**
   * Routes only a dev entry adds (dev/worker.ts: the demo page and dev login), tried after every
   * production route and before the 404; undefined means "not mine". The deployed Worker
   * (src/index.ts) passes none, so its bundle holds no dev code.
   */
  devRoutes?: (request: Request, state: RequestState) => Promise<Response | undefined>;
}

/**
 * Per-request state threaded through the stages. `access` accumulates the access-log line; only the
 * logger's allow-listed fields exist on it, so no stage can put a body or a header there.
 */
export interface RequestState {
  readonly env: Env;
  readonly ctx: ExecutionContext;
  readonly deps: Deps;
  readonly log: Logger;
  readonly requestId: string;
  /** The request's URL, parsed once for every stage that reads its path or query. */
  readonly url: URL;
  readonly startedAt: number;
  /** Where this request looks tenants up (tenancy/directory.ts), built once, on first use. */
  readonly tenants: TenantDirectory;
  access: Omit<AccessLogFields, "request_id" | "method" | "status" | "duration_ms">;
  /**
   * Headers every response to this request carries, errors included: the CORS headers of an allowed
   * cross-origin browser request (set once its origin passed, so the page can read a 401 too).
   */
  responseHeaders?: Record<string, string>;
}
