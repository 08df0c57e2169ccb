/**
 * The production bundle exactly as `wrangler deploy` would upload it (wrangler.toml's `main`, its
 * minify settings), built offline with `--dry-run` (no account), and what it is made of: esbuild's
 * metafile, which wrangler writes with `--metafile`. `npm run bundle:report` prints it
 * (BENCHMARKS.md, "What the production bundle holds"); test/node/bundle-contents.test.ts checks it.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** Issue 18's bar for the deployed bundle, gzip. */
export const BUNDLE_GZIP_BAR_BYTES = 48 * 1024;

/** The part of esbuild's metafile this reads: per output file, the bytes each input contributed. */
interface Metafile {
  inputs: Record<string, { imports: { path: string }[] }>;
  outputs: Record<string, { entryPoint?: string; bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

export interface BundleModule {
  /** Repository-relative path of a source module (`src/proxy.ts`), or `node_modules/<package>` for a dependency. */
  name: string;
  /** Minified bytes it contributes to the bundle (before gzip). */
  bytes: number;
  /** How many files it stands for (a package's files are added up). */
  files: number;
}

/** A package src/ imports, with the packages in the bundle only because of it. */
export interface DirectDependency {
  name: string;
  /** Its own bytes plus those of every package only it pulls in. */
  bytes: number;
  pulledIn: string[];
}

export interface DeployBundle {
  /** The wrangler command that built it, as a person would type it. */
  command: string;
  scriptPath: string;
  rawBytes: number;
  /** gzip (zlib's default level) of the script: what wrangler reports and Cloudflare's size limit applies to. */
  gzipBytes: number;
  /** wrangler's own `Total Upload: … / gzip: …` line. */
  wranglerLine: string;
  /** Every input file esbuild put in the script (repository-relative), e.g. `src/router.ts`. */
  inputs: string[];
  modules: BundleModule[];
  dependencies: DirectDependency[];
}

/** esbuild names a file a package's `browser` field maps to `false` `(disabled):<path>`: it is still that package's. */
function repoPath(input: string): string {
  return input.replace(/^\(disabled\):/, "");
}

/** `node_modules/qs/lib/parse.js` → `node_modules/qs`; `node_modules/@scope/pkg/x.js` → `node_modules/@scope/pkg`. */
function moduleName(input: string): string {
  const parts = repoPath(input).split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at === -1) return input;
  const scoped = parts[at + 1]?.startsWith("@");
  return parts.slice(at, at + (scoped ? 3 : 2)).join("/");
}

/** The script's inputs, packages summed, largest first. */
export function bundleModules(inputs: Record<string, { bytesInOutput: number }>): BundleModule[] {
  const modules = new Map<string, BundleModule>();
  for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
    const name = moduleName(input);
    const module = modules.get(name) ?? { name, bytes: 0, files: 0 };
    module.bytes += bytesInOutput;
    module.files += 1;
    modules.set(name, module);
  }
  return [...modules.values()].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
}

/**
 * The packages src/ imports directly, each with what it costs: itself and the packages reachable
 * only through it (qs brings side-channel, which brings object-inspect, …), from the metafile's
 * import graph.
 */
export function directDependencies(meta: Metafile, modules: readonly BundleModule[]): DirectDependency[] {
  const bytes = new Map(modules.map((m) => [m.name, m.bytes]));
  const edges = new Map<string, Set<string>>();
  for (const [input, { imports }] of Object.entries(meta.inputs)) {
    const from = moduleName(input);
    const to = edges.get(from) ?? new Set<string>();
    for (const { path } of imports) if (bytes.has(moduleName(path)) && moduleName(path) !== from) to.add(moduleName(path));
    edges.set(from, to);
  }
  const reach = (start: string): Set<string> => {
    const seen = new Set([start]);
    for (const name of seen) for (const next of edges.get(name) ?? []) if (!next.startsWith("src/")) seen.add(next);
    return seen;
  };
  const direct = new Set(
    [...edges].filter(([from]) => from.startsWith("src/")).flatMap(([, to]) => [...to].filter((n) => !n.startsWith("src/"))),
  );
  const reached = new Map([...direct].map((d) => [d, reach(d)]));
  return [...direct]
    .map((name) => {
      const others = [...reached].filter(([d]) => d !== name).flatMap(([, r]) => [...r]);
      const pulledIn = [...(reached.get(name) ?? [])].filter((n) => n !== name && !others.includes(n) && !direct.has(n)).sort();
      return { name, pulledIn, bytes: [name, ...pulledIn].reduce((n, m) => n + (bytes.get(m) ?? 0), 0) };
    })
    .sort((a, b) => b.bytes - a.bytes);
}

/**
 * Builds the bundle into `outdir` with `wrangler deploy --dry-run` and reads what it holds. `entry`
 * replaces wrangler.toml's `main` (the tests build dev/worker.ts too, to see the check catch the demo).
 */
export async function buildDeployBundle(outdir: string, entry?: string): Promise<DeployBundle> {
  const args = ["deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", outdir, "--metafile"];
  // The running Node: wrangler needs Node ≥ 22 and the `node` on PATH may be older.
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  const meta = JSON.parse(await readFile(join(outdir, "bundle-meta.json"), "utf8")) as Metafile;
  // Output paths in the metafile are relative to the working directory wrangler ran in.
  const output = Object.entries(meta.outputs).find(([path, out]) => out.entryPoint && path.endsWith(".js"));
  if (!output) throw new Error(`no script in ${join(outdir, "bundle-meta.json")}`);
  const scriptPath = resolve(ROOT, output[0]);
  const modules = bundleModules(output[1].inputs);
  const code = await readFile(scriptPath);
  const displayOutdir = relative(ROOT, outdir).startsWith("..") ? outdir : relative(ROOT, outdir);
  return {
    command: `npx wrangler deploy ${entry ? `${entry} ` : ""}--dry-run --outdir ${displayOutdir} --metafile`,
    scriptPath,
    rawBytes: code.byteLength,
    gzipBytes: gzipSync(code).byteLength,
    wranglerLine: /Total Upload:[^\n]*/.exec(stdout + stderr)?.[0]?.trim() ?? "",
    inputs: Object.keys(output[1].inputs).map(repoPath).sort(),
    modules,
    dependencies: directDependencies(meta, modules),
  };
}
