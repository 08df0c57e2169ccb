import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * workerd warns, once per header and request, when a Request is built with a non-ASCII header value
 * ("A header value for … contains non-ASCII characters … As a quirk to support Unicode …"). The
 * header fuzz test (test/integration/fuzz.test.ts) builds such requests on purpose: they are bytes a
 * client can send. @cloudflare/vitest-plugin writes workerd's log lines to this process's stdout and
 * has no option to filter them, so this drops exactly that expected warning (40-odd lines a run)
 * and nothing else.
 */
const WORKERD_NON_ASCII_HEADER = /^A header value for "[^"]*" contains non-ASCII characters: .* As a quirk to support Unicode/;
const writeStdout = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  if (typeof chunk !== "string" || !WORKERD_NON_ASCII_HEADER.test(chunk)) return writeStdout(chunk, ...rest);
  const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
  callback?.();
  return true;
}) as typeof process.stdout.write;

/**
 * Two projects: `workers` runs unit and integration tests inside workerd (the Worker's real runtime,
 * through @cloudflare/vitest-plugin on Miniflare); `node` runs what needs Node: the stub's schema
 * conformance (ajv compiles with `new Function`, which workerd forbids), CLI tests and the end-to-end
 * tests that start `wrangler dev` and drive it with stripe-node.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/node/**/*.test.ts", "test/e2e/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
