/**
 * The SQLite storage driver (better-sqlite3): the embedded default, one file in the data
 * directory (`<data>/log.db`), no server to install.
 *
 * Durability: WAL journal with `synchronous = FULL`, so every commit fsyncs the WAL before
 * `sequence()` resolves: an acknowledged index survives power loss, not only a process crash.
 * (`NORMAL` in WAL mode fsyncs only at checkpoints; a crash of the process loses nothing, but a
 * power cut can roll back the last acknowledged batches, and the log would then hand out their
 * indexes again to other entries.) Each `sequence()` batch is one transaction: one fsync
 * shared by the whole batch (group commit).
 *
 * Exclusivity: the connection runs in `locking_mode = EXCLUSIVE` and takes the database's
 * exclusive lock when it opens, so a second process (or a second handle in this one) that opens
 * the same data directory fails at once with `STORAGE_LOCKED`. The lock is the kernel's, so it
 * goes away with the process, also on SIGKILL: there is no stale lock file to clean up. With
 * exclusive locking, WAL keeps its index in heap memory, not in a `-shm` file.
 *
 * Scale: every read is a primary-key range or point lookup (the `entries.idx` rowid, the
 * `leaf_hash` unique index, the tiles key), and nothing about the entries is held in memory
 * beyond SQLite's page cache (a fixed 8 MiB), so memory use does not grow with the tree.
 *
 * better-sqlite3 is synchronous: each call blocks the event loop for its duration, one fsync
 * for a write (see docs/storage.md for measurements and why it does not run in a worker).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex } from '../../core/bytes.js';
import { sha256 } from '../../crypto/sha256.js';
import { merkleError } from '../../merkle/errors.js';
import {
  checkBundleRange,
  checkCommit,
  checkHash,
  checkIndex,
  checkIntegratedSize,
  checkLease,
  checkRange,
  checkSequenceItems,
  checkTileId,
  MAX_ENTRY_BYTES,
  type NodeKeyRow,
  nodeKeyFromRow,
  plainBytes,
  planSequence,
  rangeEnd,
  storageError,
  toSafeIndex,
  wrapDriverError,
} from './index.js';
import type {
  LogStorage,
  NodeKeyRecord,
  SequenceItem,
  SequenceResult,
  StoredTile,
  TileId,
  TreeState,
} from './types.js';

export interface SqliteStorageOptions {
  /** The data directory (created, mode 0700, when missing). */
  dir: string;
  /** File name inside `dir` (default `log.db`). */
  file?: string;
  /** Clock for lease expiry, ms since the epoch (default `Date.now`). */
  now?: () => number;
  /**
   * How long to wait for another holder of the database to let go before refusing with
   * STORAGE_LOCKED (default 1000 ms: long enough for a previous process that is exiting).
   */
  lockTimeoutMs?: number;
  /** SQLite page cache in MiB (default 8). Bulk loads of millions of entries want far more. */
  cacheMiB?: number;
}

/** Schema version this code writes and understands (`PRAGMA user_version`). */
export const SQLITE_SCHEMA_VERSION = 2;

const EMPTY_ROOT_HEX = toHex(sha256());

/** Version 1 of the schema. Integers are SQLite INTEGER (64-bit); blobs are BLOB. */
export const SQLITE_SCHEMA_V1 = `
CREATE TABLE entries (
  idx       INTEGER PRIMARY KEY,
  leaf_hash BLOB NOT NULL UNIQUE,
  data      BLOB NOT NULL
);
CREATE TABLE claims (
  chain TEXT NOT NULL,
  seq   INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  PRIMARY KEY (chain, seq)
) WITHOUT ROWID;
CREATE TABLE node_keys (
  key_id       TEXT PRIMARY KEY,
  vkey         TEXT NOT NULL,
  lab          TEXT NOT NULL,
  facility     TEXT NOT NULL,
  cluster      TEXT NOT NULL,
  node         TEXT NOT NULL,
  added_at     INTEGER NOT NULL,
  revoked_at   INTEGER,
  revoked_time TEXT
) WITHOUT ROWID;
CREATE TABLE tiles (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  data  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE tree_state (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  size       INTEGER NOT NULL,
  root_hash  BLOB NOT NULL,
  checkpoint BLOB
);
INSERT INTO tree_state (id, size, root_hash, checkpoint) VALUES (0, 0, x'${EMPTY_ROOT_HEX}', NULL);
CREATE TABLE lease (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  owner      TEXT,
  expires_at INTEGER NOT NULL
);
INSERT INTO lease (id, owner, expires_at) VALUES (0, NULL, 0);
`;

