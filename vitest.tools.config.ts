import { defineConfig } from "vitest/config";

/**
 * `npm run test:tools`: the tests of the tooling, not of the product. The benchmark's and the load
 * test's smoke runs (each starts workerd or `wrangler dev` and drives it for tens of seconds) and the
 * tools' command lines (bench/). Kept out of `npm test` (vitest.config.ts), which tests the product
 * only; CI (.ci/run) runs both.
 */
export default defineConfig({
  test: {
    name: "tools",
    environment: "node",
    include: ["test/tools/**/*.test.ts"],
    // One file at a time: the bench and the load test each drive their servers as hard as they can, and
    // run side by side each would mostly measure the other (the load test's "load was real" bar fails).
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
