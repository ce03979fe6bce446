/**
 * Opening the log's storage, and what every driver shares: the error codes it throws and the
 * checks it applies to its arguments (the contract is in ./types.ts, the guarantees and the
 * schemas in docs/storage.md).
 *
 * Drivers are loaded lazily by {@link openStorage}, so a deployment on SQLite never loads `pg`,
 * and one on PostgreSQL never loads the native SQLite module. The driver modules import their
 * shared helpers from here; this module imports them back only dynamically, so there is no
 * static import cycle.
 */
import { toHex } from '../../core/bytes.js';
import { VPauseError } from '../../core/errors.js';
import { encodeEntryBundle } from '../../merkle/tiles.js';
import type {
  KeyEvent,
  LogStorage,
  NodeKeyRecord,
  SequenceItem,
  SequenceResult,
  StoredTile,
  TileId,
  TreeState,
} from './types.js';

export type * from './types.js';

/**
 * Codes a storage driver throws (beside TypeError / RangeError for arguments that break the
 * contract, which are bugs in the caller):
 *
 * - `UNAVAILABLE`: the backing database failed or could not be reached (the `cause` says why).
 *   The outcome of a write that fails this way is unknown: it may have been persisted. Retrying
 *   is safe, because sequencing deduplicates by leaf hash and integration is compare-and-swap.
 *   Maps to HTTP 503 + Retry-After.
 * - `STORAGE_CLOSED`: the storage was closed.
 * - `STORAGE_LOCKED`: the SQLite data directory is held by another live process (or another open
 *   handle in this one).
 * - `STORAGE_SCHEMA`: the database was written by a newer vpause (its schema version is unknown).
 * - `STORAGE_CORRUPT`: a stored value breaks an invariant (e.g. an index beyond 2^53 - 1).
 */
export type StorageErrorCode =
  | 'UNAVAILABLE'
  | 'STORAGE_CLOSED'
  | 'STORAGE_LOCKED'
  | 'STORAGE_SCHEMA'
  | 'STORAGE_CORRUPT';

export type StorageError = VPauseError<StorageErrorCode>;

