/**
 * The durable outbox of a signing daemon (attestation node or facility meter): one SQLite
 * database holding the chain of statements the daemon signed, in `seq` order, with what the log
 * said about each (index, verified receipt), and for usage reports the private detail an audit
 * discloses (the report body and the committed samples).
 *
 * Guarantees:
 * - **Stored before submitted.** `append` commits the signed statement (and its body and samples)
 *   with WAL and `synchronous = FULL`, so it is on disk before the submitter ever sees it. A
 *   statement the log may hold is therefore always in the outbox, and is resubmitted byte for
 *   byte after a crash (the log answers a duplicate with the original index).
 * - **The chain is the outbox.** `seq` and `prev` of the next statement come from the last stored
 *   row, never from memory; `append` refuses anything that does not extend the stored chain in
 *   one `BEGIN IMMEDIATE` transaction. So after SIGKILL the daemon resumes with no gap and no
 *   duplicate in `seq`.
 * - **One writer.** The connection takes the database's exclusive lock, so a second daemon on the
 *   same outbox fails at start-up (OUTBOX_LOCKED) instead of forking the chain.
 * - **One chain per outbox.** The chain key (`usage/<lab>/<facility>/<cluster>/<node>` or
 *   `meter/<facility>/<meter>`) is recorded on first use; opening it for another chain fails
 *   (OUTBOX_IDENTITY).
 * - Audit nonces are recorded here too, so a challenge is never answered twice, across restarts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { payloadHash, ZERO_HASH } from '../../protocol/src/index.js';
import { VPauseError } from '../../src/core/errors.js';
import { DaemonError, type DaemonErrorCode } from './errors.js';

/** Schema version this code writes and understands (`PRAGMA user_version`). */
export const OUTBOX_SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE statements (
  seq           INTEGER PRIMARY KEY,
  payload_type  TEXT NOT NULL,
  payload       BLOB NOT NULL,
  payload_hash  TEXT NOT NULL,
  prev          TEXT NOT NULL,
  entry         BLOB NOT NULL,
  leaf_hash     BLOB NOT NULL,
  start_ms      INTEGER NOT NULL,
  end_ms        INTEGER NOT NULL,
  created_ms    INTEGER NOT NULL,
  body          BLOB,
  samples       BLOB,
  log_index     INTEGER,
  sequenced_ms  INTEGER,
  receipt       TEXT,
  receipt_ms    INTEGER
);
CREATE UNIQUE INDEX statements_log_index ON statements (log_index) WHERE log_index IS NOT NULL;
CREATE INDEX statements_unreceipted ON statements (seq) WHERE receipt IS NULL;
CREATE TABLE audit_nonces (
  nonce         TEXT PRIMARY KEY,
  verifier      TEXT NOT NULL,
  seen_ms       INTEGER NOT NULL,
  keep_until_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** A stored statement, without its private detail. */
export interface OutboxRow {
  seq: number;
  payloadType: string;
  /** The JCS payload bytes the signature covers. */
  payload: Uint8Array;
  /** Hex SHA-256 of `payload`: the `prev` of the next statement. */
  payloadHash: string;
  prev: string;
  /** The log entry as submitted: the JCS encoding of the DSSE envelope. */
  entry: Uint8Array;
  /** RFC 9162 leaf hash of `entry`. */
  leafHash: Uint8Array;
  startMs: number;
  endMs: number;
  createdMs: number;
  /** Index the log acknowledged, once it did. */
  logIndex: number | null;
  /** The verified C2SP tlog-proof, once fetched and verified. */
  receipt: string | null;
  /** Whether the private detail (body, samples) is still held. */
  hasPrivate: boolean;
}

/** What `append` stores. */
export interface NewOutboxStatement {
  seq: number;
  prev: string;
  payloadType: string;
  payload: Uint8Array;
  entry: Uint8Array;
  leafHash: Uint8Array;
  startMs: number;
  endMs: number;
  createdMs: number;
  /** Private report body (usage reports). */
  body?: Uint8Array;
  /** Committed sample leaves, in leaf order (usage reports). */
  leaves?: readonly Uint8Array[];
}

/** The chain position the next statement must take. */
export interface OutboxTip {
  nextSeq: number;
  prev: string;
  /** End of the last stored statement's interval, ms, or undefined for an empty outbox. */
  lastEndMs: number | undefined;
  /** Payload bytes of the last stored statement. */
  lastPayload: Uint8Array | undefined;
}

/** Counts for health and metrics. */
export interface OutboxCounts {
  total: number;
  unsequenced: number;
  unreceipted: number;
}

export interface OutboxOptions {
  /** Path of the database file (its directory is created, mode 0700, when missing). */
  path: string;
  /** The chain this outbox holds; required to write. */
  chain?: string;
  /** Open for reading only (inspection, tests): no lock, no schema creation. */
  readOnly?: boolean;
  /** How long to wait for another holder of the database. Default 1000 ms. */
  lockTimeoutMs?: number;
}

interface Row {
  seq: number;
  payload_type: string;
  payload: Buffer;
  payload_hash: string;
  prev: string;
  entry: Buffer;
  leaf_hash: Buffer;
  start_ms: number;
  end_ms: number;
  created_ms: number;
  log_index: number | null;
  receipt: string | null;
  has_private: number;
}

const COLS =
  'seq, payload_type, payload, payload_hash, prev, entry, leaf_hash, start_ms, end_ms, created_ms, ' +
  'log_index, receipt, (body IS NOT NULL) AS has_private';

const u8 = (b: Buffer): Uint8Array =>
  new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function toRow(r: Row): OutboxRow {
  return {
    seq: r.seq,
    payloadType: r.payload_type,
    payload: u8(r.payload),
    payloadHash: r.payload_hash,
    prev: r.prev,
    entry: u8(r.entry),
    leafHash: u8(r.leaf_hash),
    startMs: r.start_ms,
    endMs: r.end_ms,
    createdMs: r.created_ms,
    logIndex: r.log_index,
    receipt: r.receipt,
    hasPrivate: r.has_private === 1,
  };
}

function fail(code: DaemonErrorCode, message: string, cause?: unknown): never {
  throw new DaemonError(code, message, cause === undefined ? {} : { cause });
}

/** Encodes sample leaves as one compressed blob: (u32 BE length, bytes)*, raw DEFLATE. */
export function packLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const l of leaves) n += 4 + l.length;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (const l of leaves) {
    out.writeUInt32BE(l.length, o);
    out.set(l, o + 4);
    o += 4 + l.length;
  }
  return deflateRawSync(out, { level: 6 });
}

