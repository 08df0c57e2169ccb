/**
 * The Worker as `npm start` runs it (dev/stack.ts passes this file to `wrangler dev`): the deployed
 * Worker, src/index.ts, plus the dev-only demo page and dev login under /demo/ (dev/demo/).
 * wrangler.toml's `main` stays src/index.ts, so `wrangler deploy` bundles none of this
 * (BENCHMARKS.md, "What the production bundle holds"; test/node/bundle-contents.test.ts).
 *
 * The demo still answers only with DEV_MODE=1 and on a loopback host (dev/demo/routes.ts): a second
 * guard, should this entry ever be deployed by mistake.
 */
import type { Deps } from "../src/deps.ts";
import type { Env } from "../src/env.ts";
import worker from "../src/index.ts";
import { handleRequest } from "../src/router.ts";
import { handleDemoRequest } from "./demo/routes.ts";

/** The deployed Worker's dependencies (src/index.ts), with the demo's routes added. */
const deps: Deps = {
  fetch: (input) => fetch(input),
  now: () => Date.now(),
  logSink: (line) => console.log(line),
  devRoutes: handleDemoRequest,
};

export default {
  // Everything else (the queue consumer) exactly as deployed.
  ...worker,
  fetch(request, env, ctx): Promise<Response> {
    return handleRequest(request, env, ctx, deps);
  },
} satisfies ExportedHandler<Env>;
