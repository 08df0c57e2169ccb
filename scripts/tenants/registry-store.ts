/**
 * The storage the registry's planning core reads and its executor writes, with two implementations
 * that run anywhere: an in-memory map (CLI tests, dry runs) and a Workers `KVNamespace` (Worker tests
 * seed the real binding through the same plans the CLI applies). The CLI's production store drives
 * `wrangler kv` (scripts/tenants/wrangler-store.ts).
 */

export type KvChange =
  | { op: "put"; key: string; value: string; summary: string }
  | { op: "delete"; key: string; summary: string };

export interface RegistryReader {
  /** Values of `keys` (null when absent), in one round trip where the store allows. */
  getMany(keys: readonly string[]): Promise<Map<string, string | null>>;
  /** Every key starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

export interface RegistryStore extends RegistryReader {
  /** Writes puts before deletes, each in the plan's order. */
  apply(changes: readonly KvChange[]): Promise<void>;
}

/** A store in a Map (optionally shared, so a test can look at what was written). */
export class MemoryKvStore implements RegistryStore {
  readonly data: Map<string, string>;
  /** Round trips made, for tests that keep the CLI's wrangler calls few. */
  reads = 0;

  constructor(data: Map<string, string> = new Map()) {
    this.data = data;
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | null>> {
    this.reads++;
    return new Map(keys.map((k) => [k, this.data.get(k) ?? null]));
  }

  async list(prefix: string): Promise<string[]> {
    this.reads++;
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async apply(changes: readonly KvChange[]): Promise<void> {
    for (const c of changes) if (c.op === "put") this.data.set(c.key, c.value);
    for (const c of changes) if (c.op === "delete") this.data.delete(c.key);
  }
}

/** A store over a Workers KV binding. */
export class KvNamespaceStore implements RegistryStore {
  readonly #kv: KVNamespace;

  constructor(kv: KVNamespace) {
    this.#kv = kv;
  }

  async getMany(keys: readonly string[]): Promise<Map<string, string | null>> {
    const unique = [...new Set(keys)];
    const values = await Promise.all(unique.map((k) => this.#kv.get(k)));
    return new Map(unique.map((k, i) => [k, values[i] ?? null]));
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page: KVNamespaceListResult<unknown, string> = await this.#kv.list(
        cursor === undefined ? { prefix } : { prefix, cursor },
      );
      out.push(...page.keys.map((k) => k.name));
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    return out.sort();
  }

  async apply(changes: readonly KvChange[]): Promise<void> {
    for (const c of changes) if (c.op === "put") await this.#kv.put(c.key, c.value);
    for (const c of changes) if (c.op === "delete") await this.#kv.delete(c.key);
  }
}
