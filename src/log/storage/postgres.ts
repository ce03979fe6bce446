/**
 * The PostgreSQL storage driver (`pg` Pool), for deployments that outgrow one machine: several
 * stateless front ends sequence into one database, and one sequencer, elected through the
 * database, integrates and signs.
 *
 * - Sequencing is gapless and serialised: each `sequence()` transaction first locks the
 *   single-row counter (`sequencer.next`, `SELECT ... FOR UPDATE`), then looks up the batch's
 *   leaf hashes and claims, inserts the new entries with consecutive indexes, applies key events
 *   and bumps the counter, and commits. A PostgreSQL SEQUENCE would not do: its values are not
 *   transactional, so an aborted transaction would leave a gap in the log.
 * - The lease is a single row (owner, expires_at) taken or renewed by one conditional UPDATE
 *   against the database clock (`now()`), so the clocks of the front ends do not matter and at
 *   most one owner holds an unexpired lease.
 * - `commitIntegration` is compare-and-swap on `tree_state.size` (`UPDATE ... WHERE size = old`),
 *   in one transaction with the tile upserts.
 * - Durability is the server's: a transaction commits once its WAL is flushed (the driver turns
 *   `synchronous_commit` back on for its writes when the server has it off).
 *
 * Tables live in a schema of their own (default `vpause`), created when missing; migrations are
 * versioned in `<schema>.schema_migrations` and run under an advisory lock, so processes that
 * start together do not race. Indexes are BIGINT, read back as numbers with a safe-integer check.
 */
import pg from 'pg';
import { toHex } from '../../core/bytes.js';
import { sha256 } from '../../crypto/sha256.js';
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
  claimKey,
  entryBundleOf,
  type NodeKeyRow,
  nodeKeyFromRow,
  plainBytes,
  plainCopies,
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

