/**
 * The CLI's store for `--local`: wrangler's local KV state (the directory `wrangler dev` reads),
 * opened directly with Miniflare, the simulator wrangler itself uses for `wrangler kv … --local`.
 *
 * Why not `wrangler kv bulk put --local`: wrangler writes a local bulk file one key at a time from
 * Node, each a round trip into workerd; measured on this project's 2-core machine it was ~5× slower
 * than the same writes made inside workerd, 16 at a time (BENCHMARKS.md, bulk tenant import). Here a
 * tiny Worker inside the same Miniflare does the listing, reads and writes in batches. The data, its
 * location and its format are wrangler's: `wrangler kv key list --local` and `wrangler dev` see it.
 *
 * Large writes (an import of thousands of entries) skip even that: the simulator stores one put at a
 * time, so they go straight into its SQLite database and blob files in one transaction
 * (./local-direct.ts, which checks the format first and otherwise leaves them to this Worker), and are
 * then read back through Miniflare.
 */
import { join, resolve } from "node:path";
import type { Miniflare } from "miniflare";
import type { HashListingReader } from "./registry-bulk.ts";
import type { KvChange, RegistryStore } from "./registry-store.ts";
import { type DirectOutcome, LocalStateChanged, simulatorFiles, writeDirect } from "./local-direct.ts";
import { applyInBatches, type BulkPut, bulkWrites, type WranglerTarget } from "./wrangler-store.ts";

/** Keys per request into the Worker (progress is reported between them). */
const BATCH = 2_000;
/** KV operations in flight inside the Worker. */
const CONCURRENCY = 16;
/**
 * Writes of at least this many entries go straight into the simulator's storage: below it the Worker
 * takes about a second and the direct path's own fixed cost (a listing, a read-back) is not worth it.
 */
const DIRECT_FROM = 1_000;
/** Values of a direct write read back through Miniflare (besides the full key listing). */
const READ_BACK_SAMPLE = 50;

const WORKER = `
async function each(items, fn) {
  let next = 0;
  const out = new Array(items.length);
  const run = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]); } };
  await Promise.all(Array.from({ length: ${CONCURRENCY} }, run));
  return out;
}
export default {
  async fetch(request, env) {
    const { op, keys, puts } = await request.json();
    if (op === "list") {
      const out = [];
      let cursor;
      for (;;) {
        const page = await env.KV.list(cursor ? { cursor } : {});
        for (const k of page.keys) out.push([k.name, k.metadata && typeof k.metadata.sha256 === "string" ? k.metadata.sha256 : null]);
        if (page.list_complete) break;
        cursor = page.cursor;
      }
      return Response.json(out);
    }
    if (op === "get") return Response.json(await each(keys, (k) => env.KV.get(k)));
    if (op === "put") { await each(puts, (p) => env.KV.put(p.key, p.value, { metadata: p.metadata })); return Response.json(puts.length); }
    if (op === "delete") { await each(keys, (k) => env.KV.delete(k)); return Response.json(keys.length); }
    return new Response("unknown op", { status: 400 });
  },
};`;

/** The local namespace id and state directory wrangler would use for this target. */
export async function localNamespace(target: WranglerTarget): Promise<{ id: string; kvPersist: string }> {
  // wrangler and Miniflare are large: loaded only when local state is opened (not for --help).
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({
    ...(target.config ? { config: target.config } : {}),
    ...(target.env ? { env: target.env } : {}),
  });
  const namespaces = config.kv_namespaces as { binding: string; id?: string; preview_id?: string }[];
  const binding = namespaces.find((ns) => ns.binding === target.binding);
  if (!binding) throw new Error(`no KV namespace bound as ${target.binding} in the wrangler config`);
  const id = (target.preview ? binding.preview_id : binding.id) ?? binding.binding;
  const configDir = config.userConfigPath ? resolve(config.userConfigPath, "..") : process.cwd();
  const persist = target.persistTo
    ? resolve(target.cwd ?? process.cwd(), target.persistTo)
    : join(configDir, ".wrangler", "state");
  return { id, kvPersist: join(persist, "v3", "kv") };
}

export interface LocalStoreOptions {
  /** Writes of at least this many entries go straight into storage (default 1,000; Infinity: never). */
  directFrom?: number;
}

export class LocalKvStore implements RegistryStore, HashListingReader {
  readonly #target: WranglerTarget;
  readonly #directFrom: number;
  #namespace: { id: string; kvPersist: string } | undefined;
  #mf: Miniflare | undefined;
  /** The last full listing, if nothing was written through this store since (a direct write checks against it). */
  #listed: Map<string, string | undefined> | undefined;
  /** Called after each batch of a long read or write (`done` of `total` keys). */
  progress?: (what: string, done: number, total: number) => void;
  /** One-line notes for the operator (which write path was taken, and why). */
  notice?: (text: string) => void;
  /** How the last `apply` wrote: straight into storage, or through the Worker. */
  lastWrite: "direct" | "worker" | undefined;

  constructor(target: WranglerTarget, options: LocalStoreOptions = {}) {
    this.#target = target;
    this.#directFrom = options.directFrom ?? DIRECT_FROM;
  }

  describe(): string {
    return `${this.#target.binding}, local state in ${this.#target.persistTo ?? ".wrangler/state"}`;
  }