/** Version 2: the published (possibly cosigned) checkpoint. */
export const SQLITE_SCHEMA_V2 = `
CREATE TABLE published (
  id   INTEGER PRIMARY KEY CHECK (id = 0),
  size INTEGER NOT NULL,
  note BLOB NOT NULL
);
`;

/**
 * The driver's statements. Exported for tests that check the read paths are index lookups
 * (EXPLAIN QUERY PLAN); not an API.
 * @internal
 */
export const SQLITE_SQL = {
  size: 'SELECT COALESCE(MAX(idx) + 1, 0) FROM entries',
  findLeaf: 'SELECT idx FROM entries WHERE leaf_hash = ?',
  findClaim: 'SELECT idx FROM claims WHERE chain = ? AND seq = ?',
  insertEntry: 'INSERT INTO entries (idx, leaf_hash, data) VALUES (?, ?, ?)',
  insertClaim: 'INSERT INTO claims (chain, seq, idx) VALUES (?, ?, ?)',
  addKey:
    'INSERT INTO node_keys (key_id, vkey, lab, facility, cluster, node, added_at) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING',
  revokeKey:
    'UPDATE node_keys SET revoked_at = ?, revoked_time = ? WHERE key_id = ? AND revoked_at IS NULL',
  getKey:
    'SELECT key_id, vkey, lab, facility, cluster, node, added_at, revoked_at, revoked_time ' +
    'FROM node_keys WHERE key_id = ?',
  // One row for a whole range: the entries concatenated, and `idx:length` of each (one buffer
  // per call instead of one per entry, for the entry bundles the log serves). The rows come from
  // a rowid range scan, already in index order; an aggregate ORDER BY would add a sort that cost
  // 2-3x the whole read (0.6-0.8 ms against 0.25-0.4 ms per 256 entries). SQLite documents the
  // order of group_concat without one as arbitrary, so the indexes come back too and the reader
  // checks them (`splitConcatenated`).
  readEntries:
    "SELECT CAST(group_concat(data, '') AS BLOB), group_concat(idx || ':' || length(data), ',') " +
    'FROM (SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx)',
  // An entry bundle in one value: each entry after its length as two big-endian bytes (lengths
  // above 65,535 would not fit; the reader refuses them), with `idx:length` of each to check the
  // order and the lengths, as for readEntries.
  readBundle:
    "SELECT CAST(group_concat(unhex(printf('%04x', length(data))) || data, '') AS BLOB), " +
    "group_concat(idx || ':' || length(data), ',') " +
    'FROM (SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx)',
  readLeaves: 'SELECT leaf_hash FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx',
  readTile: 'SELECT data FROM tiles WHERE level = ? AND idx = ?',
  setPublished:
    'INSERT INTO published (id, size, note) VALUES (0, ?, ?) ' +
    'ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note ' +
    'WHERE excluded.size >= published.size',
  published: 'SELECT size, note FROM published WHERE id = 0',
  upsertTile:
    'INSERT INTO tiles (level, idx, data) VALUES (?, ?, ?) ON CONFLICT (level, idx) ' +
    'DO UPDATE SET data = excluded.data WHERE length(excluded.data) >= length(tiles.data)',
  treeState: 'SELECT size, root_hash, checkpoint FROM tree_state WHERE id = 0',
  casTree:
    'UPDATE tree_state SET size = ?, root_hash = ?, checkpoint = ? WHERE id = 0 AND size = ?',
  acquireLease:
    'UPDATE lease SET owner = ?, expires_at = ? ' +
    'WHERE id = 0 AND (owner IS NULL OR owner = ? OR expires_at <= ?)',
  releaseLease: 'UPDATE lease SET owner = NULL, expires_at = 0 WHERE id = 0 AND owner = ?',
} as const;

/** Statements that return one column, read as plain values. */
const SINGLE_COLUMN = ['size', 'findLeaf', 'findClaim', 'readLeaves', 'readTile'] as const;

/** Entries read per query (at most 1024 × 64 KiB per concatenation). */
const READ_CHUNK = 1024;