/** Creates a storage error. */
export function storageError(
  code: StorageErrorCode,
  message: string,
  cause?: unknown,
): VPauseError<StorageErrorCode> {
  return new VPauseError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Rethrows `e` unchanged when it is already a VPauseError, TypeError or RangeError (a contract
 * or state error raised by the driver itself); wraps anything else (an error of the database
 * client: I/O, connection, constraint) as `UNAVAILABLE` with `e` as the cause.
 */
export function wrapDriverError(driver: string, op: string, e: unknown): Error {
  if (e instanceof VPauseError || e instanceof TypeError || e instanceof RangeError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return storageError('UNAVAILABLE', `${driver} storage: ${op} failed: ${detail}`, e);
}

/** Largest log entry, in bytes (entry bundles length-prefix entries with a uint16). */
export const MAX_ENTRY_BYTES = 65_535;
/** Hashes per full tile (tile height 8). */
export const TILE_WIDTH = 256;
export const HASH_BYTES = 32;

/**
 * @throws {RangeError} when `n` is not a non-negative safe integer
 */
export function checkIndex(label: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${label}: expected a non-negative safe integer, got ${String(n)}`);
  }
}

/**
 * @throws {TypeError} when `b` is not a Uint8Array
 * @throws {RangeError} when it is not 32 bytes long
 */
export function checkHash(label: string, b: Uint8Array): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${label}: expected a Uint8Array`);
  if (b.length !== HASH_BYTES) {
    throw new RangeError(`${label}: expected ${HASH_BYTES} bytes, got ${b.length}`);
  }
}

function checkKeyEvent(label: string, ev: KeyEvent): void {
  if (ev.action !== 'add' && ev.action !== 'revoke') {
    throw new TypeError(`${label}.action: expected add or revoke`);
  }
  for (const f of ['keyId', 'vkey', 'lab', 'facility', 'cluster', 'node', 'time'] as const) {
    if (typeof ev[f] !== 'string') throw new TypeError(`${label}.${f}: expected a string`);
  }
  if (ev.keyId.length === 0) throw new TypeError(`${label}.keyId: empty`);
}

/**
 * Checks a batch against the contract before anything is written.
 * @throws {TypeError} on a field of the wrong type
 * @throws {RangeError} on a leaf hash that is not 32 bytes, an entry over 65,535 bytes, or a
 *   claim `seq` that is not a non-negative safe integer
 */
export function checkSequenceItems(items: readonly SequenceItem[]): void {
  if (!Array.isArray(items)) throw new TypeError('sequence: expected an array of items');
  items.forEach((it, i) => {
    const label = `sequence: items[${i}]`;
    checkHash(`${label}.leafHash`, it.leafHash);
    if (!(it.data instanceof Uint8Array)) throw new TypeError(`${label}.data: expected bytes`);
    if (it.data.length > MAX_ENTRY_BYTES) {
      throw new RangeError(`${label}.data: ${it.data.length} bytes, over ${MAX_ENTRY_BYTES}`);
    }
    if (it.claim !== undefined) {
      if (typeof it.claim.chain !== 'string' || it.claim.chain.length === 0) {
        throw new TypeError(`${label}.claim.chain: expected a non-empty string`);
      }
      checkIndex(`${label}.claim.seq`, it.claim.seq);
    }
    if (it.keyEvent !== undefined) checkKeyEvent(`${label}.keyEvent`, it.keyEvent);
  });
}

/**
 * Checks a read range.
 * @throws {RangeError} when start or count is not a non-negative safe integer
 */
export function checkRange(op: string, start: number, count: number): void {
  checkIndex(`${op}: start`, start);
  checkIndex(`${op}: count`, count);
}

/**
 * The range of an entry bundle: `checkRange`, and 1 ≤ count ≤ 256.
 * @throws {RangeError} otherwise
 */
export function checkBundleRange(op: string, start: number, count: number): void {
  checkRange(op, start, count);
  if (count < 1 || count > TILE_WIDTH) {
    throw new RangeError(`${op}: count must be in 1..${TILE_WIDTH}, got ${count}`);
  }
}

/** An entry bundle from entries read one by one (the drivers without a one-piece read). */
export function entryBundleOf(entries: Uint8Array[], count: number): Uint8Array | undefined {
  return entries.length === count ? encodeEntryBundle(entries) : undefined;
}

/** End of the range [start, start + count), clamped to a safe integer. */
export function rangeEnd(start: number, count: number): number {
  return Math.min(start + count, Number.MAX_SAFE_INTEGER);
}

/**
 * @throws {RangeError} when level or index is not a non-negative safe integer
 */
export function checkTileId(label: string, t: TileId): void {
  checkIndex(`${label}.level`, t.level);
  checkIndex(`${label}.index`, t.index);
}

/**
 * Checks a commitIntegration call, except the bound by the sequenced size (the drivers check
 * that against their own state, see {@link checkIntegratedSize}).
 * @throws {TypeError} on a field of the wrong type
 * @throws {RangeError} when sizes are not safe integers, the new size is below `oldSize`, the root
 *   is not 32 bytes, or a tile is not 1..256 whole hashes
 */
export function checkCommit(
  oldSize: number,
  next: TreeState & { checkpoint: Uint8Array },
  tiles: readonly StoredTile[],
): void {
  checkIndex('commitIntegration: oldSize', oldSize);
  checkIndex('commitIntegration: next.size', next.size);
  if (next.size < oldSize) {
    throw new RangeError(
      `commitIntegration: next.size ${next.size} is below oldSize ${oldSize}; the tree only grows`,
    );
  }
  checkHash('commitIntegration: next.rootHash', next.rootHash);
  if (!(next.checkpoint instanceof Uint8Array)) {
    throw new TypeError('commitIntegration: next.checkpoint: expected bytes');
  }
  if (!Array.isArray(tiles)) throw new TypeError('commitIntegration: tiles: expected an array');
  tiles.forEach((t, i) => {
    const label = `commitIntegration: tiles[${i}]`;
    checkTileId(label, t);
    if (!(t.data instanceof Uint8Array)) throw new TypeError(`${label}.data: expected bytes`);
    const n = t.data.length / HASH_BYTES;
    if (!Number.isInteger(n) || n < 1 || n > TILE_WIDTH) {
      throw new RangeError(`${label}.data: ${t.data.length} bytes is not 1..256 hashes`);
    }
  });
}

/**
 * The integrated tree cannot hold entries that were never sequenced.
 * @throws {RangeError} when `size` exceeds `sequenced`
 */
export function checkIntegratedSize(size: number, sequenced: number): void {
  if (size > sequenced) {
    throw new RangeError(
      `commitIntegration: next.size ${size} exceeds the sequenced size ${sequenced}`,
    );
  }
}

/**
 * @throws {TypeError} when owner is not a non-empty string
 * @throws {RangeError} when ttlMs is not a positive safe integer
 */
export function checkLease(owner: string, ttlMs?: number): void {
  if (typeof owner !== 'string' || owner.length === 0) {
    throw new TypeError('lease: owner: expected a non-empty string');
  }
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)) {
    throw new RangeError(`lease: ttlMs: expected a positive safe integer, got ${String(ttlMs)}`);
  }
}