  async #call<T>(body: unknown): Promise<T> {
    if (!this.#mf) {
      this.#namespace ??= await localNamespace(this.#target);
      const { id, kvPersist } = this.#namespace;
      const { Miniflare } = await import("miniflare");
      this.#mf = new Miniflare({ modules: true, script: WORKER, kvNamespaces: { KV: id }, kvPersist });
    }
    const res = await this.#mf.dispatchFetch("http://registry.local/", { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`local KV: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async listHashes(): Promise<Map<string, string | undefined>> {
    const pairs = await this.#call<[string, string | null][]>({ op: "list" });
    const listed = new Map(pairs.map(([key, hash]) => [key, hash ?? undefined]));
    this.#listed = new Map(listed);
    return listed;
  }

  async list(prefix: string): Promise<string[]> {
    return [...(await this.listHashes()).keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | null>> {
    const unique = [...new Set(keys)];
    const out = new Map<string, string | null>();
    for (let i = 0; i < unique.length; i += BATCH) {
      const chunk = unique.slice(i, i + BATCH);
      const values = await this.#call<(string | null)[]>({ op: "get", keys: chunk });
      for (const [j, key] of chunk.entries()) out.set(key, values[j] ?? null);
      if (unique.length > BATCH) this.progress?.("read", Math.min(unique.length, i + BATCH), unique.length);
    }
    return out;
  }

  async apply(changes: readonly KvChange[]): Promise<void> {
    const listed = this.#listed;
    this.#listed = undefined;
    if (changes.length >= this.#directFrom && (await this.#applyDirect(changes, listed))) {
      this.lastWrite = "direct";
      return;
    }
    this.lastWrite = "worker";
    await applyInBatches(changes, BATCH, this.progress, {
      put: (puts) => this.#call({ op: "put", puts }),
      delete: (keys) => this.#call({ op: "delete", keys }),
    });
  }

  /**
   * The plan's writes straight into the simulator's storage; false (and a note) when its format is
   * not the one ./local-direct.ts knows, so the Worker writes them instead. `listed` is the listing the
   * caller checked the plan against (the import's re-check for other writers), when it was the last
   * thing this store did.
   */
  async #applyDirect(changes: readonly KvChange[], listed: Map<string, string | undefined> | undefined): Promise<boolean> {
    const { puts, deletes } = bulkWrites(changes);
    const current = listed ?? (await this.listHashes());
    this.#namespace ??= await localNamespace(this.#target);
    const files = simulatorFiles(this.#namespace.kvPersist, this.#namespace.id);
    const fallBack = (reason: string) => {
      this.notice?.(`local state: ${reason}; writing through Miniflare instead (slower)`);
      return false;
    };
    if ("unsupported" in files) return fallBack(files.unsupported);
    // A reference entry, as Miniflare returns it, that the direct writer must find in its row and
    // blob file; in an empty namespace the first put is written through Miniflare to be that entry.
    let reference: { key: string; value: string } | undefined;
    let rest: readonly BulkPut[] = puts;
    const known = current.keys().next();
    if (!known.done) {
      const value = (await this.getMany([known.value])).get(known.value);
      if (typeof value === "string") reference = { key: known.value, value };
    } else if (puts[0]) {
      await this.#call({ op: "put", puts: [puts[0]] });
      reference = { key: puts[0].key, value: puts[0].value };
      current.set(puts[0].key, puts[0].metadata.sha256);
      rest = puts.slice(1);
    }
    if (!reference) return fallBack("no entry to check the storage format against");
    // This process's workerd lets go of the database; another one (wrangler dev) may still hold it.
    await this.close();
    let outcome: DirectOutcome;
    try {
      outcome = await writeDirect(files, { puts: rest, deletes, listed: current, reference });
    } catch (err) {
      if (err instanceof LocalStateChanged) throw err;
      throw new Error(
        `writing local state directly failed (its transaction was rolled back; run the command again): ${String(err)}`,
      );
    }
    if (!outcome.written) return fallBack(outcome.reason);
    if (outcome.otherProcess)
      this.notice?.(
        "another process has this local state open (wrangler dev?): it reads the new entries as soon as they commit, all at once (one SQLite transaction); its Worker may answer from tenants it cached for up to 30 s",
      );
    this.progress?.("written straight into local state", changes.length, changes.length);
    await this.#readBack(puts, deletes);
    return true;
  }

  /** Checks a direct write through Miniflare: every key's hash in a listing, and a sample of values. */
  async #readBack(puts: readonly BulkPut[], deletes: readonly string[]): Promise<void> {
    const listed = await this.listHashes();
    const wrong = [
      ...puts.filter((p) => listed.get(p.key) !== p.metadata.sha256).map((p) => p.key),
      ...deletes.filter((key) => listed.has(key)),
    ];
    const step = Math.max(1, Math.floor(puts.length / READ_BACK_SAMPLE));
    const sample = puts.filter((_, i) => i % step === 0 || i === puts.length - 1);
    const values = await this.getMany(sample.map((p) => p.key));
    wrong.push(...sample.filter((p) => values.get(p.key) !== p.value).map((p) => p.key));
    if (wrong.length > 0)
      throw new Error(
        `Miniflare does not read back what was written straight into local state (${wrong.slice(0, 5).join(", ")}${wrong.length > 5 ? ", …" : ""}): run the command again with --via-wrangler`,
      );
  }

  async close(): Promise<void> {
    await this.#mf?.dispose();
    this.#mf = undefined;
  }
}