/**
 * The lengths in `idx:length,…`, as SQLite listed them beside a concatenation (`op` names the read
 * in errors).
 * @throws {Error} unless the indexes run on by one from `first`
 */
function concatenatedLengths(op: string, parts: string, first: number): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < parts.length) {
    const colon = parts.indexOf(':', at);
    let comma = parts.indexOf(',', colon);
    if (comma < 0) comma = parts.length;
    if (colon < 0 || Number(parts.slice(at, colon)) !== first + out.length) {
      throw new Error(`${op}: entries read out of index order`);
    }
    out.push(Number(parts.slice(colon + 1, comma)));
    at = comma + 1;
  }
  return out;
}

/**
 * The entries of one concatenation, given `idx:length` of each in the order concatenated: views
 * of one fresh copy (the caller owns it; SQLite's buffer is not shared).
 * @throws {Error} unless the indexes run on by one from `first` and the lengths add up
 */
export function splitConcatenated(data: Buffer, parts: string, first: number): Uint8Array[] {
  const copy = new Uint8Array(data);
  const out: Uint8Array[] = [];
  let o = 0;
  for (const n of concatenatedLengths('readEntries', parts, first)) {
    out.push(copy.subarray(o, o + n));
    o += n;
  }
  if (o !== copy.length) throw new Error('readEntries: lengths do not add up to the data read');
  return out;
}

/**
 * Checks an entry bundle SQLite concatenated, given `idx:length` of each entry in the order
 * concatenated: the indexes run on by one from `first`, every length fits the two-byte prefix, and
 * the prefixes and entries add up to the bytes read. Returns the number of entries.
 * @throws {Error} when they do not (a driver fault: the bytes are not served)
 * @throws {MerkleError} ENTRY_TOO_LARGE for an entry above 65,535 bytes
 */
export function checkConcatenatedBundle(data: Uint8Array, parts: string, first: number): number {
  const lengths = concatenatedLengths('readEntryBundle', parts, first);
  let total = 0;
  for (const len of lengths) {
    if (len > MAX_ENTRY_BYTES) {
      throw merkleError('ENTRY_TOO_LARGE', `log entries are at most ${MAX_ENTRY_BYTES} bytes`);
    }
    total += 2 + len;
  }
  if (total !== data.length) {
    throw new Error('readEntryBundle: lengths do not add up to the data read');
  }
  return lengths.length;
}

type Stmts = { [K in keyof typeof SQLITE_SQL]: Database.Statement };

type KeyRow = NodeKeyRow;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

export class SqliteStorage implements LogStorage {
  readonly driver = 'sqlite';
  /** Path of the database file. */
  readonly path: string;

  private readonly db: Database.Database;
  private readonly st: Stmts;
  private readonly now: () => number;
  private readonly sequenceTx: (items: readonly SequenceItem[]) => SequenceResult[];
  private readonly commitTx: (
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ) => boolean;
  private closed = false;

  private constructor(db: Database.Database, path: string, now: () => number) {
    this.db = db;
    this.path = path;
    this.now = now;
    const st = {} as Record<keyof typeof SQLITE_SQL, Database.Statement>;
    for (const [k, sql] of Object.entries(SQLITE_SQL)) {
      st[k as keyof typeof SQLITE_SQL] = db.prepare(sql);
    }
    this.st = st;
    for (const k of SINGLE_COLUMN) st[k].pluck();
    st.readEntries.raw();
    st.readBundle.raw();
    const seqTx = db.transaction((items: readonly SequenceItem[]) => this.applySequence(items));
    this.sequenceTx = (items) => seqTx.immediate(items);
    const commitTx = db.transaction(
      (
        oldSize: number,
        next: TreeState & { checkpoint: Uint8Array },
        tiles: readonly StoredTile[],
      ) => this.applyCommit(oldSize, next, tiles),
    );
    this.commitTx = (oldSize, next, tiles) => commitTx.immediate(oldSize, next, tiles);
  }

