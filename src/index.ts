import type { Env } from "./env.ts";
import { handleRequest } from "./router.ts";

export default {
  fetch(request, env, ctx): Promise<Response> {
    return handleRequest(request, env, ctx, {
      fetch: (input) => fetch(input),
      now: () => Date.now(),
      logSink: (line) => console.log(line),
    });
  },
} satisfies ExportedHandler<Env>;
