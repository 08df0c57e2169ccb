/**
 * Bulk writes straight into the storage of Miniflare's local KV simulator (wrangler's local state),
 * for `--local` imports of thousands of entries.
 *
 * Why: the simulator is a Durable Object that stores each `put` as a SQLite row plus a blob file, one
 * put at a time (~1–1.7 ms an entry on this project's machine however many are in flight): 50,000
 * entries took 47–78 s. The same rows and files written from Node in one SQLite transaction take ~3 s
 * (BENCHMARKS.md, bulk tenant import).
 *
 * The format is Miniflare's, not ours, so nothing is written on a guess. Before writing, this checks
 * the database's tables and columns, and that a reference entry Miniflare itself returned (its row and
 * its blob file) is where and what this module expects; anything else and the caller falls back to
 * writing through Miniflare. Inside the write transaction the database must hold exactly the keys and
 * hashes the caller last listed through Miniflare: otherwise it changed meanwhile (another writer) and
 * nothing is written. test/node/local-direct.test.ts reads every written entry back through
 * Miniflare's own KV, so an upgrade that changes the format fails the test.
 *
 * The layout (miniflare 4): `<kvPersist>/miniflare-KVNamespaceObject/<object id>.sqlite`, table
 * `_mf_entries(key, blob_id, expiration, metadata)`, where the object id is derived from the namespace
 * id like workerd's `idFromName`, and each value in `<kvPersist>/<namespace id>/blobs/<blob_id>`.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { BulkPut } from "./wrangler-store.ts";

/** The `uniqueKey` Miniflare gives its KV namespace Durable Object class. */
const KV_OBJECT_UNIQUE_KEY = "miniflare-KVNamespaceObject";

/** `_mf_entries` as Miniflare creates it: name, declared type, NOT NULL, primary key position. */
const EXPECTED_COLUMNS = [
  ["key", "TEXT", 0, 1],
  ["blob_id", "TEXT", 1, 0],
  ["expiration", "INTEGER", 0, 0],
  ["metadata", "TEXT", 0, 0],
] as const;

/** Miniflare's blob ids: 32 random bytes and an 8-byte millisecond timestamp, in hex. */
const BLOB_ID = /^[0-9a-f]{80}$/;

/** How long a write waits for another process's transaction (wrangler dev's own writes). */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * A Durable Object id from a name, as Miniflare computes it in Node (`durableObjectNamespaceIdFromName`,
 * not exported) and workerd for `idFromName`: an HMAC of the name under the class's key, then an HMAC
 * of that.
 */
export function durableObjectIdFromName(uniqueKey: string, name: string): string {
  const key = createHash("sha256").update(uniqueKey).digest();
  const nameHmac = createHmac("sha256", key).update(name).digest().subarray(0, 16);
  const check = createHmac("sha256", key).update(nameHmac).digest().subarray(0, 16);
  return Buffer.concat([nameHmac, check]).toString("hex");
}

export interface SimulatorFiles {
  database: string;
  blobs: string;
}

/**
 * Where the simulator keeps namespace `namespaceId` under `kvPersist`, or why this module will not
 * compute it: Miniflare escapes other ids into file names, and only plain ones are taken here.
 */
export function simulatorFiles(kvPersist: string, namespaceId: string): SimulatorFiles | { unsupported: string } {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(namespaceId) || /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i.test(namespaceId))
    return { unsupported: `namespace id ${JSON.stringify(namespaceId)} is not a plain file name` };
  return {
    database: join(kvPersist, KV_OBJECT_UNIQUE_KEY, `${durableObjectIdFromName(KV_OBJECT_UNIQUE_KEY, namespaceId)}.sqlite`),
    blobs: join(kvPersist, namespaceId, "blobs"),
  };
}

export interface DirectWrite {
  puts: readonly BulkPut[];
  deletes: readonly string[];
  /**
   * Every key of the namespace and its recorded hash, as last listed through Miniflare: the write
   * goes ahead only if the database holds exactly these.
   */
  listed: ReadonlyMap<string, string | undefined>;
  /** One listed entry and its value as Miniflare returned it: its row and blob must be found here. */
  reference: { key: string; value: string };
}

export type DirectOutcome =
  /** `otherProcess`: another process (wrangler dev) had the database open while this wrote. */
  | { written: true; otherProcess: boolean }
  /** The storage is not as this module knows it: nothing was written; write through Miniflare. */
  | { written: false; reason: string };

/** The local state changed between the caller's listing and the write: nothing was written. */
export class LocalStateChanged extends Error {}

/**
 * node:sqlite (Node ≥ 22.5) prints an ExperimentalWarning when first loaded; the CLI's output is for
 * operators, so that one warning (and only it) is dropped while loading.
 */
async function loadSqlite(): Promise<typeof import("node:sqlite") | undefined> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await import("node:sqlite");
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** What differs from the table this module knows, or undefined when it is exactly that. */
function formatProblem(db: DatabaseSync): string | undefined {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
    .all()
    .map((row) => String(row.name))
    // workerd's own bookkeeping tables (Durable Object storage); never touched here.
    .filter((name) => !name.startsWith("_cf_"));
  if (tables.join() !== "_mf_entries") return `tables ${tables.join(", ") || "(none)"} instead of _mf_entries`;
  const columns = db
    .prepare("PRAGMA table_info(_mf_entries)")
    .all()
    .map((c) => [c.name, String(c.type).toUpperCase(), c.notnull, c.pk]);
  if (JSON.stringify(columns) !== JSON.stringify(EXPECTED_COLUMNS))
    return `_mf_entries has columns ${JSON.stringify(columns)}, not those of the known format`;
  return undefined;
}

