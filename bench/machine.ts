import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";

/** Where the numbers come from: the machine and the versions of everything in the measured path. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  workerd: string;
  miniflare: string;
  wrangler: string;
  autocannon: string;
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version?: string };
    return pkg.version ?? "?";
  } catch {
    return "?";
  }
}

/** The workerd binary Miniflare runs (`workerd --version`), resolved from Miniflare's own dependency. */
function workerdVersion(): string {
  try {
    const fromMiniflare = createRequire(createRequire(import.meta.url).resolve("miniflare/package.json"));
    const bin = join(dirname(fromMiniflare.resolve("workerd/package.json")), "bin", "workerd");
    const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
    return `${version} (npm workerd ${JSON.parse(readFileSync(fromMiniflare.resolve("workerd/package.json"), "utf8")).version})`;
  } catch {
    return "?";
  }
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    return line?.split(":").slice(1).join(":").trim() ?? "?";
  } catch {
    return "?";
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    workerd: workerdVersion(),
    miniflare: packageVersion("miniflare"),
    wrangler: packageVersion("wrangler"),
    autocannon: packageVersion("autocannon"),
  };
}
