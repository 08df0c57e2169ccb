import type { RequestState } from "../../src/deps.ts";
import { DEMO_SCRIPT } from "./app-script.ts";
import { handleDevLogin } from "./dev-login.ts";
import { DEMO_CSS, DEMO_FAVICON, DEMO_HTML } from "./page.ts";

/**
 * Hostnames the demo answers on. Only the dev entry (dev/worker.ts) has these routes at all; should it
 * ever be deployed, Cloudflare never routes a request for these hosts to a deployed Worker, so even
 * with `DEV_MODE` set by mistake it serves no demo and mints no token.
 */
const LOOPBACK_HOSTNAMES: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Scripts, styles and requests from this origin only; no inline code, no plugins, no framing, no
 * `<base>`; forms never submit natively (the script sends them with fetch). Leaving for the hosted
 * verification page is a navigation, which CSP does not restrict.
 */
const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function asset(body: string, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    headers: {
      "Content-Type": contentType,
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      ...extra,
    },
  });
}

interface DemoRoute {
  methods: readonly string[];
  handle(request: Request, state: RequestState): Response | Promise<Response>;
}

const READ = ["GET", "HEAD"] as const;

const DEMO_ROUTES: Readonly<Record<string, DemoRoute>> = {
  "/demo": {
    methods: READ,
    handle: () => new Response(null, { status: 308, headers: { Location: "/demo/", "Cache-Control": "no-store" } }),
  },
  "/demo/": {
    methods: READ,
    handle: () =>
      asset(DEMO_HTML, "text/html; charset=utf-8", {
        "Content-Security-Policy": DEMO_CSP,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
      }),
  },
  "/demo/app.js": { methods: READ, handle: () => asset(DEMO_SCRIPT, "text/javascript; charset=utf-8") },
  "/demo/demo.css": { methods: READ, handle: () => asset(DEMO_CSS, "text/css; charset=utf-8") },
  "/demo/favicon.svg": { methods: READ, handle: () => asset(DEMO_FAVICON, "image/svg+xml") },
  "/demo/login": { methods: ["POST"], handle: handleDevLogin },
};

/**
 * The dev-only demo under `/demo/`: the page, its script and styles, and the dev login. Answers
 * undefined (the router goes on to its 404) unless `DEV_MODE` is `"1"` and the request came to a
 * loopback host, and for any other path or method.
 */
export async function handleDemoRequest(request: Request, state: RequestState): Promise<Response | undefined> {
  if (state.env.DEV_MODE !== "1") return undefined;
  const url = new URL(request.url);
  if (!LOOPBACK_HOSTNAMES.has(url.hostname)) return undefined;
  const route = Object.hasOwn(DEMO_ROUTES, url.pathname) ? DEMO_ROUTES[url.pathname] : undefined;
  if (!route?.methods.includes(request.method)) return undefined;
  state.access.role = "public";
  state.access.route = url.pathname;
  return route.handle(request, state);
}
