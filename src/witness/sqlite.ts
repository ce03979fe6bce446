/**
 * The witness's SQLite store (better-sqlite3): `<data>/witness.db`, one row per log origin.
 *
 * Durability: WAL with `synchronous = FULL`, so a committed compare-and-swap is on disk (the WAL
 * fsynced) before `update` returns, and so before the witness answers with a cosignature.
 * Atomicity: `update` runs as one `BEGIN IMMEDIATE` transaction (read, decide, write); better-
 * sqlite3 is synchronous, so nothing else in this process runs in between, and the database's
 * write lock keeps other connections out. Exclusivity: like the log's store, the connection takes
 * the database's exclusive lock when it opens, so a second witness process on the same data
 * directory fails at start-up (WITNESS_STORAGE_LOCKED) instead of running beside the first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VPauseError } from '../core/errors.js';
import type {
  CasDecision,
  RefusalRecord,
  WitnessRecord,
  WitnessStore,
  WitnessStoreErrorCode,
} from './store.js';

/** Schema version this code writes and understands (`PRAGMA user_version`). */
export const WITNESS_SQLITE_SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE checkpoints (
  origin     TEXT PRIMARY KEY,
  size       INTEGER NOT NULL,
  root_hash  BLOB NOT NULL,
  note       TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE refusals (
  id          INTEGER PRIMARY KEY,
  origin      TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  status      INTEGER NOT NULL,
  code        TEXT NOT NULL,
  reason      TEXT NOT NULL,
  request     TEXT NOT NULL
);
`;

/** Refusals kept at most (the oldest are dropped first). */
const MAX_REFUSALS = 10_000;

interface Row {
  origin: string;
  size: number;
  root_hash: Buffer;
  note: string;
  updated_at: number;
}

function fail(code: WitnessStoreErrorCode, message: string, cause?: unknown): never {
  throw new VPauseError<WitnessStoreErrorCode>(code, message, cause === undefined ? {} : { cause });
}

function toRecord(r: Row): WitnessRecord {
  return {
    origin: r.origin,
    size: r.size,
    rootHash: new Uint8Array(r.root_hash),
    note: r.note,
    updatedAt: r.updated_at,
  };
}

export interface SqliteWitnessStoreOptions {
  /** Data directory (created, mode 0700, when missing). */
  dir: string;
  /** How long to wait for another holder of the database before refusing. Default 1000 ms. */
  lockTimeoutMs?: number;
}

export class SqliteWitnessStore implements WitnessStore {
  readonly driver = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly get: Database.Statement;
  private readonly list: Database.Statement;
  private readonly put: Database.Statement;
  private readonly refuse: Database.Statement;
  private readonly trim: Database.Statement;
  private readonly listRefusals: Database.Statement;
  private closed = false;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    this.get = db.prepare(
      'SELECT origin, size, root_hash, note, updated_at FROM checkpoints WHERE origin = ?',
    );
    this.list = db.prepare(
      'SELECT origin, size, root_hash, note, updated_at FROM checkpoints ORDER BY origin',
    );
    this.put = db.prepare(
      'INSERT INTO checkpoints (origin, size, root_hash, note, updated_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root_hash = excluded.root_hash, ' +
        'note = excluded.note, updated_at = excluded.updated_at',
    );
    this.refuse = db.prepare(
      'INSERT INTO refusals (origin, received_at, status, code, reason, request) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.trim = db.prepare('DELETE FROM refusals WHERE id <= (SELECT MAX(id) FROM refusals) - ?');
    this.listRefusals = db.prepare(
      'SELECT origin, received_at, status, code, reason, request FROM refusals ORDER BY id',
    );
  }

  /**
   * Opens (creating when missing) `<dir>/witness.db`.
   * @throws {VPauseError<WitnessStoreErrorCode>} WITNESS_STORAGE_LOCKED when another process
   *   holds it; WITNESS_STORAGE when it cannot be opened or was written by a newer vpause
   */
  static open(opts: SqliteWitnessStoreOptions): SqliteWitnessStore {
    const path = join(opts.dir, 'witness.db');
    let db: Database.Database | undefined;
    try {
      mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
      db = new Database(path, { timeout: opts.lockTimeoutMs ?? 1000 });
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not enable WAL (journal_mode is ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      const version = Number(db.pragma('user_version', { simple: true }));
      if (version > WITNESS_SQLITE_SCHEMA_VERSION) {
        throw new Error(`schema version ${version} is newer than this vpause understands`);
      }
      if (version < 1) {
        const d = db;
        d.transaction(() => {
          d.exec(SCHEMA_V1);
          d.pragma(`user_version = ${WITNESS_SQLITE_SCHEMA_VERSION}`);
        }).immediate();
      }
      return new SqliteWitnessStore(db, path);
    } catch (e) {
      db?.close();
      const code = (e as { code?: unknown } | null)?.code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        fail(
          'WITNESS_STORAGE_LOCKED',
          `data directory ${opts.dir} is in use by another process`,
          e,
        );
      }
      fail('WITNESS_STORAGE', `cannot open ${path}: ${(e as Error).message}`, e);
    }
  }

  /** The connection's durability settings, as SQLite reports them. */
  settings(): { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  private guard<T>(op: string, fn: () => T): T {
    if (this.closed) fail('WITNESS_STORAGE', 'witness store is closed');
    try {
      return fn();
    } catch (e) {
      if (e instanceof VPauseError || e instanceof TypeError || e instanceof RangeError) throw e;
      fail('WITNESS_STORAGE', `sqlite witness store: ${op} failed: ${(e as Error).message}`, e);
    }
  }

  latest(origin: string): WitnessRecord | undefined {
    return this.guard('latest', () => {
      const r = this.get.get(origin) as Row | undefined;
      return r === undefined ? undefined : toRecord(r);
    });
  }

  all(): WitnessRecord[] {
    return this.guard('all', () => (this.list.all() as Row[]).map(toRecord));
  }

  update<R>(origin: string, decide: (current: WitnessRecord | undefined) => CasDecision<R>): R {
    return this.guard('update', () =>
      this.db
        .transaction(() => {
          const r = this.get.get(origin) as Row | undefined;
          const d = decide(r === undefined ? undefined : toRecord(r));
          if (d.write !== undefined) {
            const w = d.write;
            if (w.origin !== origin) throw new TypeError('update: record of another origin');
            this.put.run(origin, w.size, Buffer.from(w.rootHash), w.note, w.updatedAt);
          }
          return d.result;
        })
        .immediate(),
    );
  }

  recordRefusal(r: RefusalRecord): void {
    this.guard('recordRefusal', () => {
      this.refuse.run(r.origin, r.receivedAt, r.status, r.code, r.reason, r.request);
      this.trim.run(MAX_REFUSALS);
    });
  }

  refusals(): RefusalRecord[] {
    return this.guard('refusals', () =>
      (
        this.listRefusals.all() as {
          origin: string;
          received_at: number;
          status: number;
          code: string;
          reason: string;
          request: string;
        }[]
      ).map((r) => ({
        origin: r.origin,
        receivedAt: r.received_at,
        status: r.status,
        code: r.code,
        reason: r.reason,
        request: r.request,
      })),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
