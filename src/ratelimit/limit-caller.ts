import type { Caller } from "../auth/identify-caller.ts";
import type { RequestState } from "../deps.ts";
import { enforceRateLimit, readRateLimiter } from "./rate-limit.ts";

/** Counts the request against its caller's budget (browser: end user or client IP; server: key). */
export async function limitCaller(caller: Caller, state: RequestState): Promise<void> {
  const tenant = caller.tenant.id;
  if (caller.role === "server") {
    const limiter = readRateLimiter(state.env.SERVER_RATE_LIMITER);
    const subject = { role: "server", tenant, keyName: caller.keyName } as const;
    return enforceRateLimit(limiter, "SERVER_RATE_LIMITER", subject, state.log, state.requestId);
  }
  const { identity, clientIp } = caller;
  const user =
    identity.kind === "user" ? { kind: "subject" as const, subject: identity.subject } : { kind: "ip" as const, ip: clientIp };
  const limiter = readRateLimiter(state.env.RATE_LIMITER);
  return enforceRateLimit(limiter, "RATE_LIMITER", { role: "browser", tenant, user }, state.log, state.requestId);
}
