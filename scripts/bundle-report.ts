/**
 * `npm run bundle:report`: builds the production bundle as `wrangler deploy` would (offline, no
 * account) and prints, as Markdown for BENCHMARKS.md, its gzip size against issue 18's 48 KiB bar and
 * every module in it with the minified bytes it contributes; `--write` puts that between BENCHMARKS.md's
 * bundle-report markers. The build is scripts/lib/bundle.ts.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseCommandLine } from "./lib/args.ts";
import { BUNDLE_GZIP_BAR_BYTES, type BundleModule, buildDeployBundle, ROOT } from "./lib/bundle.ts";

const spec = {
  command: "npm run bundle:report --",
  usage: `usage: npm run bundle:report [-- --outdir DIR] [--write]

Builds the Worker as \`wrangler deploy\` would (--dry-run: no account, nothing uploaded) and prints
what the bundle holds, as Markdown: its gzip size against the 48 KiB bar, then each module of src/ and
each package with the minified bytes it adds.

  --outdir DIR   where wrangler writes the bundle and its metafile (default .wrangler/bundle-report)
  --write        also replace the report in BENCHMARKS.md (between its bundle-report markers)`,
  options: { outdir: { type: "string" }, write: { type: "boolean" } },
} as const;

const { values } = parseCommandLine(spec);
const bundle = await buildDeployBundle(resolve(ROOT, values.outdir ?? ".wrangler/bundle-report"));
const wranglerVersion = (createRequire(import.meta.url)("wrangler/package.json") as { version: string }).version;

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const share = (bytes: number) => `${((100 * bytes) / bundle.rawBytes).toFixed(1)} %`;
const row = (name: string, m: { bytes: number; files: number }) =>
  `| ${name} | ${m.files} | ${m.bytes.toLocaleString("en-US")} | ${share(m.bytes)} |`;

/** src/ modules added up per folder (`src/cache`), packages as they are. */
function byArea(modules: readonly BundleModule[]): Map<string, { bytes: number; files: number }> {
  const areas = new Map<string, { bytes: number; files: number }>();
  for (const m of modules) {
    const area = m.name.startsWith("src/") ? m.name.replace(/\/[^/]+$/, "/") : m.name;
    const sum = areas.get(area) ?? { bytes: 0, files: 0 };
    sum.bytes += m.bytes;
    sum.files += m.files;
    areas.set(area, sum);
  }
  return new Map([...areas].sort(([, a], [, b]) => b.bytes - a.bytes));
}

const over = bundle.gzipBytes - BUNDLE_GZIP_BAR_BYTES;
const ours = bundle.modules.filter((m) => m.name.startsWith("src/"));
const packages = bundle.modules.filter((m) => !m.name.startsWith("src/"));
const sum = (ms: readonly BundleModule[]) => ms.reduce((n, m) => n + m.bytes, 0);
const elsewhere = bundle.inputs.filter((input) => !input.startsWith("src/") && !input.startsWith("node_modules/"));
const header = ["| module | files | bytes (minified) | share |", "|---|--:|--:|--:|"];

/** The three biggest packages a dependency pulls in, and how many more. */
function pullsIn(names: readonly string[]): string {
  const size = (name: string) => bundle.modules.find((m) => m.name === name)?.bytes ?? 0;
  const biggest = [...names].sort((a, b) => size(b) - size(a));
  const shown = biggest.slice(0, 3).map((n) => `${n.replace("node_modules/", "")} (${size(n).toLocaleString("en-US")})`);
  const more = biggest.length - shown.length;
  return shown.length === 0 ? "–" : `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

const report = [
  `Built with \`${bundle.command}\` (wrangler ${wranglerVersion}, wrangler.toml's \`main\` and minify settings);`,
  `sizes per module are esbuild's \`bytesInOutput\` from the metafile.`,
  "",
  `- **gzip ${kib(bundle.gzipBytes)}** (${bundle.gzipBytes.toLocaleString("en-US")} B) against the ≤ 48 KiB bar: ${
    over > 0 ? `**over by ${kib(over)}**` : `met, ${kib(-over)} to spare`
  }; minified ${kib(bundle.rawBytes)}. wrangler: \`${bundle.wranglerLine}\` (the upload adds the source map).`,
  `- ${ours.length} modules of src/ (${kib(sum(ours))}), ${packages.length} packages (${kib(sum(packages))}); ${
    elsewhere.length === 0
      ? "nothing from outside src/ and node_modules/ (no dev/, scripts/, bench/, test/)"
      : `**also ${elsewhere.join(", ")}**`
  }.`,
  "",
  "The packages src/ imports, each with the packages only it pulls in:",
  "",
  "| package | bytes (minified) | share | pulls in |",
  "|---|--:|--:|---|",
  ...bundle.dependencies.map(
    (d) =>
      `| ${d.name.replace("node_modules/", "")} | ${d.bytes.toLocaleString("en-US")} | ${share(d.bytes)} | ${pullsIn(d.pulledIn)} |`,
  ),
  "",
  "By area (src/ folders, and packages):",
  "",
  ...header,
  ...[...byArea(bundle.modules)].map(([area, m]) => row(area, m)),
  "",
  "<details><summary>Every module</summary>",
  "",
  ...header,
  ...bundle.modules.map((m) => row(m.name, m)),
  "",
  "</details>",
].join("\n");
console.log(report);

if (values.write) {
  const file = resolve(ROOT, "BENCHMARKS.md");
  const start = "<!-- bundle-report:start (npm run bundle:report -- --write) -->";
  const end = "<!-- bundle-report:end -->";
  const text = await readFile(file, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) throw new Error(`BENCHMARKS.md has no ${start} … ${end} block`);
  await writeFile(file, `${text.slice(0, from + start.length)}\n${report}\n${text.slice(to)}`);
  // Biome (which CI runs) aligns Markdown tables: leave the file as it would.
  await promisify(execFile)(process.execPath, [
    join(ROOT, "node_modules", "@biomejs", "biome", "bin", "biome"),
    "format",
    "--write",
    file,
  ]);
  console.error(`wrote the report into ${file}`);
}
