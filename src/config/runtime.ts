/**
 * The environment's plain settings, parsed and validated once per env object. workerd hands every
 * request of an isolate the same `env`, so this runs once per isolate; tests that build another env
 * get their own (the cache is keyed by the object). Bindings (KV, queues, rate limiters) and secrets
 * read by name stay on `env`: the generated `Env` type (src/env.ts) remains the source of truth.
 */
import { DEFAULT_STRIPE_API_BASE, type Env } from "../env.ts";
import { isolateWeakCache } from "../isolate-cache.ts";
import { type LogLevel, parseLogLevel } from "../log/logger.ts";

export interface RuntimeConfig {
  /** `LOG_LEVEL`, `info` when unset or unknown. */
  readonly logLevel: LogLevel;
  /**
   * The origin of `STRIPE_API_BASE` (default https://api.stripe.com), or undefined when it is set but
   * not an http(s) URL: each request that would reach Stripe then fails closed as misconfigured.
   */
  readonly stripeApiBase: string | undefined;
  /** `DEV_MODE === "1"`: the demo page and dev login may be served (loopback hosts only). */
  readonly devMode: boolean;
}

/** Derives the runtime config from an env (pure; `runtimeConfig` memoizes it). */
export function parseRuntimeConfig(env: Env): RuntimeConfig {
  return Object.freeze({
    logLevel: parseLogLevel(env.LOG_LEVEL),
    stripeApiBase: parseApiBase(env.STRIPE_API_BASE),
    devMode: env.DEV_MODE === "1",
  });
}

function parseApiBase(value: unknown): string | undefined {
  const raw = typeof value === "string" && value !== "" ? value : DEFAULT_STRIPE_API_BASE;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const configs = isolateWeakCache<Env, RuntimeConfig>();

/** The runtime config of this env, parsed on its first use. */
export function runtimeConfig(env: Env): RuntimeConfig {
  return configs.getOrCreate(env, parseRuntimeConfig);
}
