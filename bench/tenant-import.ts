/**
 * Bulk tenant import at scale (`npm run bench:tenants-import`, docs/tenants.md): the real CLI
 * (`tsx scripts/tenants.ts`, as `npm run tenants` runs it) against wrangler's local KV state, timed
 * from outside (process start to exit):
 *
 *   1. import N generated tenants into empty local state
 *   2. export them (--out)
 *   3. import the export again (nothing to change)
 *   4. change 100 tenants and import again
 *   5. start `wrangler dev` on that state and send a server-key request as the last tenant (its proxy
 *      key, resolved through the Worker's registry lookup), answered by the local Stripe stub.
 *
 * Options: --tenants N (default 10000), --changed N (default 100), --keep (leave the state directory),
 * --state-in DIR (keep the KV state there, e.g. /dev/shm, to separate the disk's share of the time).
 * Prints one line per step (wall time, wrangler runs) and a JSON summary on stdout.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startDevStack } from "../dev/stack.ts";
import { parseCommandLine, positiveNumber } from "../scripts/lib/args.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = {
  command: "npm run bench:tenants-import --",
  usage: `usage: npm run bench:tenants-import -- [--tenants N] [--changed N] [--keep] [--state-in DIR]

Times bulk tenant import and export with the real CLI against wrangler's local KV state, then serves
a request as the last tenant. Prints one line per step on stderr and a JSON summary on stdout.

  --tenants N      tenants to generate and import (default 10000)
  --changed N      tenants changed before the last import (default 100)
  --keep           leave the state directory
  --state-in DIR   keep the KV state in DIR (e.g. /dev/shm, to see what the disk costs)`,
  options: {
    tenants: { type: "string" },
    changed: { type: "string" },
    keep: { type: "boolean" },
    "state-in": { type: "string" },
  },
} as const;
const { values } = parseCommandLine(CLI);
const TENANTS = positiveNumber(CLI, "--tenants", values.tenants, 10_000, true);
const CHANGED = Math.min(TENANTS, positiveNumber(CLI, "--changed", values.changed, 100, true));

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const id = (i: number) => `bench-${String(i).padStart(5, "0")}`;

/** One generated tenant: its own host and account, the demo's platform key binding (a Connect platform). */
function tenantConfig(i: number, keyHash: string, version = 1): Record<string, unknown> {
  const host = `${id(i)}.tenants.test`;
  return {
    hosts: [host],
    stripe: { secret_key: "STRIPE_KEY_DEMO", account: `acct_1Bench${String(i).padStart(6, "0")}` },
    verification: {
      session_types: ["document"],
      return_urls: [`https://${host}/identity/done`, ...(version > 1 ? [`https://${host}/identity/v${version}`] : [])],
    },
    server_keys: [{ name: "backend", sha256: keyHash }],
  };
}

interface Step {
  step: string;
  seconds: number;
  wranglerRuns: number | null;
  exit: number;
  /** How the step wrote local state: straight into the simulator's storage, through Miniflare's Worker, or not at all. */
  writes: "direct" | "worker" | "none";
  summary: string;
}

function cli(args: string[]): Promise<{ code: number; out: string; err: string; seconds: number }> {
  const started = performance.now();
  return new Promise((done, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "scripts/tenants.ts"), ...args],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      const text = d.toString();
      err += text;
      process.stderr.write(text.replace(/^(?=.)/gm, "    "));
    });
    child.on("error", reject);
    child.on("close", (code) => done({ code: code ?? -1, out, err, seconds: (performance.now() - started) / 1000 }));
  });
}

