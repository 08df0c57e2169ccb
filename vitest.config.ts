import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