export interface PostgresStorageOptions {
  /** Connection string; ignored when `pool` is given. */
  connectionString?: string;
  /** A pool to use instead of opening one; the caller keeps it (close() does not end it). */
  pool?: pg.Pool;
  /** Schema holding the log's tables (default `vpause`): lowercase letters, digits, `_`. */
  schema?: string;
  /** Most connections of the pool the driver opens (default 10). */
  poolMax?: number;
  /** Called with errors of idle pooled connections (default: ignored; the pool replaces them). */
  onPoolError?: (e: Error) => void;
  /**
   * Bounds on a write transaction (default 10 s each): how long it waits for a lock (the
   * sequencing counter, the tree state), and how long the server lets it sit idle. The second
   * frees the counter when a front end stalls or vanishes mid-transaction; without it, every
   * sequencer would wait until TCP noticed the dead peer.
   */
  lockTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const EMPTY_ROOT_HEX = toHex(sha256());

/**
 * Migrations, in order; each runs once per schema, in one transaction. `s` is the quoted
 * schema name.
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; sql: (s: string) => string }[] = [
  {
    version: 1,
    sql: (s) => `
CREATE TABLE ${s}.entries (
  idx       BIGINT PRIMARY KEY,
  leaf_hash BYTEA NOT NULL UNIQUE,
  data      BYTEA NOT NULL
);
CREATE TABLE ${s}.claims (
  chain TEXT NOT NULL,
  seq   BIGINT NOT NULL,
  idx   BIGINT NOT NULL,
  PRIMARY KEY (chain, seq)
);
CREATE TABLE ${s}.node_keys (
  key_id       TEXT PRIMARY KEY,
  vkey         TEXT NOT NULL,
  lab          TEXT NOT NULL,
  facility     TEXT NOT NULL,
  cluster      TEXT NOT NULL,
  node         TEXT NOT NULL,
  added_at     BIGINT NOT NULL,
  revoked_at   BIGINT,
  revoked_time TEXT
);
CREATE TABLE ${s}.tiles (
  level INTEGER NOT NULL,
  idx   BIGINT NOT NULL,
  data  BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE ${s}.tree_state (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  size       BIGINT NOT NULL,
  root_hash  BYTEA NOT NULL,
  checkpoint BYTEA
);
INSERT INTO ${s}.tree_state (id, size, root_hash) VALUES (0, 0, '\\x${EMPTY_ROOT_HEX}');
CREATE TABLE ${s}.sequencer (
  id   INTEGER PRIMARY KEY CHECK (id = 0),
  next BIGINT NOT NULL
);
INSERT INTO ${s}.sequencer (id, next) VALUES (0, 0);
CREATE TABLE ${s}.lease (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  owner      TEXT,
  expires_at TIMESTAMPTZ NOT NULL
);
INSERT INTO ${s}.lease (id, owner, expires_at) VALUES (0, NULL, '-infinity');
`,
  },
  {
    version: 2,
    sql: (s) => `
CREATE TABLE ${s}.published (
  id   INTEGER PRIMARY KEY CHECK (id = 0),
  size BIGINT NOT NULL,
  note BYTEA NOT NULL
);
`,
  },
];

/** The latest schema version this code writes and understands. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

function sqlFor(s: string) {
  return {
    lockCounter: `SELECT next FROM ${s}.sequencer WHERE id = 0 FOR UPDATE`,
    size: `SELECT next FROM ${s}.sequencer WHERE id = 0`,
    findLeaves: `SELECT leaf_hash, idx FROM ${s}.entries WHERE leaf_hash = ANY($1::bytea[])`,
    findLeaf: `SELECT idx FROM ${s}.entries WHERE leaf_hash = $1`,
    findClaims:
      `SELECT c.chain, c.seq, c.idx FROM ${s}.claims c ` +
      'JOIN unnest($1::text[], $2::bigint[]) AS u(chain, seq) ON c.chain = u.chain AND c.seq = u.seq',
    insertEntries:
      `INSERT INTO ${s}.entries (idx, leaf_hash, data) ` +
      'SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])',
    insertClaims:
      `INSERT INTO ${s}.claims (chain, seq, idx) ` +
      'SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])',
    addKey:
      `INSERT INTO ${s}.node_keys (key_id, vkey, lab, facility, cluster, node, added_at) ` +
      'VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key_id) DO NOTHING',
    revokeKey:
      `UPDATE ${s}.node_keys SET revoked_at = $1, revoked_time = $2 ` +
      'WHERE key_id = $3 AND revoked_at IS NULL',
    bumpCounter: `UPDATE ${s}.sequencer SET next = $1 WHERE id = 0`,
    getKey:
      'SELECT key_id, vkey, lab, facility, cluster, node, added_at, revoked_at, revoked_time ' +
      `FROM ${s}.node_keys WHERE key_id = $1`,
    readEntries: `SELECT data FROM ${s}.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    readLeaves: `SELECT leaf_hash FROM ${s}.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    readTiles:
      `SELECT t.level, t.idx, t.data FROM ${s}.tiles t ` +
      'JOIN unnest($1::integer[], $2::bigint[]) AS u(level, idx) ON t.level = u.level AND t.idx = u.idx',
    upsertTiles:
      `INSERT INTO ${s}.tiles AS t (level, idx, data) ` +
      'SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[]) ' +
      'ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data ' +
      'WHERE length(excluded.data) >= length(t.data)',
    treeState: `SELECT size, root_hash, checkpoint FROM ${s}.tree_state WHERE id = 0`,
    setPublished:
      `INSERT INTO ${s}.published AS p (id, size, note) VALUES (0, $1, $2) ` +
      'ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note ' +
      'WHERE excluded.size >= p.size',
    published: `SELECT size, note FROM ${s}.published WHERE id = 0`,
    casTree:
      `UPDATE ${s}.tree_state SET size = $1, root_hash = $2, checkpoint = $3 ` +
      'WHERE id = 0 AND size = $4',
    acquireLease:
      `UPDATE ${s}.lease SET owner = $1, expires_at = now() + $2::double precision * interval '1 millisecond' ` +
      'WHERE id = 0 AND (owner IS NULL OR owner = $1 OR expires_at <= now())',
    releaseLease: `UPDATE ${s}.lease SET owner = NULL, expires_at = '-infinity' WHERE id = 0 AND owner = $1`,
  };
}

type Sql = ReturnType<typeof sqlFor>;

type KeyRow = NodeKeyRow;

export class PostgresStorage implements LogStorage {
  readonly driver = 'postgres';
  /** The schema holding the tables. */
  readonly schema: string;

  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly sql: Sql;
  private readonly begin: string;
  private closed = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string, begin: string) {
    this.pool = pool;
    this.ownsPool = ownsPool;
    this.schema = schema;
    this.sql = sqlFor(`"${schema}"`);
    this.begin = begin;
  }

  /**
   * Connects, creates the schema and its tables when missing, and migrates them.
   * @throws {TypeError} when the schema name is not a plain lowercase identifier, or neither
   *   `pool` nor `connectionString` is given
   * @throws {RangeError} when a timeout is not a positive integer of ms
   * @throws {VPauseError<'STORAGE_SCHEMA'>} when the schema was written by a newer vpause
   * @throws {VPauseError<'UNAVAILABLE'>} when the database cannot be reached or migrated
   */
  static async open(opts: PostgresStorageOptions): Promise<PostgresStorage> {
    const schema = opts.schema ?? 'vpause';
    if (!SCHEMA_RE.test(schema)) {
      throw new TypeError(
        `postgres storage: schema ${JSON.stringify(schema)} is not a plain identifier`,
      );
    }
    if (!opts.pool && !opts.connectionString) {
      throw new TypeError('postgres storage: give pool or connectionString');
    }
    const lockMs = ms(opts.lockTimeoutMs, 'lockTimeoutMs');
    const idleMs = ms(opts.idleInTransactionTimeoutMs, 'idleInTransactionTimeoutMs');
    const owns = !opts.pool;
    const pool =
      opts.pool ??
      new pg.Pool({
        connectionString: opts.connectionString,
        max: opts.poolMax ?? 10,
        connectionTimeoutMillis: 10_000,
      });
    if (owns) pool.on('error', opts.onPoolError ?? (() => {}));
    try {
      await migrate(pool, schema);
      const r = await pool.query<{ s: string }>(
        `SELECT current_setting('synchronous_commit') AS s`,
      );
      const begin = [
        'BEGIN',
        `SET LOCAL lock_timeout = ${lockMs}`,
        `SET LOCAL idle_in_transaction_session_timeout = ${idleMs}`,
        ...(r.rows[0]?.s === 'off' ? ['SET LOCAL synchronous_commit = on'] : []),
      ].join('; ');
      return new PostgresStorage(pool, owns, schema, begin);
    } catch (e) {
      if (owns) await pool.end().catch(() => {});
      throw wrapDriverError('postgres', `open schema ${schema}`, e);
    }
  }

  async sequence(items: readonly SequenceItem[]): Promise<SequenceResult[]> {
    checkSequenceItems(items);
    if (items.length === 0) return this.guard('sequence', async () => []);
    return this.tx('sequence', async (c) => {
      const locked = await c.query<{ next: string }>(this.sql.lockCounter);
      const next = toSafeIndex('sequencer.next', locked.rows[0]?.next);

      const leafRows = await c.query<{ leaf_hash: Buffer; idx: string }>(this.sql.findLeaves, [
        uniqueBy(
          items.map((it) => it.leafHash),
          toHex,
        ),
      ]);
      const leaves = new Map<string, number>();
      for (const r of leafRows.rows)
        leaves.set(toHex(r.leaf_hash), toSafeIndex('entries.idx', r.idx));

      const claims = new Map<string, number>();
      const wanted = uniqueBy(
        items.flatMap((it) => (it.claim ? [it.claim] : [])),
        (cl) => claimKey(cl.chain, cl.seq),
      );
      if (wanted.length > 0) {
        const claimRows = await c.query<{ chain: string; seq: string; idx: string }>(
          this.sql.findClaims,
          [wanted.map((cl) => cl.chain), wanted.map((cl) => cl.seq)],
        );
        for (const r of claimRows.rows) {
          claims.set(
            claimKey(r.chain, toSafeIndex('claims.seq', r.seq)),
            toSafeIndex('claims.idx', r.idx),
          );
        }
      }

      const plan = planSequence(items, next, {
        leaf: (_h, hex) => leaves.get(hex),
        claim: (chain, seq) => claims.get(claimKey(chain, seq)),
      });
      if (plan.fresh.length === 0) return plan.results;

      await c.query(this.sql.insertEntries, [
        plan.fresh.map((f) => f.index),
        plan.fresh.map((f) => f.item.leafHash),
        plan.fresh.map((f) => f.item.data),
      ]);
      const claimed = plan.fresh.filter((f) => f.item.claim !== undefined);
      if (claimed.length > 0) {
        await c.query(this.sql.insertClaims, [
          claimed.map((f) => f.item.claim!.chain),
          claimed.map((f) => f.item.claim!.seq),
          claimed.map((f) => f.index),
        ]);
      }
      // Key events in index order, so an add and a revoke in one batch apply in that order.
      for (const { index, item } of plan.fresh) {
        const ev = item.keyEvent;
        if (ev?.action === 'add') {
          await c.query(this.sql.addKey, [
            ev.keyId,
            ev.vkey,
            ev.lab,
            ev.facility,
            ev.cluster,
            ev.node,
            index,
          ]);
        } else if (ev?.action === 'revoke') {
          await c.query(this.sql.revokeKey, [index, ev.time, ev.keyId]);
        }
      }
      await c.query(this.sql.bumpCounter, [next + plan.fresh.length]);
      return plan.results;
    });
  }

  async sequencedSize(): Promise<number> {
    return this.guard('sequencedSize', async () => this.size(this.pool));
  }

  async readEntries(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readEntries', start, count);
    return this.guard('readEntries', async () => {
      const r = await this.pool.query<{ data: Buffer }>(this.sql.readEntries, [
        start,
        rangeEnd(start, count),
      ]);
      return plainCopies(r.rows.map((row) => row.data));
    });
  }

  async readEntryBundle(start: number, count: number): Promise<Uint8Array | undefined> {
    checkBundleRange('readEntryBundle', start, count);
    return entryBundleOf(await this.readEntries(start, count), count);
  }

  async readLeafHashes(start: number, count: number): Promise<Uint8Array[]> {
    checkRange('readLeafHashes', start, count);
    return this.guard('readLeafHashes', async () => {
      const r = await this.pool.query<{ leaf_hash: Buffer }>(this.sql.readLeaves, [
        start,
        rangeEnd(start, count),
      ]);
      return r.rows.map((row) => plainBytes(row.leaf_hash));
    });
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    checkHash('findLeafHash: leafHash', leafHash);
    return this.guard('findLeafHash', async () => {
      const r = await this.pool.query<{ idx: string }>(this.sql.findLeaf, [leafHash]);
      const row = r.rows[0];
      return row === undefined ? undefined : toSafeIndex('entries.idx', row.idx);
    });
  }

  async getNodeKey(keyId: string): Promise<NodeKeyRecord | undefined> {
    if (typeof keyId !== 'string') throw new TypeError('getNodeKey: keyId: expected a string');
    return this.guard('getNodeKey', async () => {
      const r = (await this.pool.query<KeyRow>(this.sql.getKey, [keyId])).rows[0];
      if (!r) return undefined;
      return nodeKeyFromRow(r);
    });
  }

  async treeState(): Promise<TreeState> {
    return this.guard('treeState', async () => {
      const r = (
        await this.pool.query<{ size: string; root_hash: Buffer; checkpoint: Buffer | null }>(
          this.sql.treeState,
        )
      ).rows[0];
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
    if (ids.length === 0) return this.guard('readTiles', async () => []);
    return this.guard('readTiles', async () => {
      const r = await this.pool.query<{ level: number; idx: string; data: Buffer }>(
        this.sql.readTiles,
        [ids.map((t) => t.level), ids.map((t) => t.index)],
      );
      const found = new Map<string, Uint8Array>();
      for (const row of r.rows) {
        found.set(`${row.level}/${toSafeIndex('tiles.idx', row.idx)}`, row.data);
      }
      return ids.map((t) => {
        const d = found.get(`${t.level}/${t.index}`);
        return d === undefined ? undefined : plainBytes(d);
      });
    });
  }

  async commitIntegration(
    oldSize: number,
    next: TreeState & { checkpoint: Uint8Array },
    tiles: readonly StoredTile[],
  ): Promise<boolean> {
    checkCommit(oldSize, next, tiles);
    // One row per tile id (the widest): ON CONFLICT cannot touch a row twice in one statement.
    const widest = new Map<string, StoredTile>();
    for (const t of tiles) {
      const k = `${t.level}/${t.index}`;
      const prev = widest.get(k);
      if (!prev || prev.data.length <= t.data.length) widest.set(k, t);
    }
    const ts = [...widest.values()];
    return this.tx('commitIntegration', async (c) => {
      // The counter only grows, so an unlocked read is a safe bound.
      checkIntegratedSize(next.size, await this.size(c));
      const cas = await c.query(this.sql.casTree, [
        next.size,
        next.rootHash,
        next.checkpoint,
        oldSize,
      ]);
      if (cas.rowCount !== 1) return false;
      if (ts.length > 0) {
        await c.query(this.sql.upsertTiles, [
          ts.map((t) => t.level),
          ts.map((t) => t.index),
          ts.map((t) => t.data),
        ]);
      }
      return true;
    });
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    checkLease(owner, ttlMs);
    return this.guard('acquireLease', async () => {
      const r = await this.pool.query(this.sql.acquireLease, [owner, ttlMs]);
      return r.rowCount === 1;
    });
  }

  async setPublished(size: number, note: Uint8Array): Promise<boolean> {
    checkIndex('setPublished: size', size);
    return this.guard('setPublished', async () => {
      const r = await this.pool.query(this.sql.setPublished, [size, Buffer.from(note)]);
      return r.rowCount === 1;
    });
  }

  async published(): Promise<{ size: number; note: Uint8Array } | undefined> {
    return this.guard('published', async () => {
      const r = (await this.pool.query<{ size: string; note: Buffer }>(this.sql.published)).rows[0];
      return r === undefined
        ? undefined
        : { size: toSafeIndex('published.size', r.size), note: plainBytes(r.note) };
    });
  }

  async releaseLease(owner: string): Promise<void> {
    checkLease(owner);
    return this.guard('releaseLease', async () => {
      await this.pool.query(this.sql.releaseLease, [owner]);
    });
  }

  /** Stops using the database; ends the pool when this driver opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  private async size(q: pg.Pool | pg.PoolClient): Promise<number> {
    const r = await q.query<{ next: string }>(this.sql.size);
    return toSafeIndex('sequencer.next', r.rows[0]?.next);
  }

  private async guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (e) {
      throw wrapDriverError('postgres', op, e);
    }
  }

  /** Runs `fn` in a transaction on one pooled connection; any error rolls it back. */
  private async tx<T>(op: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw wrapDriverError('postgres', op, e);
    }
    let broken: Error | undefined;
    try {
      await c.query(this.begin);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch (re) {
        broken = re instanceof Error ? re : new Error(String(re));
      }
      throw wrapDriverError('postgres', op, e);
    } finally {
      c.release(broken);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw storageError('STORAGE_CLOSED', 'postgres storage is closed');
  }
}

/** A timeout option as an integer number of ms (inlined in SET LOCAL, so checked strictly). */
function ms(v: number | undefined, label: string): number {
  const n = v ?? 10_000;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`postgres storage: ${label}: expected a positive integer of ms`);
  }
  return n;
}

function uniqueBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of xs) {
    const k = key(x);
    if (!seen.has(k)) seen.set(k, x);
  }
  return [...seen.values()];
}

/** Creates the schema when missing and applies the migrations it lacks, under an advisory lock. */
async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const s = `"${schema}"`;
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vpause.migrate.${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (` +
        'version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const r = await c.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.schema_migrations`,
    );
    const current = r.rows[0]?.v ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw storageError(
        'STORAGE_SCHEMA',
        `schema ${schema} is at version ${current}, newer than this vpause understands (${POSTGRES_SCHEMA_VERSION})`,
      );
    }
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= current) continue;
      await c.query(m.sql(s));
      await c.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [m.version]);
    }
    await c.query('COMMIT');
  } catch (e) {
    try {
      await c.query('ROLLBACK');
    } catch (re) {
      broken = re instanceof Error ? re : new Error(String(re));
    }
    throw e;
  } finally {
    c.release(broken);
  }
}
