import type { CachedList } from "./cache-crypto.ts";

/**
 * The in-isolate tier in front of KV: decrypted list responses, so a hit costs neither a KV read nor
 * a decryption. Bounded LRU (entries and bytes). Entries are keyed by the full key material, which
 * holds the tenant's generation: an invalidation makes the old entries unreachable, and
 * `dropTenant` frees them at once.
 */
export class MemoryTier {
  private readonly entries = new Map<string, { tenant: string; list: CachedList }>();
  private bytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;

  constructor(maxEntries: number, maxBytes: number) {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  /** The entry for `key`, marked most recently used. */
  get(key: string): CachedList | undefined {
    const found = this.entries.get(key);
    if (!found) return undefined;
    this.entries.delete(key);
    this.entries.set(key, found);
    return found.list;
  }

  /** Stores an entry, evicting the least recently used ones beyond the bounds. An entry above the byte bound is not kept. */
  set(key: string, tenant: string, list: CachedList): void {
    this.delete(key);
    if (list.body.byteLength > this.maxBytes) return;
    this.entries.set(key, { tenant, list });
    this.bytes += list.body.byteLength;
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const found = this.entries.get(key);
    if (!found) return;
    this.entries.delete(key);
    this.bytes -= found.list.body.byteLength;
  }

  /** Forgets every entry of a tenant (after an invalidation in this isolate). */
  dropTenant(tenant: string): void {
    for (const [key, value] of this.entries) if (value.tenant === tenant) this.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }
}
