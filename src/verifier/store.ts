/**
 * What the verifier keeps between runs, per log: the size it has verified and the compact range
 * there (so a later run proves the next checkpoint consistent with everything seen before), every
 * checkpoint it observed with its cosignatures (the witness times timeliness rests on), fork
 * evidence, and optionally the entries themselves (so a later run reads only what is new).
 *
 * Two stores: in memory (tests, the service without a cache dir) and SQLite, one file per log
 * key under the cache directory. Each commit is atomic: a crash leaves the previous state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fromBase64, toBase64, toHex, utf8 } from '../core/bytes.js';
import { sha256 } from '../crypto/sha256.js';
import { VerifierError } from './errors.js';

export interface StoredCheckpoint {
  /** the signed note as served */
  note: string;
  size: number;
  /** when the verifier saw it, POSIX seconds (informational: timeliness uses witness times) */
  seenAt: number;
}

export interface StoreState {
  /** the log key (vkey) the state belongs to */
  logKey: string;
  /** verified size and the compact range of [0, size) */
  size: number;
  roots: Uint8Array[];
  checkpoints: StoredCheckpoint[];
  forks: unknown[];
  /** number of entries kept (0 when entries are not kept) */
  entries: number;
}

export interface StoreCommit {
  size: number;
  roots: Uint8Array[];
  /** entries [start, size) to keep (when the store keeps entries) */
  entries?: { start: number; data: readonly Uint8Array[] };
  checkpoints?: readonly StoredCheckpoint[];
  forks?: readonly unknown[];
}

export interface VerifierStore {
  /** whether entries are kept */
  readonly keepsEntries: boolean;
  load(): StoreState | undefined;
  /** entries [start, end) (only when kept) */
  readEntries(start: number, end: number): Uint8Array[];
  commit(c: StoreCommit): void;
  close(): void;
}

/** An in-memory store: state survives only as long as the object. */
export class MemoryStore implements VerifierStore {
  readonly keepsEntries: boolean;
  private state: StoreState | undefined;
  private readonly data: Uint8Array[] = [];

  constructor(
    private readonly logKey: string,
    opts: { keepEntries?: boolean } = {},
  ) {
    this.keepsEntries = opts.keepEntries ?? false;
  }

  load(): StoreState | undefined {
    return this.state === undefined
      ? undefined
      : { ...this.state, checkpoints: [...this.state.checkpoints], forks: [...this.state.forks] };
  }

  readEntries(start: number, end: number): Uint8Array[] {
    return this.data.slice(start, end);
  }

  commit(c: StoreCommit): void {
    const prev = this.state ?? {
      logKey: this.logKey,
      size: 0,
      roots: [],
      checkpoints: [],
      forks: [],
      entries: 0,
    };
    if (this.keepsEntries && c.entries !== undefined) {
      c.entries.data.forEach((e, i) => {
        this.data[c.entries!.start + i] = e;
      });
    }
    this.state = {
      logKey: this.logKey,
      size: c.size,
      roots: c.roots,
      checkpoints: [...prev.checkpoints, ...(c.checkpoints ?? [])],
      forks: [...prev.forks, ...(c.forks ?? [])],
      entries: this.keepsEntries ? this.data.length : 0,
    };
  }

  close(): void {}
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (id INTEGER PRIMARY KEY, size INTEGER NOT NULL,
  note TEXT NOT NULL UNIQUE, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS forks (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
`;

/** The cache file of a log key under `dir`. */
export function storePath(dir: string, logKey: string): string {
  return join(dir, `verifier-${toHex(sha256(utf8(logKey))).slice(0, 16)}.db`);
}

/** A SQLite store in `<dir>/verifier-<hash of the log key>.db`. */
export class SqliteStore implements VerifierStore {
  readonly keepsEntries: boolean;
  private readonly db: Database.Database;

  /**
   * @throws {VerifierError} SYNC_STATE_INVALID when the file is not a verifier cache of this log
   */
  constructor(
    dir: string,
    private readonly logKey: string,
    opts: { keepEntries?: boolean } = {},
  ) {
    this.keepsEntries = opts.keepEntries ?? true;
    mkdirSync(dir, { recursive: true });
    try {
      this.db = new Database(storePath(dir, logKey));
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (cause) {
      throw new VerifierError(
        'SYNC_STATE_INVALID',
        `cannot open the verifier cache in ${dir}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    const k = this.meta('logKey');
    if (k !== undefined && k !== logKey) {
      throw new VerifierError(
        'SYNC_STATE_INVALID',
        `the cache in ${dir} belongs to another log key (${k})`,
      );
    }
  }

  private meta(k: string): string | undefined {
    const row = this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as
      | { v: string }
      | undefined;
    return row?.v;
  }

  load(): StoreState | undefined {
    const size = this.meta('size');
    if (size === undefined) return undefined;
    try {
      const roots = (JSON.parse(this.meta('roots') ?? '[]') as string[]).map(fromBase64);
      const checkpoints = (
        this.db.prepare('SELECT size, note, seen_at FROM checkpoints ORDER BY id').all() as {
          size: number;
          note: string;
          seen_at: number;
        }[]
      ).map((r) => ({ size: r.size, note: r.note, seenAt: r.seen_at }));
      const forks = (
        this.db.prepare('SELECT doc FROM forks ORDER BY id').all() as { doc: string }[]
      ).map((r) => JSON.parse(r.doc) as unknown);
      const entries = (this.db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number })
        .n;
      return { logKey: this.logKey, size: Number(size), roots, checkpoints, forks, entries };
    } catch (cause) {
      throw new VerifierError(
        'SYNC_STATE_INVALID',
        `the verifier cache is corrupt: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
  }

  readEntries(start: number, end: number): Uint8Array[] {
    const rows = this.db
      .prepare('SELECT idx, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx')
      .all(start, end) as { idx: number; data: Buffer }[];
    return rows.map((r) => new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength));
  }

  commit(c: StoreCommit): void {
    const setMeta = this.db.prepare(
      'INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v',
    );
    const addCp = this.db.prepare(
      'INSERT OR IGNORE INTO checkpoints (size, note, seen_at) VALUES (?, ?, ?)',
    );
    const addEntry = this.db.prepare('INSERT OR REPLACE INTO entries (idx, data) VALUES (?, ?)');
    const addFork = this.db.prepare('INSERT INTO forks (doc) VALUES (?)');
    this.db.transaction(() => {
      setMeta.run('logKey', this.logKey);
      setMeta.run('size', String(c.size));
      setMeta.run('roots', JSON.stringify(c.roots.map(toBase64)));
      for (const cp of c.checkpoints ?? []) addCp.run(cp.size, cp.note, cp.seenAt);
      if (this.keepsEntries && c.entries !== undefined) {
        const { start, data } = c.entries;
        for (let i = 0; i < data.length; i++) addEntry.run(start + i, data[i]);
      }
      for (const f of c.forks ?? []) addFork.run(JSON.stringify(f));
    })();
  }

  close(): void {
    this.db.close();
  }
}
