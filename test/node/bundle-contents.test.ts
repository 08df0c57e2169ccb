/**
 * The production bundle holds only what production runs (issue 17): built as `wrangler deploy` would
 * (scripts/lib/bundle.ts), its inputs are the Worker's own modules under src/ and packages, never
 * the dev-only demo (dev/) or the tenants CLI's planning (scripts/). The same check run on the dev
 * entry (dev/worker.ts) must find the demo, so a check that saw nothing would fail here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDeployBundle, bundleModules, type DeployBundle, directDependencies } from "../../scripts/lib/bundle.ts";

/** Modules that must never be deployed: the demo page and dev login, registry planning, the config checks. */
const NOT_PRODUCTION = [/(^|\/)demo\//, /registry-(ops|bulk|store)\.ts$/, /stripe-reach-index\.ts$/, /tenant-checks\.ts$/];

function strays(bundle: DeployBundle): string[] {
  return bundle.inputs.filter(
    (input) => !(input.startsWith("src/") || input.startsWith("node_modules/")) || NOT_PRODUCTION.some((re) => re.test(input)),
  );
}

describe("the production bundle", () => {
  let dir: string;
  let production: DeployBundle;
  let dev: DeployBundle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "bundle-contents-"));
    // One after the other: the machine may have two cores.
    production = await buildDeployBundle(join(dir, "production"));
    dev = await buildDeployBundle(join(dir, "dev"), "dev/worker.ts");
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("holds the Worker's modules and packages, no demo and no registry planning", () => {
    expect(production.inputs).toContain("src/index.ts");
    expect(production.inputs).toContain("src/router.ts");
    expect(production.inputs).toContain("src/tenancy/registry-kv.ts");
    expect(strays(production)).toEqual([]);
    expect(production.gzipBytes).toBeGreaterThan(0);
    expect(production.gzipBytes).toBeLessThan(production.rawBytes);
  });

  it("is told apart from the dev entry, which carries the demo", () => {
    expect(strays(dev)).toEqual(expect.arrayContaining(["dev/worker.ts", "dev/demo/routes.ts", "dev/demo/app-script.ts"]));
    expect(dev.gzipBytes).toBeGreaterThan(production.gzipBytes);
  });

  it("lists every module once, packages summed, with the bytes esbuild says it contributed", () => {
    const total = production.modules.reduce((n, m) => n + m.bytes, 0);
    // The script is the modules plus esbuild's own glue (module wrappers, the export list).
    expect(total).toBeLessThanOrEqual(production.rawBytes);
    expect(total).toBeGreaterThan(production.rawBytes * 0.95);
    expect(new Set(production.modules.map((m) => m.name)).size).toBe(production.modules.length);
    // Issue 18: the form codec is the proxy's own; qs and the chain it pulled in are not deployed.
    expect(production.dependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(["node_modules/jose", "node_modules/valibot"]),
    );
    expect(production.modules.map((m) => m.name).filter((n) => /qs|side-channel|object-inspect/.test(n))).toEqual([]);
  });
});

describe("bundleModules", () => {
  it("adds up a package's files, scoped packages and esbuild's disabled files included", () => {
    expect(
      bundleModules({
        "src/a.ts": { bytesInOutput: 5 },
        "node_modules/qs/lib/parse.js": { bytesInOutput: 10 },
        "node_modules/qs/lib/utils.js": { bytesInOutput: 20 },
        "node_modules/@scope/pkg/x.js": { bytesInOutput: 3 },
        "node_modules/@scope/pkg/y/z.js": { bytesInOutput: 4 },
        "(disabled):node_modules/object-inspect/util.inspect": { bytesInOutput: 1 },
      }),
    ).toEqual([
      { name: "node_modules/qs", bytes: 30, files: 2 },
      { name: "node_modules/@scope/pkg", bytes: 7, files: 2 },
      { name: "src/a.ts", bytes: 5, files: 1 },
      { name: "node_modules/object-inspect", bytes: 1, files: 1 },
    ]);
  });
});

describe("directDependencies", () => {
  it("charges a package with what only it pulls in, not what another direct import shares", () => {
    const inputs = {
      "src/a.ts": { imports: [{ path: "node_modules/qs/lib/index.js" }, { path: "node_modules/jose/x.js" }] },
      "node_modules/qs/lib/index.js": {
        imports: [{ path: "node_modules/side-channel/index.js" }, { path: "node_modules/shared/s.js" }],
      },
      "node_modules/side-channel/index.js": { imports: [{ path: "node_modules/object-inspect/index.js" }] },
      "node_modules/object-inspect/index.js": { imports: [] },
      "node_modules/jose/x.js": { imports: [{ path: "node_modules/shared/s.js" }] },
      "node_modules/shared/s.js": { imports: [] },
    };
    const modules = bundleModules(Object.fromEntries(Object.keys(inputs).map((k, i) => [k, { bytesInOutput: 10 * (i + 1) }])));
    expect(directDependencies({ inputs, outputs: {} }, modules)).toEqual([
      { name: "node_modules/qs", pulledIn: ["node_modules/object-inspect", "node_modules/side-channel"], bytes: 20 + 30 + 40 },
      { name: "node_modules/jose", bytes: 50, pulledIn: [] },
    ]);
  });
});
