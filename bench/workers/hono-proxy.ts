import { Hono } from "hono";
import { proxy } from "hono/proxy";

/**
 * What a user would otherwise write: a minimal Hono proxy that only swaps the caller's credential for
 * the Stripe key and forwards everything else. No tenant, no policy, no validation, no cache, no log.
 */
interface Bindings {
  STRIPE_API_BASE: string;
  STRIPE_KEY_BENCH: string;
}

const app = new Hono<{ Bindings: Bindings }>();

app.all("/v1/identity/*", (c) => {
  const url = new URL(c.req.url);
  return proxy(`${c.env.STRIPE_API_BASE}${url.pathname}${url.search}`, {
    raw: c.req.raw,
    headers: { ...c.req.header(), authorization: `Bearer ${c.env.STRIPE_KEY_BENCH}` },
  });
});

export default app;
