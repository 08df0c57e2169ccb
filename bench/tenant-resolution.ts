/**
 * `npx tsx bench/tenant-resolution.ts [--tenants 10000] [--hot 4000] [--samples 15]`
 *
 * Tenant resolution in the KV tenant registry at 10,000 tenants, in workerd (Miniflare, local KV
 * simulator): a proxy-key hash or a Host resolved to its validated tenant config
 * - from the isolate's memory (a hot set of tenants already read), and
 * - from KV (a cold isolate: the key index read, then the config read and validated).
 *
 * workerd's clock does not move while JavaScript runs, so each figure is timed from Node: one request
 * resolves N times, another zero times, alternately; per resolution = (T(N) − median T(0)) / N. The
 * KV figure is the local simulator's (SQLite in workerd's process): production KV is slower on a
 * cold read (a remote fetch) and similar on a read its edge cache holds. docs/tenants.md quotes the
 * result.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Miniflare, supportedCompatibilityDate } from "miniflare";
import { parseCommandLine, positiveNumber } from "../scripts/lib/args.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const OUT = join(ROOT, ".bench", "tenant-resolution");

const CLI = {
  command: "npm run bench:tenants --",
  usage: `usage: npm run bench:tenants -- [--tenants N] [--hot N] [--samples N]

Times tenant resolution in the KV tenant registry in workerd (Miniflare's local KV): from the
isolate's memory and from KV (cold). Prints the figures that docs/tenants.md quotes; writes nothing
tracked (its work files are in .bench/tenant-resolution).

  --tenants N   tenants in the registry (default 10000)
  --hot N       tenants read once first, so served from memory (default 4000)
  --samples N   timed samples per figure (default 15)`,
  options: {
    tenants: { type: "string" },
    hot: { type: "string" },
    samples: { type: "string" },
  },
} as const;
const { values } = parseCommandLine(CLI);
const TENANTS = positiveNumber(CLI, "--tenants", values.tenants, 10_000, true);
const HOT = Math.min(positiveNumber(CLI, "--hot", values.hot, 4000, true), TENANTS);
const SAMPLES = positiveNumber(CLI, "--samples", values.samples, 15, true);

const progress = (m: string) => process.stderr.write(`[tenant-resolution] ${m}\n`);

let compatibilityDate = "2026-11-01";

async function build(): Promise<string> {
  const toml = await readFile(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? compatibilityDate;
  // The same date as the deployed Worker, capped at what this workerd supports.
  compatibilityDate = [date, supportedCompatibilityDate].sort()[0] ?? date;
  await mkdir(OUT, { recursive: true });
  const configPath = join(OUT, "wrangler.json");
  await writeFile(
    configPath,
    JSON.stringify({
      name: "tenant-resolution-bench",
      main: join(ROOT, "bench", "tenant-resolution.worker.ts"),
      compatibility_date: date,
      compatibility_flags: ["nodejs_compat"],
      kv_namespaces: [{ binding: "TENANT_REGISTRY", id: "00000000000000000000000000000002" }],
    }),
  );
  const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
  await new Promise<void>((ok, fail) => {
    const child = spawn(
      process.execPath,
      [wrangler, "deploy", "--dry-run", "--config", configPath, "--outdir", join(OUT, "out")],
      {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    child.on("close", (code) => (code === 0 ? ok() : fail(new Error(`wrangler build failed (${code})`))));
  });
  return join(OUT, "out", "tenant-resolution.worker.js");
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function main(): Promise<void> {
  progress("building the bench Worker");
  const scriptPath = await build();
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    compatibilityDate,
    compatibilityFlags: ["nodejs_compat"],
    kvNamespaces: ["TENANT_REGISTRY"],
  });
  const call = async (path: string, method = "GET"): Promise<string> => {
    const res = await mf.dispatchFetch(`http://bench${path}`, { method });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return text;
  };
  try {
    let t = performance.now();
    const CHUNK = 250;
    for (let from = 0; from < TENANTS; from += CHUNK)
      await call(`/seed?from=${from}&to=${Math.min(TENANTS, from + CHUNK)}`, "POST");
    progress(`seeded ${TENANTS} tenants (${TENANTS * 3} KV entries) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const sizes = await call(`/warm?hot=${HOT}&tenants=${TENANTS}`, "POST");
    progress(`warmed ${HOT} tenants in ${((performance.now() - t) / 1000).toFixed(1)} s; cache sizes ${sizes}`);

    const cases: { name: string; label: string; n: number }[] = [
      { name: "hit", label: `proxy-key hash → tenant, in memory (hot set of ${HOT})`, n: 20_000 },
      { name: "host_hit", label: `Host + path → tenant, in memory (hot set of ${HOT})`, n: 20_000 },
      { name: "unknown", label: "unknown proxy key, remembered as unknown", n: 20_000 },
      { name: "validate", label: "config JSON parse + schema validation alone (the CPU of a miss)", n: 2_000 },
      { name: "miss", label: "proxy-key hash → tenant, cold: 2 KV reads + schema validation", n: 400 },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      await call(`/run?case=${c.name}&n=${Math.min(c.n, 200)}`); // warm-up
      const zero: number[] = [];
      const full: number[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        let start = performance.now();
        await call(`/run?case=${c.name}&n=0`);
        zero.push(performance.now() - start);
        start = performance.now();
        await call(`/run?case=${c.name}&n=${c.n}`);
        full.push(performance.now() - start);
      }
      const base = median(zero);
      const perOp = full.map((ms) => (ms - base) / c.n);
      const us = median(perOp) * 1000;
      rows.push(
        `| ${c.label} | ${us < 10 ? us.toFixed(2) : us.toFixed(1)} µs | ${Math.round(1e6 / us).toLocaleString("en-US")} |`,
      );
      progress(`${c.name}: ${us.toFixed(2)} µs per resolution`);
    }
    process.stdout.write(
      [
        `Tenant resolution, ${TENANTS.toLocaleString("en-US")} tenants in the registry (workerd via Miniflare, local KV; median of ${SAMPLES}):`,
        "",
        "| case | per resolution | resolutions/s (one isolate) |",
        "|---|---|---|",
        ...rows,
        "",
      ].join("\n"),
    );
  } finally {
    await mf.dispose();
  }
}

await main();
