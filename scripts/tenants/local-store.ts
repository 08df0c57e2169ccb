/**
 * The CLI's store for `--local`: wrangler's local KV state (the directory `wrangler dev` reads),
 * opened directly with Miniflare, the simulator wrangler itself uses for `wrangler kv … --local`.
 *
 * Why not `wrangler kv bulk put --local`: wrangler writes a local bulk file one key at a time from
 * Node, each a round trip into workerd; measured on this project's 2-core machine it was ~5× slower
 * than the same writes made inside workerd, 16 at a time (BENCHMARKS.md, bulk tenant import). Here a
 * tiny Worker inside the same Miniflare does the listing, reads and writes in batches. The data, its
 * location and its format are wrangler's: `wrangler kv key list --local` and `wrangler dev` see it.
 */
import { join, resolve } from "node:path";
import type { Miniflare } from "miniflare";
import type { HashListingReader } from "./registry-bulk.ts";
import type { KvChange, RegistryStore } from "./registry-store.ts";
import { applyInBatches, type WranglerTarget } from "./wrangler-store.ts";

/** Keys per request into the Worker (progress is reported between them). */
const BATCH = 2_000;
/** KV operations in flight inside the Worker. */
const CONCURRENCY = 16;

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

export class LocalKvStore implements RegistryStore, HashListingReader {
  readonly #target: WranglerTarget;
  #mf: Miniflare | undefined;
  /** Called after each batch of a long read or write (`done` of `total` keys). */
  progress?: (what: string, done: number, total: number) => void;

  constructor(target: WranglerTarget) {
    this.#target = target;
  }

  describe(): string {
    return `${this.#target.binding}, local state in ${this.#target.persistTo ?? ".wrangler/state"}`;
  }

  async #call<T>(body: unknown): Promise<T> {
    if (!this.#mf) {
      const { id, kvPersist } = await localNamespace(this.#target);
      const { Miniflare } = await import("miniflare");
      this.#mf = new Miniflare({ modules: true, script: WORKER, kvNamespaces: { KV: id }, kvPersist });
    }
    const res = await this.#mf.dispatchFetch("http://registry.local/", { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`local KV: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async listHashes(): Promise<Map<string, string | undefined>> {
    const pairs = await this.#call<[string, string | null][]>({ op: "list" });
    return new Map(pairs.map(([key, hash]) => [key, hash ?? undefined]));
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
    await applyInBatches(changes, BATCH, this.progress, {
      put: (puts) => this.#call({ op: "put", puts }),
      delete: (keys) => this.#call({ op: "delete", keys }),
    });
  }

  async close(): Promise<void> {
    await this.#mf?.dispose();
    this.#mf = undefined;
  }
}
