/**
 * The CLI's store over `wrangler kv`: the same commands an operator would type, so it works against
 * local `wrangler dev` state (`--local`, optionally `--persist-to`) with no account, and against the
 * real namespace (`--remote`) with wrangler's own login. Values travel through temporary files
 * (mode 0600, deleted after), never through argv, and reads and writes go in bulk: one wrangler run
 * per round trip.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { HashListingReader } from "./registry-bulk.ts";
import type { KvChange, RegistryStore } from "./registry-store.ts";

export interface WranglerTarget {
  binding: string;
  remote: boolean;
  /** Local state directory (wrangler's default is .wrangler/state, the one `wrangler dev` uses). */
  persistTo?: string;
  /** wrangler environment (`--env`). */
  env?: string;
  /** wrangler config file (`--config`). */
  config?: string;
  preview?: boolean;
  cwd?: string;
}

/** Keys per remote `kv bulk get` (the API reads at most 100 keys per call). */
const GET_BATCH = 100;
/** Keys per local `kv bulk get` (no limit: wrangler reads them one by one; batches only pace progress). */
const LOCAL_GET_BATCH = 5_000;
/** Pairs per `kv bulk put` / keys per `kv bulk delete` (wrangler takes up to 10,000 per file). */
const WRITE_BATCH = 5_000;

function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** The JSON wrangler printed, without any banner lines around it. */
function jsonOutput(stdout: string): unknown {
  const start = stdout.search(/^[[{]/m);
  if (start < 0) throw new Error("wrangler printed no JSON");
  return JSON.parse(stdout.slice(start));
}

/**
 * Every value the CLI writes carries its SHA-256 in KV metadata (`{"sha256": …}`), so one key listing
 * tells what every value is without reading them (bulk import compares by it).
 */
export const valueMetadata = (value: string): { sha256: string } => ({
  sha256: createHash("sha256").update(value).digest("hex"),
});

export interface BulkPut {
  key: string;
  value: string;
  metadata: { sha256: string };
}

/** A plan's puts (each with its hash as metadata) and deletes, in the plan's order. */
export function bulkWrites(changes: readonly KvChange[]): { puts: BulkPut[]; deletes: string[] } {
  return {
    puts: changes.flatMap((c) => (c.op === "put" ? [{ key: c.key, value: c.value, metadata: valueMetadata(c.value) }] : [])),
    deletes: changes.flatMap((c) => (c.op === "delete" ? [c.key] : [])),
  };
}

/**
 * The write side shared by both CLI stores: puts (each with its hash as metadata) then deletes, in
 * batches of `batch`, with a progress count after each batch of a write of more than one batch.
 */
export async function applyInBatches(
  changes: readonly KvChange[],
  batch: number,
  progress: ((what: string, done: number, total: number) => void) | undefined,
  write: { put(chunk: BulkPut[]): Promise<unknown>; delete(chunk: string[]): Promise<unknown> },
): Promise<void> {
  const { puts, deletes } = bulkWrites(changes);
  const total = puts.length + deletes.length;
  const report = (done: number) => {
    if (total > batch) progress?.("written", done, total);
  };
  for (let i = 0; i < puts.length; i += batch) {
    await write.put(puts.slice(i, i + batch));
    report(Math.min(puts.length, i + batch));
  }
  for (let i = 0; i < deletes.length; i += batch) {
    await write.delete(deletes.slice(i, i + batch));
    report(puts.length + Math.min(deletes.length, i + batch));
  }
}

export class WranglerKvStore implements RegistryStore, HashListingReader {
  readonly #target: WranglerTarget;
  /** wrangler runs made, for tests and for the operator's patience. */
  runs = 0;
  /** Called after each batch of a long read or write (`done` of `total` keys). */
  progress?: (what: string, done: number, total: number) => void;

  constructor(target: WranglerTarget) {
    this.#target = target;
  }

  describe(): string {
    const t = this.#target;
    const where = t.remote
      ? `remote namespace${t.preview ? " (preview)" : ""}`
      : `local state in ${t.persistTo ?? ".wrangler/state"}`;
    return `${t.binding}, ${where}${t.env ? `, env ${t.env}` : ""}`;
  }

  #flags(): string[] {
    const t = this.#target;
    const flags = ["--binding", t.binding, t.remote ? "--remote" : "--local"];
    if (t.persistTo && !t.remote) flags.push("--persist-to", t.persistTo);
    if (t.env) flags.push("--env", t.env);
    if (t.config) flags.push("--config", t.config);
    if (t.preview) flags.push("--preview");
    return flags;
  }

  #run(args: string[]): Promise<string> {
    this.runs++;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [wranglerBin(), ...args, ...this.#flags()], {
        cwd: this.#target.cwd ?? process.cwd(),
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) resolve(stdout);
        else
          reject(
            new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${code}):\n${(stderr || stdout).trim().slice(-2000)}`),
          );
      });
    });
  }

  async #withTempFile<T>(name: string, content: string, use: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), "identity-edge-tenants-"));
    const path = join(dir, name);
    try {
      await writeFile(path, content, { mode: 0o600 });
      return await use(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | null>> {
    const unique = [...new Set(keys)];
    const out = new Map<string, string | null>();
    const batch = this.#target.remote ? GET_BATCH : LOCAL_GET_BATCH;
    for (let i = 0; i < unique.length; i += batch) {
      if (i > 0) this.progress?.("read", i, unique.length);
      const chunk = unique.slice(i, i + batch);
      const stdout = await this.#withTempFile("keys.json", JSON.stringify(chunk), (path) =>
        this.#run(["kv", "bulk", "get", path]),
      );
      const result = jsonOutput(stdout) as Record<string, { value?: unknown } | undefined>;
      for (const key of chunk) {
        const value = result[key]?.value;
        out.set(key, typeof value === "string" ? value : null);
      }
    }
    return out;
  }

  async list(prefix: string): Promise<string[]> {
    const stdout = await this.#run(["kv", "key", "list", "--prefix", prefix]);
    const result = jsonOutput(stdout) as { name: string }[];
    return result.map((k) => k.name).sort();
  }

  /** One `kv key list` of the whole namespace (wrangler pages through it), with each value's recorded hash. */
  async listHashes(): Promise<Map<string, string | undefined>> {
    const stdout = await this.#run(["kv", "key", "list"]);
    const result = jsonOutput(stdout) as { name: string; metadata?: { sha256?: unknown } }[];
    return new Map(result.map((k) => [k.name, typeof k.metadata?.sha256 === "string" ? k.metadata.sha256 : undefined] as const));
  }

  async apply(changes: readonly KvChange[]): Promise<void> {
    await applyInBatches(changes, WRITE_BATCH, this.progress, {
      put: (chunk) => this.#withTempFile("put.json", JSON.stringify(chunk), (path) => this.#run(["kv", "bulk", "put", path])),
      delete: (chunk) =>
        this.#withTempFile("delete.json", JSON.stringify(chunk), (path) => this.#run(["kv", "bulk", "delete", path, "--force"])),
    });
  }
}