/** Key of a claim in maps: chain and seq cannot collide because seq is an integer. */
export function claimKey(chain: string, seq: number): string {
  return `${seq}\u0000${chain}`;
}

/** A plain Uint8Array copy (drivers hand back no Buffers and no views of pooled memory). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

/** Plain copies of `parts`, as views of one new buffer (one allocation instead of one each). */
export function plainCopies(parts: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const p of parts) total += p.length;
  const buf = new Uint8Array(total);
  const out: Uint8Array[] = [];
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    out.push(buf.subarray(o, o + p.length));
    o += p.length;
  }
  return out;
}

/**
 * Converts a stored integer (a JS number, a bigint, or the decimal string `pg` returns for
 * BIGINT) to a number.
 * @throws {VPauseError<'STORAGE_CORRUPT'>} when it is not a non-negative safe integer
 */
/** A node_keys row as the SQL drivers read it (BIGINT columns arrive as strings from pg). */
export interface NodeKeyRow {
  key_id: string;
  vkey: string;
  lab: string;
  facility: string;
  cluster: string;
  node: string;
  added_at: number | string;
  revoked_at: number | string | null;
  revoked_time: string | null;
}

/** The NodeKeyRecord of a node_keys row. @throws STORAGE_CORRUPT on an index out of range */
export function nodeKeyFromRow(r: NodeKeyRow): NodeKeyRecord {
  const rec: NodeKeyRecord = {
    keyId: r.key_id,
    vkey: r.vkey,
    lab: r.lab,
    facility: r.facility,
    cluster: r.cluster,
    node: r.node,
    addedAt: toSafeIndex('node_keys.added_at', r.added_at),
  };
  if (r.revoked_at !== null) {
    rec.revokedAt = toSafeIndex('node_keys.revoked_at', r.revoked_at);
    rec.revokedTime = r.revoked_time ?? '';
  }
  return rec;
}

export function toSafeIndex(label: string, v: unknown): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) n = Number(v);
  else n = Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw storageError(
      'STORAGE_CORRUPT',
      `${label}: stored value ${String(v)} is not a safe index`,
    );
  }
  return n;
}

/** Where a batch's items go, as decided by {@link planSequence}. */
export interface SequencePlan {
  /** One result per item, in order. */
  results: SequenceResult[];
  /** The new items with the index each is assigned, in index order (consecutive from `next`). */
  fresh: { index: number; item: SequenceItem }[];
}

/** What is already stored, as {@link planSequence} asks for it. */
export interface StoredLookup {
  /** Index of the stored entry with this leaf hash (`hex` is its lowercase hex). */
  leaf(leafHash: Uint8Array, hex: string): number | undefined;
  /** Index of the stored entry holding claim (chain, seq). */
  claim(chain: string, seq: number): number | undefined;
}

/**
 * The sequencing rule of the contract, shared by every driver so that they cannot drift apart
 * (the conformance suite also holds each driver to an independent model). In order, for each
 * item: a leaf hash already new in this batch, or already stored, is a duplicate of that index;
 * else a claim already taken (in this batch or stored) is a conflict at the holder's index;
 * else the item is new and takes the next index. A conflicting item reserves nothing, so a later
 * copy of it in the same batch conflicts the same way.
 */
