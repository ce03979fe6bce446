/**
 * The PostgreSQL driver against a real server (VPAUSE_TEST_PG, default the local `test`
 * database). Each test uses a schema of its own, dropped afterwards. Never skipped: CI runs it.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isVPauseError } from '../../src/core/errors.js';
import { PostgresStorage } from '../../src/log/storage/postgres.js';
import { dropSchemas, PG_URL, pgQuery, tempSchemaName } from './fixtures/pg.js';
import { item, runStorageConformance } from './storage-conformance.js';

async function openFixture(schema = tempSchemaName()) {
  const handles: PostgresStorage[] = [];
  const open = async () => {
    const h = await PostgresStorage.open({ connectionString: PG_URL, schema, poolMax: 4 });
    handles.push(h);
    return h;
  };
  const storage = await open();
  return {
    schema,
    storage,
    reopen: async () => {
      for (const h of handles) await h.close();
      return open();
    },
    openAnother: open,
    dispose: async () => {
      for (const h of handles) await h.close();
      await dropSchemas(schema);
    },
  };
}

runStorageConformance('postgres', () => openFixture(), { propertyRuns: 12 });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to reject');
}

describe('postgres storage', () => {
  describe('when several processes open a new schema at once', () => {
    it('creates it once: every open succeeds and each migration is recorded once', async () => {
      const schema = tempSchemaName();
      try {
        const hs = await Promise.all(
          Array.from({ length: 4 }, () =>
            PostgresStorage.open({ connectionString: PG_URL, schema, poolMax: 2 }),
          ),
        );
        await hs[0]!.sequence([item('a')]);
        expect(await hs[3]!.sequencedSize()).toBe(1);
        for (const h of hs) await h.close();
        const r = await pgQuery<{ version: number }>(
          `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
        );
        expect(r.rows.map((x) => x.version)).toEqual([1, 2]);
        // Opening again is a no-op and keeps the data.
        const again = await PostgresStorage.open({ connectionString: PG_URL, schema, poolMax: 2 });
        expect(await again.sequencedSize()).toBe(1);
        await again.close();
      } finally {
        await dropSchemas(schema);
      }
    });
  });

  it('refuses a schema migrated by a newer vpause with STORAGE_SCHEMA', async () => {
    const fx = await openFixture();
    try {
      await pgQuery(`INSERT INTO "${fx.schema}".schema_migrations (version) VALUES (99)`);
      const e = await rejection(
        PostgresStorage.open({ connectionString: PG_URL, schema: fx.schema, poolMax: 1 }),
      );
      expect(isVPauseError(e, 'STORAGE_SCHEMA')).toBe(true);
    } finally {
      await fx.dispose();
    }
  });

  it('refuses a stored index beyond 2^53 - 1 with STORAGE_CORRUPT instead of rounding it', async () => {
    const fx = await openFixture();
    try {
      await pgQuery(`UPDATE "${fx.schema}".sequencer SET next = 9007199254740993`);
      expect(isVPauseError(await rejection(fx.storage.sequencedSize()), 'STORAGE_CORRUPT')).toBe(
        true,
      );
      expect(
        isVPauseError(await rejection(fx.storage.sequence([item('a')])), 'STORAGE_CORRUPT'),
      ).toBe(true);
      await pgQuery(`UPDATE "${fx.schema}".sequencer SET next = 0`);
      expect(await fx.storage.sequence([item('a')])).toEqual([{ status: 'new', index: 0 }]);
    } finally {
      await fx.dispose();
    }
  });

  describe('when another transaction holds the sequencing counter', () => {
    it('rejects sequence() with UNAVAILABLE after the lock timeout instead of waiting forever, and works once the lock is gone', async () => {
      const fx = await openFixture();
      const s = await PostgresStorage.open({
        connectionString: PG_URL,
        schema: fx.schema,
        poolMax: 2,
        lockTimeoutMs: 200,
      });
      const holder = new pg.Client({ connectionString: PG_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT next FROM "${fx.schema}".sequencer FOR UPDATE`);
        const t0 = performance.now();
        const e = await rejection(s.sequence([item('a')]));
        expect(isVPauseError(e, 'UNAVAILABLE')).toBe(true);
        expect(performance.now() - t0).toBeLessThan(5_000);
        await holder.query('ROLLBACK');
        expect(await s.sequence([item('a')])).toEqual([{ status: 'new', index: 0 }]);
      } finally {
        await holder.end();
        await s.close();
        await fx.dispose();
      }
    });
  });

  it('refuses a schema name that is not a plain identifier with TypeError, before connecting', async () => {
    await expect(
      PostgresStorage.open({ connectionString: PG_URL, schema: 'x"; DROP TABLE y; --' }),
    ).rejects.toBeInstanceOf(TypeError);
  });

  it('reports a server it cannot reach as UNAVAILABLE', async () => {
    const e = await rejection(
      PostgresStorage.open({
        connectionString: 'postgres://postgres@127.0.0.1:1/test',
        schema: 'x',
      }),
    );
    expect(isVPauseError(e, 'UNAVAILABLE')).toBe(true);
  });

  it('serves reads by index scans at 50k entries, never a sequential scan', async () => {
    const fx = await openFixture();
    const s = `"${fx.schema}"`;
    try {
      await pgQuery(
        `INSERT INTO ${s}.entries (idx, leaf_hash, data) SELECT i, sha256(int8send(i)), int8send(i) FROM generate_series(0, 49999) i`,
      );
      await pgQuery(
        `INSERT INTO ${s}.tiles (level, idx, data) SELECT 0, i, sha256(int8send(i)) FROM generate_series(0, 49999) i`,
      );
      await pgQuery(`ANALYZE ${s}.entries; ANALYZE ${s}.tiles`);
      const reads = [
        `SELECT data FROM ${s}.entries WHERE idx >= 40000 AND idx < 40256 ORDER BY idx`,
        `SELECT leaf_hash FROM ${s}.entries WHERE idx >= 10 AND idx < 266 ORDER BY idx`,
        `SELECT idx FROM ${s}.entries WHERE leaf_hash = sha256(int8send(7::bigint))`,
        `SELECT t.level, t.idx, t.data FROM ${s}.tiles t JOIN unnest('{0,0}'::integer[], '{5,9}'::bigint[]) AS u(level, idx) ON t.level = u.level AND t.idx = u.idx`,
      ];
      for (const q of reads) {
        const plan = (await pgQuery<{ 'QUERY PLAN': string }>(`EXPLAIN ${q}`)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
        expect(plan, plan).not.toMatch(/Seq Scan on (entries|tiles)/);
        expect(plan, plan).toMatch(/Index (Only )?Scan/);
      }
    } finally {
      await fx.dispose();
    }
  });
});
