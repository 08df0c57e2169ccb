import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../dev/stack.ts";
import { parseCommandLine, positiveNumber } from "../scripts/lib/args.ts";
import { BUILD_DIR } from "./build.ts";
import { measure, median } from "./load/driver.ts";
import { processCpuNs } from "./proc-cpu.ts";
import { waitForSocket, workerdBinary } from "./raw-workerd.ts";

const CLI = {
  command: "npm run bench:log-line --",
  usage: `usage: npm run bench:log-line -- [--rounds N] [--duration S] [--lines N]

What one access line costs the Worker: workerd CPU per request of a Worker that answers at once, with
no log line, with console.log(JSON string) and with console.log(object) of the same access line, under
\`workerd serve\` with its stdout read through a pipe (as \`npm run bench\` reads it) and sent to
/dev/null. Prints a Markdown table (µs per line = the row minus "no line", divided by --lines).

  --rounds N     rounds, rows interleaved (default 5)
  --duration S   seconds per row and round (default 1.5)
  --lines N      lines written per request (default 1; more shows the cost per call apart from the
                 per-request cost of having logged at all)`,
  options: { rounds: { type: "string" }, duration: { type: "string" }, lines: { type: "string" } },
} as const;

/** An access line as the proxy writes it for a server retrieve (src/log/logger.ts), ~390 bytes. */
const LINE = {
  level: "info",
  time: "2026-12-02T03:19:54.265Z",
  event: "request",
  request_id: "req_edge_0123456789abcdef01234567",
  stripe_request_id: "req_1BenchUpstream42",
  tenant: "bench",
  role: "server",
  operation: "retrieve",
  method: "GET",
  route: "/v1/identity/verification_sessions/{id}",
  status: 200,
  upstream_status: 200,
  duration_ms: 1,
  upstream_ms: 1,
  retries: 0,
};

type Variant = "none" | "string" | "object";
const VARIANTS: readonly Variant[] = ["none", "string", "object"];

/** Each Worker builds its line per request (a fresh time), as a logger would. */
function workerSource(variant: Variant, lines: number): string {
  const build = `const line = { ...LINE, time: new Date().toISOString() };`;
  const write = variant === "string" ? "console.log(JSON.stringify(line));" : variant === "object" ? "console.log(line);" : "";
  return `const LINE = ${JSON.stringify(LINE)};
export default { fetch() { for (let i = 0; i < ${lines}; i++) { ${build} ${write} } return new Response("ok"); } };`;
}

async function startWorkerd(
  stdout: "pipe" | "null",
  lines: number,
): Promise<{ child: ChildProcess; ports: Record<Variant, number> }> {
  const dir = join(BUILD_DIR, "log-line");
  await mkdir(dir, { recursive: true });
  const ports = { none: await freePort(), string: await freePort(), object: await freePort() };
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${VARIANTS.map((v) => `(name = "${v}", worker = (modules = [(name = "worker", esModule = ${JSON.stringify(workerSource(v, lines))})], compatibilityDate = "2026-01-01"))`).join(", ")}],
  sockets = [${VARIANTS.map((v) => `(name = "${v}", address = "127.0.0.1:${ports[v]}", http = (), service = "${v}")`).join(", ")}],
);`;
  const path = join(dir, `config-${stdout}.capnp`);
  await writeFile(path, config);
  const child = spawn(workerdBinary(), ["serve", path], { stdio: ["ignore", stdout === "pipe" ? "pipe" : "ignore", "inherit"] });
  // Read the pipe as the bench does (it counts lines); an unread pipe would fill and block workerd.
  child.stdout?.on("data", () => {});
  await waitForSocket(`http://127.0.0.1:${ports.none}/`);
  return { child, ports };
}

const { values } = parseCommandLine(CLI);
const rounds = positiveNumber(CLI, "--rounds", values.rounds, 5, true);
const duration = positiveNumber(CLI, "--duration", values.duration, 1.5);
const lines = positiveNumber(CLI, "--lines", values.lines, 1, true);

const rows: string[] = [];
for (const stdout of ["pipe", "null"] as const) {
  const { child, ports } = await startWorkerd(stdout, lines);
  const pid = child.pid ?? Number.NaN;
  const cpu: Record<Variant, number[]> = { none: [], string: [], object: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const variant of VARIANTS) {
        const origin = `http://127.0.0.1:${ports[variant]}`;
        const request = { method: "GET" as const, path: "/", headers: {} };
        await measure(origin, request, 4, 0.2);
        const before = processCpuNs(pid);
        const run = await measure(origin, request, 4, duration);
        if (run.errors > 0 || run.non2xx > 0) throw new Error(`${variant}: ${run.errors} errors, ${run.non2xx} non-2xx`);
        cpu[variant].push((processCpuNs(pid) - before) / 1000 / run.requests);
      }
    }
  } finally {
    child.kill("SIGTERM");
  }
  const none = median(cpu.none);
  for (const variant of VARIANTS) {
    const perLine = variant === "none" ? "–" : ((median(cpu[variant]) - none) / lines).toFixed(1);
    rows.push(
      `| ${stdout === "pipe" ? "a pipe (read)" : "/dev/null"} | ${variant === "none" ? "no line" : `console.log(${variant === "string" ? "JSON string" : "object"})`} | ${median(cpu[variant]).toFixed(1)} | ${perLine} |`,
    );
  }
}
console.log(`workerd CPU per request, median of ${rounds} rounds × ${duration} s, 4 connections, ${lines} line(s) per request\n`);
console.log("| workerd stdout | per request | µs/request | µs per line |\n|---|---|---:|---:|");
for (const r of rows) console.log(r);