export function planSequence(
  items: readonly SequenceItem[],
  next: number,
  stored: StoredLookup,
): SequencePlan {
  const results: SequenceResult[] = [];
  const fresh: { index: number; item: SequenceItem }[] = [];
  const batchLeaves = new Map<string, number>();
  const batchClaims = new Map<string, number>();
  let index = next;
  for (const item of items) {
    const hex = toHex(item.leafHash);
    const dup = batchLeaves.get(hex) ?? stored.leaf(item.leafHash, hex);
    if (dup !== undefined) {
      results.push({ status: 'duplicate', index: dup });
      continue;
    }
    if (item.claim !== undefined) {
      const k = claimKey(item.claim.chain, item.claim.seq);
      const holder = batchClaims.get(k) ?? stored.claim(item.claim.chain, item.claim.seq);
      if (holder !== undefined) {
        results.push({ status: 'conflict', index: holder });
        continue;
      }
      batchClaims.set(k, index);
    }
    batchLeaves.set(hex, index);
    fresh.push({ index, item });
    results.push({ status: 'new', index });
    index++;
  }
  if (!Number.isSafeInteger(index)) throw storageError('STORAGE_CORRUPT', 'log index overflow');
  return { results, fresh };
}

export interface OpenStorageOptions {
  /**
   * The data directory: the SQLite driver keeps the log in `<data>/log.db`. Ignored when `db`
   * is given (the directory may still hold other files, such as keys).
   */
  data?: string;
  /** A PostgreSQL connection string (`postgres://` or `postgresql://`): selects PostgreSQL. */
  db?: string;
  /** PostgreSQL schema for the log's tables (default `vpause`). */
  schema?: string;
  /** Opens the in-memory driver (tests, demos): nothing survives the process. */
  memory?: boolean;
  /** Clock for lease expiry, in ms since the epoch (memory and SQLite; PostgreSQL uses `now()`). */
  now?: () => number;
  /** Most PostgreSQL connections the pool opens (default 10). */
  poolMax?: number;
  /** SQLite page cache in MiB (default 8). */
  sqliteCacheMiB?: number;
  /**
   * SQLite on a thread of its own (./sqlite-thread.ts), so that commits' fsyncs do not stall the
   * event loop. Not with an injected clock `now`, which cannot cross threads.
   */
  sqliteThread?: boolean;
}

/**
 * Opens the log's storage: PostgreSQL when `db` is given, else SQLite in the data directory
 * `data`, else the in-memory driver when `memory` is true.
 * @throws {TypeError} when no driver is selected or `db` is not a PostgreSQL URL
 * @throws {VPauseError<'STORAGE_LOCKED'>} when another process holds the SQLite data directory
 * @throws {VPauseError<'STORAGE_SCHEMA'>} when the database was written by a newer vpause
 * @throws {VPauseError<'UNAVAILABLE'>} when the database cannot be opened or reached
 */
export async function openStorage(opts: OpenStorageOptions): Promise<LogStorage> {
  if (opts.db !== undefined) {
    if (!/^postgres(?:ql)?:\/\//.test(opts.db)) {
      throw new TypeError('openStorage: db: expected a postgres:// or postgresql:// URL');
    }
    const { PostgresStorage } = await import('./postgres.js');
    return PostgresStorage.open({
      connectionString: opts.db,
      ...(opts.schema === undefined ? {} : { schema: opts.schema }),
      ...(opts.poolMax === undefined ? {} : { poolMax: opts.poolMax }),
    });
  }
  if (opts.data !== undefined && opts.sqliteThread === true && opts.now === undefined) {
    const { ThreadedSqliteStorage } = await import('./sqlite-thread.js');
    return ThreadedSqliteStorage.open({
      dir: opts.data,
      ...(opts.sqliteCacheMiB !== undefined ? { cacheMiB: opts.sqliteCacheMiB } : {}),
    });
  }
  if (opts.data !== undefined) {
    const { SqliteStorage } = await import('./sqlite.js');
    return SqliteStorage.open({
      dir: opts.data,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.sqliteCacheMiB !== undefined ? { cacheMiB: opts.sqliteCacheMiB } : {}),
    });
  }
  if (opts.memory === true) {
    const { MemoryStorage } = await import('./memory.js');
    return new MemoryStorage(opts.now ? { now: opts.now } : {});
  }
  throw new TypeError('openStorage: give data (SQLite), db (PostgreSQL) or memory: true');
}
