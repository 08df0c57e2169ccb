import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time actually consumed by a process (all its threads), from Linux's /proc/<pid>/task/<tid>/schedstat
 * (first field: nanoseconds on a CPU). Unlike wall time it does not grow when other processes (the load
 * generator, the upstream, anything else on a shared machine) take the cores, so it isolates what the
 * Worker costs. Linux only; elsewhere the bench reports wall-time figures alone.
 */

/** Nanoseconds of CPU the process has used so far, or NaN when /proc cannot tell. */
export function processCpuNs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8");
      total += Number(stat.split(" ")[0]);
    }
    return total;
  } catch {
    return Number.NaN;
  }
}

/** The pid of this process's child named `comm` (e.g. the workerd Miniflare started), if there is exactly one. */
export function findChildProcess(comm: string): number | undefined {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && name === comm) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found.length === 1 ? found[0] : undefined;
}
