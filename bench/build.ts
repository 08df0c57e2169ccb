import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * Builds every Worker the bench runs with `wrangler deploy --dry-run --outdir` (no account needed):
 * identity-edge exactly as wrangler.toml deploys it, plus the bench Workers (passthrough, Hono proxy,
 * CPU loop) from small generated configs with the same compatibility date and flags, so all of them
 * go through the same bundler with the same settings.
 */

export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
export const BUILD_DIR = join(ROOT, ".bench", "build");

export interface BundleSize {
  rawBytes: number;
  gzipBytes: number;
  /** What wrangler itself printed (`Total Upload: … / gzip: …`), the number Cloudflare's limit applies to. */
  wranglerLine: string;
}

export interface Bundle {
  name: string;
  scriptPath: string;
  size: BundleSize;
}

export interface Bundles {
  /** identity-edge exactly as wrangler.toml deploys it (minified there). */
  edge: Bundle;
  passthrough: Bundle;
  hono: Bundle;
  cpu: Bundle;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** Runs wrangler with the running Node (wrangler needs Node ≥ 22; plain `node` on PATH may be older). */
function runWrangler(args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`wrangler ${args.join(" ")} failed (${code}):\n${out}`)),
    );
  });
}

async function measure(scriptPath: string, wranglerOutput: string): Promise<BundleSize> {
  const code = await readFile(scriptPath);
  const line = /Total Upload:[^\n]*/.exec(wranglerOutput)?.[0]?.trim() ?? "";
  return { rawBytes: code.byteLength, gzipBytes: gzipSync(code).byteLength, wranglerLine: line };
}

/** Reads `compatibility_date` and `compatibility_flags` from wrangler.toml, so the bench Workers match. */
async function deployCompatibility(): Promise<{ date: string; flags: string[] }> {
  const toml = await readFile(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  const flagsText = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  const flags = [...flagsText.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? "").filter((f) => f !== "");
  return { date, flags };
}

async function buildEdge(): Promise<Bundle> {
  const name = "identity-edge";
  const outdir = join(BUILD_DIR, name);
  const output = await runWrangler(["deploy", "--dry-run", "--outdir", outdir]);
  const scriptPath = join(outdir, "index.js");
  return { name, scriptPath, size: await measure(scriptPath, output) };
}

async function buildBenchWorker(name: string, entry: string, compat: { date: string; flags: string[] }): Promise<Bundle> {
  const dir = join(BUILD_DIR, name);
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, "wrangler.json");
  const config = {
    name: `bench-${name}`,
    main: join(ROOT, entry),
    compatibility_date: compat.date,
    compatibility_flags: compat.flags,
  };
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const outdir = join(dir, "out");
  const output = await runWrangler(["deploy", "--dry-run", "--config", configPath, "--outdir", outdir]);
  const scriptPath = join(outdir, `${entry.split("/").pop()?.replace(/\.ts$/, "") ?? name}.js`);
  return { name, scriptPath, size: await measure(scriptPath, output) };
}

/** Builds all bundles (two at a time: the machine may have two cores). */
export async function buildBundles(): Promise<Bundles> {
  const compat = await deployCompatibility();
  const [edge, passthrough] = await Promise.all([
    buildEdge(),
    buildBenchWorker("passthrough", "bench/workers/passthrough.ts", compat),
  ]);
  const [hono, cpu] = await Promise.all([
    buildBenchWorker("hono-proxy", "bench/workers/hono-proxy.ts", compat),
    buildBenchWorker("edge-cpu", "bench/workers/edge-cpu.ts", compat),
  ]);
  const bundles = {
    edge,
    passthrough,
    hono,
    cpu,
    compatibilityDate: compat.date,
    compatibilityFlags: compat.flags,
  };
  await writeManifest(bundles);
  return bundles;
}

const MANIFEST = join(BUILD_DIR, "manifest.json");

/** Records what was built, so `--no-build` can reuse it. */
export async function writeManifest(bundles: Bundles): Promise<void> {
  await writeFile(MANIFEST, `${JSON.stringify(bundles, null, 2)}\n`);
}

/** The bundles of the last build (for `--no-build`). */
export async function readManifest(): Promise<Bundles> {
  try {
    return JSON.parse(await readFile(MANIFEST, "utf8")) as Bundles;
  } catch {
    throw new Error("no previous build in .bench/build: run without --no-build first");
  }
}