/**
 * Decodes {@link packLeaves}.
 * @throws {DaemonError} OUTBOX_STORAGE for a blob that does not decode
 */
export function unpackLeaves(blob: Uint8Array): Uint8Array[] {
  let raw: Buffer;
  try {
    raw = inflateRawSync(blob);
  } catch (e) {
    fail('OUTBOX_STORAGE', 'stored samples do not decompress', e);
  }
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < raw.length) {
    if (o + 4 > raw.length) fail('OUTBOX_STORAGE', 'stored samples are truncated');
    const len = raw.readUInt32BE(o);
    if (o + 4 + len > raw.length) fail('OUTBOX_STORAGE', 'stored samples are truncated');
    out.push(new Uint8Array(raw.subarray(o + 4, o + 4 + len)));
    o += 4 + len;
  }
  return out;
}

/**
 * The SQLite outbox. Synchronous (better-sqlite3): each call is one transaction. Every method
 * throws DaemonError OUTBOX_STORAGE when the database fails or the outbox is closed.
 */
export class Outbox {
  readonly path: string;
  readonly chain: string | undefined;
  private readonly db: Database.Database;
  private closed = false;
  private readonly st: Record<string, Database.Statement>;

  private constructor(db: Database.Database, path: string, chain: string | undefined) {
    this.db = db;
    this.path = path;
    this.chain = chain;
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      last: p(`SELECT ${COLS} FROM statements ORDER BY seq DESC LIMIT 1`),
      get: p(`SELECT ${COLS} FROM statements WHERE seq = ?`),
      byIndex: p(`SELECT ${COLS} FROM statements WHERE log_index = ?`),
      all: p(`SELECT ${COLS} FROM statements WHERE seq >= ? ORDER BY seq LIMIT ?`),
      nextUnsequenced: p(
        `SELECT ${COLS} FROM statements WHERE log_index IS NULL ORDER BY seq LIMIT 1`,
      ),
      unreceipted: p(
        `SELECT ${COLS} FROM statements WHERE receipt IS NULL AND log_index IS NOT NULL ORDER BY seq LIMIT ?`,
      ),
      counts: p(
        'SELECT COUNT(*) AS total, COALESCE(SUM(log_index IS NULL), 0) AS unsequenced, ' +
          'COALESCE(SUM(receipt IS NULL), 0) AS unreceipted FROM statements',
      ),
      insert: p(
        'INSERT INTO statements (seq, payload_type, payload, payload_hash, prev, entry, leaf_hash, ' +
          'start_ms, end_ms, created_ms, body, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      sequenced: p(
        'UPDATE statements SET log_index = ?, sequenced_ms = ? WHERE seq = ? AND log_index IS NULL',
      ),
      receipt: p('UPDATE statements SET receipt = ?, receipt_ms = ? WHERE seq = ?'),
      private: p('SELECT body, samples FROM statements WHERE seq = ?'),
      purgePrivate: p(
        'UPDATE statements SET body = NULL, samples = NULL WHERE end_ms < ? AND receipt IS NOT NULL AND body IS NOT NULL',
      ),
      nonce: p(
        'INSERT OR IGNORE INTO audit_nonces (nonce, verifier, seen_ms, keep_until_ms) VALUES (?, ?, ?, ?)',
      ),
      purgeNonces: p('DELETE FROM audit_nonces WHERE keep_until_ms < ?'),
    };
  }

  /**
   * Opens (creating when missing) the outbox at `opts.path`.
   * @throws {DaemonError} OUTBOX_LOCKED when another process holds it; OUTBOX_IDENTITY when it
   *   holds another chain; OUTBOX_STORAGE when it cannot be opened or is from a newer vpause
   */
  static open(opts: OutboxOptions): Outbox {
    let db: Database.Database | undefined;
    try {
      if (opts.readOnly) {
        db = new Database(opts.path, { readonly: true, fileMustExist: true });
        return new Outbox(db, opts.path, opts.chain);
      }
      mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
      db = new Database(opts.path, { timeout: opts.lockTimeoutMs ?? 1000 });
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not enable WAL (journal_mode is ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      const version = Number(db.pragma('user_version', { simple: true }));
      if (version > OUTBOX_SCHEMA_VERSION) {
        throw new Error(`schema version ${version} is newer than this vpause understands`);
      }
      const d = db;
      if (version < 1) {
        d.transaction(() => {
          d.exec(SCHEMA_V1);
          d.pragma(`user_version = ${OUTBOX_SCHEMA_VERSION}`);
        }).immediate();
      }
      if (opts.chain !== undefined) {
        const chain = opts.chain;
        d.transaction(() => {
          const row = d.prepare("SELECT value FROM meta WHERE key = 'chain'").get() as
            | { value: string }
            | undefined;
          if (row === undefined) {
            d.prepare("INSERT INTO meta (key, value) VALUES ('chain', ?)").run(chain);
          } else if (row.value !== chain) {
            fail('OUTBOX_IDENTITY', `outbox ${opts.path} holds chain ${row.value}, not ${chain}`);
          }
        }).immediate();
      }
      return new Outbox(d, opts.path, opts.chain);
    } catch (e) {
      db?.close();
      if (e instanceof DaemonError) throw e;
      const code = (e as { code?: unknown } | null)?.code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        fail('OUTBOX_LOCKED', `outbox ${opts.path} is in use by another process`, e);
      }
      fail('OUTBOX_STORAGE', `cannot open outbox ${opts.path}: ${(e as Error).message}`, e);
    }
  }

  private guard<T>(op: string, fn: () => T): T {
    if (this.closed) fail('OUTBOX_STORAGE', 'outbox is closed');
    try {
      return fn();
    } catch (e) {
      if (e instanceof VPauseError || e instanceof TypeError || e instanceof RangeError) throw e;
      fail('OUTBOX_STORAGE', `outbox: ${op} failed: ${(e as Error).message}`, e);
    }
  }

  /** The chain recorded in the database (or undefined for a fresh one). */
  storedChain(): string | undefined {
    return this.guard('storedChain', () => {
      const r = this.db.prepare("SELECT value FROM meta WHERE key = 'chain'").get() as
        | { value: string }
        | undefined;
      return r?.value;
    });
  }

  /** The connection's durability settings, as SQLite reports them. */
  settings(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  /** Where the next statement goes: `seq`, `prev`, and the end of the last interval. */
  tip(): OutboxTip {
    return this.guard('tip', () => {
      const r = this.st.last!.get() as Row | undefined;
      if (r === undefined) {
        return { nextSeq: 0, prev: ZERO_HASH, lastEndMs: undefined, lastPayload: undefined };
      }
      return {
        nextSeq: r.seq + 1,
        prev: r.payload_hash,
        lastEndMs: r.end_ms,
        lastPayload: u8(r.payload),
      };
    });
  }

  /**
   * Stores a signed statement, durably, as the next link of the chain.
   * @throws {DaemonError} OUTBOX_CHAIN when `seq`/`prev` do not extend the stored chain;
   *   OUTBOX_STORAGE when the write fails
   */
  append(s: NewOutboxStatement): OutboxRow {
    if (this.chain === undefined) fail('OUTBOX_STORAGE', 'outbox opened without a chain');
    return this.guard('append', () =>
      this.db
        .transaction(() => {
          const tip = this.tip();
          if (s.seq !== tip.nextSeq || s.prev !== tip.prev) {
            fail(
              'OUTBOX_CHAIN',
              `statement seq ${s.seq} does not extend the outbox (next seq ${tip.nextSeq})`,
            );
          }
          const hash = payloadHash(s.payload);
          this.st.insert!.run(
            s.seq,
            s.payloadType,
            buf(s.payload),
            hash,
            s.prev,
            buf(s.entry),
            buf(s.leafHash),
            s.startMs,
            s.endMs,
            s.createdMs,
            s.body === undefined ? null : buf(s.body),
            s.leaves === undefined ? null : buf(packLeaves(s.leaves)),
          );
          return toRow(this.st.get!.get(s.seq) as Row);
        })
        .immediate(),
    );
  }

  /** The statement with this `seq`. */
  get(seq: number): OutboxRow | undefined {
    return this.guard('get', () => {
      const r = this.st.get!.get(seq) as Row | undefined;
      return r === undefined ? undefined : toRow(r);
    });
  }

  /** The statement the log acknowledged at `index`. */
  getByLogIndex(index: number): OutboxRow | undefined {
    return this.guard('getByLogIndex', () => {
      const r = this.st.byIndex!.get(index) as Row | undefined;
      return r === undefined ? undefined : toRow(r);
    });
  }

  /** Statements from `fromSeq` on, in `seq` order (at most `limit`). */
  list(fromSeq = 0, limit = 1_000_000): OutboxRow[] {
    return this.guard('list', () => (this.st.all!.all(fromSeq, limit) as Row[]).map(toRow));
  }

  /** The lowest-`seq` statement the log has not acknowledged yet. */
  nextUnsequenced(): OutboxRow | undefined {
    return this.guard('nextUnsequenced', () => {
      const r = this.st.nextUnsequenced!.get() as Row | undefined;
      return r === undefined ? undefined : toRow(r);
    });
  }

  /** Acknowledged statements still without a verified receipt, lowest `seq` first. */
  unreceipted(limit = 64): OutboxRow[] {
    return this.guard('unreceipted', () => (this.st.unreceipted!.all(limit) as Row[]).map(toRow));
  }

  /** Counts of all, unacknowledged and unreceipted statements. */
  counts(): OutboxCounts {
    return this.guard('counts', () => {
      const r = this.st.counts!.get() as {
        total: number;
        unsequenced: number;
        unreceipted: number;
      };
      return { total: r.total, unsequenced: r.unsequenced, unreceipted: r.unreceipted };
    });
  }

  /** Records the index the log acknowledged for `seq` (first acknowledgement wins). */
  markSequenced(seq: number, index: number, nowMs: number): void {
    this.guard('markSequenced', () => {
      this.st.sequenced!.run(index, nowMs, seq);
    });
  }

  /** Stores the verified receipt of `seq`. */
  storeReceipt(seq: number, receipt: string, nowMs: number): void {
    this.guard('storeReceipt', () => {
      this.st.receipt!.run(receipt, nowMs, seq);
    });
  }

  /**
   * The private detail of `seq`: report body and sample leaves, or undefined when the statement
   * has none (meter readings) or it was purged.
   * @throws {DaemonError} OUTBOX_STORAGE when the stored samples do not decode
   */
  private(seq: number): { body: Uint8Array; leaves: Uint8Array[] } | undefined {
    return this.guard('private', () => {
      const r = this.st.private!.get(seq) as
        | { body: Buffer | null; samples: Buffer | null }
        | undefined;
      if (r === undefined || r.body === null) return undefined;
      return { body: u8(r.body), leaves: r.samples === null ? [] : unpackLeaves(r.samples) };
    });
  }

  /** Drops the private detail of receipted statements whose interval ended before `beforeMs`. */
  purgePrivate(beforeMs: number): number {
    return this.guard('purgePrivate', () => this.st.purgePrivate!.run(beforeMs).changes);
  }

  /**
   * Records an audit nonce; false when it was recorded before (a replay). Durable before it
   * returns, so a challenge is answered at most once even across a crash.
   */
  useNonce(nonce: string, verifier: string, nowMs: number, keepUntilMs: number): boolean {
    return this.guard('useNonce', () => {
      this.st.purgeNonces!.run(nowMs);
      return this.st.nonce!.run(nonce, verifier, nowMs, keepUntilMs).changes === 1;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
