import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./build.ts";

/** The bench upstream (bench/upstream.ts) in its own process, so it does not share an event loop with autocannon. */
export async function spawnUpstream(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", "upstream.ts")], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error("the bench upstream did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`the bench upstream exited (${code})`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const line = buffered.split("\n")[0];
      if (buffered.includes("\n") && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
  });
  return { url, child };
}

/** Ends the upstream: it exits when its stdin closes; SIGTERM to its pid if it has not after 2 s. */
export function stopUpstream(child: ChildProcess): void {
  child.stdin?.end();
  setTimeout(() => {
    if (child.exitCode === null && child.pid !== undefined) child.kill("SIGTERM");
  }, 2000).unref();
}
