import { Hono } from "hono";
import { proxy } from "hono/proxy";

/**
 * What a user would otherwise write: a minimal Hono proxy that only swaps the caller's credential for
 * the Stripe key and forwards everything else. No tenant, no policy, no validation, no cache. With
 * `ACCESS_LINE` set it also writes one JSON access line per request, of the size and shape of
 * identity-edge's: the "naive proxy plus the one line it owes" that issue 18 compares against.
 */
interface Bindings {
  STRIPE_API_BASE: string;
  STRIPE_KEY_BENCH: string;
  ACCESS_LINE?: string;
}

const app = new Hono<{ Bindings: Bindings }>();

app.all("/v1/identity/*", (c) => {
  const url = new URL(c.req.url);
  const started = Date.now();
  const forwarded = proxy(`${c.env.STRIPE_API_BASE}${url.pathname}${url.search}`, {
    raw: c.req.raw,
    headers: { ...c.req.header(), authorization: `Bearer ${c.env.STRIPE_KEY_BENCH}` },
  });
  // Without the line, the proxy's promise goes back as it is: the plain row measures what it always did.
  if (!c.env.ACCESS_LINE) return forwarded;
  return forwarded.then((response) => {
    console.log(
      JSON.stringify({
        level: "info",
        time: new Date().toISOString(),
        event: "request",
        request_id: `req_edge_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
        stripe_request_id: response.headers.get("request-id") ?? undefined,
        tenant: "bench",
        role: "server",
        operation: "retrieve",
        method: c.req.method,
        route: "/v1/identity/verification_sessions/{id}",
        status: response.status,
        upstream_status: response.status,
        duration_ms: Date.now() - started,
        upstream_ms: Date.now() - started,
        retries: 0,
      }),
    );
    return response;
  });
});

export default app;
