/** Runs a project script with tsx, as `npm run` would, and collects its exit code and output. */
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tsxCli = resolve(root, "node_modules/tsx/dist/cli.mjs");

/** Async (a sync spawn would block the event loop of the test that runs it). */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [tsxCli, script, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * The command-line contract of every project script, as tests: `--help` prints the usage (matching
 * `usage`) on stdout and exits 0; an unknown flag prints one line ending "(see --help)" on stderr,
 * exits 2 and runs nothing. Call inside a `describe`.
 */
export function itHasTheCommandLineContract(scripts: readonly (readonly [script: string, usage: RegExp])[]): void {
  it.each(scripts)("%s --help prints its usage and exits 0", async (script, usage) => {
    const r = await runScript(script, ["--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stderr).toBe("");
  });

  it.each(scripts)("%s --bogus prints one line, exits 2 and runs nothing", async (script) => {
    const r = await runScript(script, ["--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/: unknown option --bogus \(see --help\)$/)]);
  });
}
