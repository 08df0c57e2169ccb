/**
 * The limit: a Worker that forwards the request to the upstream as it is and returns the upstream's
 * response untouched. No routing, no auth, no parsing, no logging; every target is measured against it.
 */
interface Env {
  STRIPE_API_BASE: string;
}

export default {
  fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    return fetch(new Request(`${env.STRIPE_API_BASE}${url.pathname}${url.search}`, request));
  },
} satisfies ExportedHandler<Env>;