/** Whether another process holds the database open (workerd keeps a lock on it while it has it open). */
function openElsewhere(sqlite: typeof import("node:sqlite"), path: string): boolean {
  const probe = new sqlite.DatabaseSync(path, { timeout: 0 });
  try {
    probe.exec("PRAGMA locking_mode = EXCLUSIVE");
    probe.exec("BEGIN IMMEDIATE");
    probe.exec("ROLLBACK");
    return false;
  } catch {
    return true;
  } finally {
    probe.close();
  }
}

function newBlobId(): string {
  const time = Buffer.alloc(8);
  time.writeBigInt64BE(BigInt(Date.now()));
  return randomBytes(32).toString("hex") + time.toString("hex");
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never written: an orphan blob is unreachable (no row names it), never wrong.
  }
}

/**
 * Writes `puts` and `deletes` in one SQLite transaction (blob files first, so no row ever names a
 * missing file; replaced and deleted blobs are removed after the commit, as Miniflare does).
 */
export async function writeDirect(files: SimulatorFiles, write: DirectWrite): Promise<DirectOutcome> {
  const sqlite = await loadSqlite();
  if (!sqlite) return { written: false, reason: "node:sqlite is not available (Node 22.5 or later)" };
  if (!existsSync(files.database)) return { written: false, reason: `no database at ${files.database}` };
  const otherProcess = openElsewhere(sqlite, files.database);
  const db = new sqlite.DatabaseSync(files.database, { timeout: BUSY_TIMEOUT_MS });
  const written: string[] = [];
  let open = false;
  try {
    const problem = formatProblem(db);
    if (problem) return { written: false, reason: problem };
    const ref = db.prepare("SELECT blob_id FROM _mf_entries WHERE key = ?").get(write.reference.key);
    const refBlob = typeof ref?.blob_id === "string" && BLOB_ID.test(ref.blob_id) ? ref.blob_id : undefined;
    const refPath = refBlob === undefined ? undefined : join(files.blobs, refBlob);
    if (refPath === undefined || !existsSync(refPath) || readFileSync(refPath, "utf8") !== write.reference.value)
      return { written: false, reason: `the entry ${write.reference.key} is not stored as expected (row and blob file)` };

    // The blobs first, outside the transaction: readers are never blocked by a write (WAL), but
    // wrangler dev's own writes would wait for the lock while 50,000 files are written.
    const blobIds = write.puts.map((put) => {
      const id = newBlobId();
      writeFileSync(join(files.blobs, id), put.value, { flag: "wx" });
      written.push(id);
      return id;
    });

    db.exec("BEGIN IMMEDIATE");
    open = true;
    const moved = changedKeys(db, write.listed);
    if (moved.length > 0)
      throw new LocalStateChanged(
        `${moved.length} key(s) of the local state changed between the check for other writers and the write (${moved.slice(0, 5).join(", ")}${moved.length > 5 ? ", …" : ""}): the bulk write wrote nothing; run the command again to re-plan`,
      );
    const oldBlob = db.prepare("SELECT blob_id FROM _mf_entries WHERE key = ?");
    const put = db.prepare("INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) VALUES (?, ?, NULL, ?)");
    const remove = db.prepare("DELETE FROM _mf_entries WHERE key = ? RETURNING blob_id");
    const replaced: string[] = [];
    for (const [i, p] of write.puts.entries()) {
      const before = oldBlob.get(p.key)?.blob_id;
      if (typeof before === "string") replaced.push(before);
      put.run(p.key, blobIds[i] ?? "", JSON.stringify(p.metadata));
    }
    for (const key of write.deletes) {
      const before = remove.get(key)?.blob_id;
      if (typeof before === "string") replaced.push(before);
    }
    db.exec("COMMIT");
    open = false;
    written.length = 0;
    for (const id of replaced) if (BLOB_ID.test(id)) unlinkQuietly(join(files.blobs, id));
    return { written: true, otherProcess };
  } finally {
    if (open) db.exec("ROLLBACK");
    for (const id of written) unlinkQuietly(join(files.blobs, id));
    db.close();
  }
}

/** Keys whose presence or recorded hash in the database differs from `listed` (expired entries excluded, as a listing does). */
function changedKeys(db: DatabaseSync, listed: ReadonlyMap<string, string | undefined>): string[] {
  const rows = db.prepare("SELECT key, metadata FROM _mf_entries WHERE expiration IS NULL OR expiration >= ?").all(Date.now());
  const moved: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const key = String(row.key);
    seen.add(key);
    let hash: string | undefined;
    try {
      const metadata: unknown = typeof row.metadata === "string" ? JSON.parse(row.metadata) : undefined;
      const recorded = (metadata as { sha256?: unknown } | undefined)?.sha256;
      hash = typeof recorded === "string" ? recorded : undefined;
    } catch {
      hash = undefined;
    }
    if (!listed.has(key) || listed.get(key) !== hash) moved.push(key);
  }
  for (const key of listed.keys()) if (!seen.has(key)) moved.push(key);
  return moved;
}