const steps: Step[] = [];
const cleanups: (() => Promise<void>)[] = [];
async function step(name: string, args: string[]): Promise<void> {
  process.stderr.write(`[bench] ${name}\n`);
  const res = await cli(args);
  const runs = /(\d+) wrangler run\(s\)\)?\.?[^\n]*\n?$/.exec(res.err.trimEnd())?.[1];
  const last = res.err.trimEnd().split("\n").at(-1) ?? "";
  steps.push({
    step: name,
    seconds: Number(res.seconds.toFixed(1)),
    wranglerRuns: runs ? Number(runs) : null,
    exit: res.code,
    writes: /written straight into local state/.test(res.err) ? "direct" : /^Writing /m.test(res.err) ? "worker" : "none",
    summary: last,
  });
  if (res.code !== 0) throw new Error(`${name} failed (exit ${res.code})`);
}

const keys = Array.from({ length: TENANTS }, () => `iek_bench_${randomBytes(32).toString("base64url")}`);
const hashes = keys.map(sha256);
const last = TENANTS - 1;
let served: { status: number; tenant: string; answeredBy: string } | undefined;

const stack = await startDevStack({
  beforeStart: async (persistTo) => {
    await rm(persistTo, { recursive: true, force: true });
    if (values["state-in"]) {
      const elsewhere = await mkdtemp(join(values["state-in"], "tenant-import-state-"));
      await symlink(elsewhere, persistTo);
      cleanups.push(() => rm(elsewhere, { recursive: true, force: true }));
    }
    const work = dirname(persistTo);
    const local = ["--local", "--persist-to", persistTo];
    const file = join(work, "tenants.jsonl");
    await writeFile(
      file,
      keys.map((_, i) => `${JSON.stringify({ id: id(i), config: tenantConfig(i, hashes[i] ?? "") })}\n`).join(""),
    );

    await step(`import ${TENANTS} new tenants`, ["import", file, ...local]);
    const exported = join(work, "exported.jsonl");
    await step(`export ${TENANTS} tenants`, ["export", "--out", exported, ...local]);
    await step("re-import the export (no change)", ["import", exported, ...local]);

    const changed = (await readFile(exported, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line, i) => {
        if (i % Math.floor(TENANTS / CHANGED) !== 0 || i / Math.floor(TENANTS / CHANGED) >= CHANGED) return line;
        const record = JSON.parse(line) as { id: string; config: Record<string, unknown> };
        return JSON.stringify({ id: record.id, config: tenantConfig(i, hashes[i] ?? "", 2) });
      });
    const changedFile = join(work, "changed.jsonl");
    await writeFile(changedFile, `${changed.join("\n")}\n`);
    await step(`import with ${CHANGED} changed`, ["import", changedFile, ...local]);
  },
});
try {
  // The last tenant, through the Worker's registry lookup: its proxy key → key:{sha256} → tenant:{id}.
  const res = await fetch(`${stack.proxyUrl}/v1/identity/verification_sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys[last]}`, "content-type": "application/x-www-form-urlencoded" },
    body: "type=document",
  });
  const body = (await res.json()) as { id?: string; object?: string };
  served = { status: res.status, tenant: id(last), answeredBy: `${body.object ?? "?"} ${body.id ?? ""}`.trim() };
  const logged = stack.output().includes(`"tenant":"${id(last)}"`);
  process.stderr.write(
    `[bench] request as ${id(last)}: HTTP ${res.status} (${served.answeredBy}); access log names the tenant: ${logged}\n`,
  );
} finally {
  await stack.stop();
}

const table = [
  "| step | wall time | wrangler runs | writes |",
  "|---|---|---|---|",
  ...steps.map((s) => `| ${s.step} | ${s.seconds.toFixed(1)} s | ${s.wranglerRuns ?? "?"} | ${s.writes} |`),
];
process.stderr.write(`${table.join("\n")}\n`);
process.stdout.write(`${JSON.stringify({ tenants: TENANTS, changed: CHANGED, steps, served }, null, 2)}\n`);
// startDevStack keeps its state in .wrangler/dev-<port>: this run's, and only this run's, goes.
if (!values.keep) await rm(join(root, ".wrangler", `dev-${new URL(stack.proxyUrl).port}`), { recursive: true, force: true });
if (!values.keep) for (const cleanup of cleanups) await cleanup();
process.exitCode = served?.status === 200 ? 0 : 1;