  /**
   * Opens (creating when missing) the log database in a data directory, takes its exclusive
   * lock, and migrates its schema.
   * @throws {VPauseError<'STORAGE_LOCKED'>} when another process or handle holds the database
   * @throws {VPauseError<'STORAGE_SCHEMA'>} when it was written by a newer vpause
   * @throws {VPauseError<'UNAVAILABLE'>} when the file cannot be created or opened
   */
  static async open(opts: SqliteStorageOptions): Promise<SqliteStorage> {
    const path = join(opts.dir, opts.file ?? 'log.db');
    let db: Database.Database | undefined;
    try {
      mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      db = new Database(path, { timeout: opts.lockTimeoutMs ?? 1000 });
      // Exclusive locking before WAL: the WAL index then lives in heap memory, and the first
      // access takes a lock that no other connection can share.
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not enable WAL (journal_mode is ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = OFF');
      db.pragma(`cache_size = -${Math.max(1, Math.round((opts.cacheMiB ?? 8) * 1024))}`);
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      migrate(db);
      return new SqliteStorage(db, path, opts.now ?? Date.now);
    } catch (e) {
      db?.close();
      if (isBusy(e)) {
        throw storageError(
          'STORAGE_LOCKED',
          `data directory ${opts.dir} is in use: another process holds ${path}`,
          e,
        );
      }
      throw wrapDriverError('sqlite', `open ${path}`, e);
    }
  }

  /** The connection's durability settings, as SQLite reports them (for diagnostics and tests). */
  settings(): {
    journalMode: string;
    synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
    lockingMode: string;
  } {
    this.assertOpen();
    const sync = Number(this.db.pragma('synchronous', { simple: true }));
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: (['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const)[sync] ?? 'OFF',
      lockingMode: String(this.db.pragma('locking_mode', { simple: true })),
    };
  }

  async sequence(items: readonly SequenceItem[]): Promise<SequenceResult[]> {
    checkSequenceItems(items);
    return this.guard('sequence', () => (items.length === 0 ? [] : this.sequenceTx(items)));
  }

  async sequencedSize(): Promise<number> {
    return this.guard('sequencedSize', () => this.size());
  }

  async readEntries(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readEntries', start, count);
    return this.guard('readEntries', () => {
      const end = rangeEnd(start, count);
      const out: Uint8Array[] = [];
      // In chunks, so that no concatenation nears SQLite's 1 GB limit on one value.
      for (let lo = start; lo < end; lo += READ_CHUNK) {
        const row = this.st.readEntries.get(lo, Math.min(end, lo + READ_CHUNK)) as
          | [Buffer | null, string | null]
          | undefined;
        if (row === undefined || row[0] === null || row[1] === null) break;
        const parts = splitConcatenated(row[0], row[1], lo);
        for (const e of parts) out.push(e);
        if (parts.length < Math.min(end, lo + READ_CHUNK) - lo) break;
      }
      return out;
    });
  }

  async readEntryBundle(start: number, count: number): Promise<Uint8Array | undefined> {
    checkBundleRange('readEntryBundle', start, count);
    return this.guard('readEntryBundle', () => {
      const row = this.st.readBundle.get(start, start + count) as
        | [Buffer | null, string | null]
        | undefined;
      if (row === undefined || row[0] === null || row[1] === null) return undefined;
      // One new buffer, the caller's own (no copy: the entries are not split out).
      const data = new Uint8Array(row[0].buffer, row[0].byteOffset, row[0].byteLength);
      return checkConcatenatedBundle(data, row[1], start) === count ? data : undefined;
    });
  }

  async readLeafHashes(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readLeafHashes', start, count);
    return this.guard('readLeafHashes', () =>
      (this.st.readLeaves.all(start, rangeEnd(start, count)) as Buffer[]).map(plainBytes),
    );
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    checkHash('findLeafHash: leafHash', leafHash);
    return this.guard('findLeafHash', () => this.findLeaf(leafHash));
  }

  async getNodeKey(keyId: string): Promise<NodeKeyRecord | undefined> {
    if (typeof keyId !== 'string') throw new TypeError('getNodeKey: keyId: expected a string');
    return this.guard('getNodeKey', () => {
      const r = this.st.getKey.get(keyId) as KeyRow | undefined;
      if (!r) return undefined;
      return nodeKeyFromRow(r);
    });
  }

  async treeState(): Promise<TreeState> {
    return this.guard('treeState', () => {
      const r = this.st.treeState.get() as
        | { size: number; root_hash: Buffer; checkpoint: Buffer | null }
        | undefined;
      if (!r) throw storageError('STORAGE_CORRUPT', 'tree_state row is missing');
      return {
        size: toSafeIndex('tree_state.size', r.size),
        rootHash: plainBytes(r.root_hash),
        ...(r.checkpoint === null ? {} : { checkpoint: plainBytes(r.checkpoint) }),
      };
    });
  }

  async readTiles(ids: readonly TileId[]): Promise<(Uint8Array | undefined)[]> {
    ids.forEach((t, i) => {
      checkTileId(`readTiles: ids[${i}]`, t);
    });
    return this.guard('readTiles', () =>
      ids.map((t) => {
        const d = this.st.readTile.get(t.level, t.index) as Buffer | undefined;
        return d === undefined ? undefined : plainBytes(d);
      }),
    );
  }

  async commitIntegration(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): Promise<boolean> {
    checkCommit(oldSize, next, tiles);
    return this.guard('commitIntegration', () => this.commitTx(oldSize, next, tiles));
  }

  async setPublished(size: number, note: Uint8Array): Promise<boolean> {
    checkIndex('setPublished: size', size);
    return this.guard('setPublished', () => this.st.setPublished.run(size, note).changes === 1);
  }

  async published(): Promise<{ size: number; note: Uint8Array } | undefined> {
    return this.guard('published', () => {
      const r = this.st.published.get() as { size: number; note: Buffer } | undefined;
      return r === undefined
        ? undefined
        : { size: toSafeIndex('published.size', r.size), note: plainBytes(r.note) };
    });
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    checkLease(owner, ttlMs);
    return this.guard('acquireLease', () => {
      const now = this.now();
      return this.st.acquireLease.run(owner, now + ttlMs, owner, now).changes === 1;
    });
  }

  async releaseLease(owner: string): Promise<void> {
    checkLease(owner);
    return this.guard('releaseLease', () => {
      this.st.releaseLease.run(owner);
    });
  }

  /** Closes the database (checkpointing the WAL) and releases the data directory's lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private size(): number {
    return toSafeIndex('entries.idx', this.st.size.get());
  }

  private findLeaf(leafHash: Uint8Array): number | undefined {
    const v = this.st.findLeaf.get(leafHash);
    return v === undefined ? undefined : toSafeIndex('entries.idx', v);
  }

  /** Runs inside the sequence transaction. */
  private applySequence(items: readonly SequenceItem[]): SequenceResult[] {
    const plan = planSequence(items, this.size(), {
      leaf: (h) => this.findLeaf(h),
      claim: (chain, seq) => {
        const v = this.st.findClaim.get(chain, seq);
        return v === undefined ? undefined : toSafeIndex('claims.idx', v);
      },
    });
    for (const { index, item } of plan.fresh) {
      this.st.insertEntry.run(index, item.leafHash, item.data);
      if (item.claim) this.st.insertClaim.run(item.claim.chain, item.claim.seq, index);
      const ev = item.keyEvent;
      if (ev?.action === 'add') {
        this.st.addKey.run(ev.keyId, ev.vkey, ev.lab, ev.facility, ev.cluster, ev.node, index);
      } else if (ev?.action === 'revoke') {
        this.st.revokeKey.run(index, ev.time, ev.keyId);
      }
    }
    return plan.results;
  }

  /** Runs inside the commit transaction; returning false writes nothing. */
  private applyCommit(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): boolean {
    checkIntegratedSize(next.size, this.size());
    const cas = this.st.casTree.run(next.size, next.rootHash, next.checkpoint, oldSize);
    if (cas.changes !== 1) return false;
    for (const t of tiles) this.st.upsertTile.run(t.level, t.index, t.data);
    return true;
  }

  private guard<T>(op: string, fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (e) {
      throw wrapDriverError('sqlite', op, e);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw storageError('STORAGE_CLOSED', 'sqlite storage is closed');
  }
}

/** Brings the schema to {@link SQLITE_SCHEMA_VERSION}, in one transaction. */
function migrate(db: Database.Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > SQLITE_SCHEMA_VERSION) {
    throw storageError(
      'STORAGE_SCHEMA',
      `log database schema version ${version} is newer than this vpause understands (${SQLITE_SCHEMA_VERSION})`,
    );
  }
  if (version === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version < 1) db.exec(SQLITE_SCHEMA_V1);
    if (version < 2) db.exec(SQLITE_SCHEMA_V2);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}
