import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isVPauseError } from '../../src/core/errors.js';
import type { LogStorage } from '../../src/log/storage/index.js';
import {
  checkConcatenatedBundle,
  SQLITE_SQL,
  SqliteStorage,
  splitConcatenated,
} from '../../src/log/storage/sqlite.js';
import { item, runStorageConformance } from './storage-conformance.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vpause-sqlite-'));
}

runStorageConformance(
  'sqlite',
  async () => {
    const dir = tempDir();
    let now = Date.parse('2026-11-27T00:00:00Z');
    const clock = () => now;
    const open: LogStorage[] = [await SqliteStorage.open({ dir, now: clock })];
    return {
      storage: open[0]!,
      reopen: async () => {
        for (const h of open) await h.close();
        const h = await SqliteStorage.open({ dir, now: clock });
        open.push(h);
        return h;
      },
      elapse: async (ms) => {
        now += ms;
      },
      dispose: async () => {
        for (const h of open) await h.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  {
    notShared:
      'one process owns a SQLite data directory (exclusive lock); sharing a log between processes is what the PostgreSQL driver is for',
    propertyRuns: 25,
  },
);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to reject');
}

describe('sqlite storage', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the log in <data>/log.db, in WAL mode with synchronous = FULL and an exclusive lock', async () => {
    const s = await SqliteStorage.open({ dir });
    expect(s.path).toBe(join(dir, 'log.db'));
    expect(s.settings()).toEqual({
      journalMode: 'wal',
      synchronous: 'FULL',
      lockingMode: 'exclusive',
    });
    await s.close();
  });

  describe('when the data directory is already open', () => {
    it('refuses a second handle in the same process with STORAGE_LOCKED, and opens once the first closes', async () => {
      const a = await SqliteStorage.open({ dir });
      await a.sequence([item('a')]);
      const e = await rejection(SqliteStorage.open({ dir, lockTimeoutMs: 50 }));
      expect(isVPauseError(e, 'STORAGE_LOCKED')).toBe(true);
      expect(await a.sequencedSize()).toBe(1); // the holder is unaffected
      await a.close();
      const b = await SqliteStorage.open({ dir, lockTimeoutMs: 50 });
      expect(await b.sequencedSize()).toBe(1);
      await b.close();
    });

    it('refuses it while another live process holds it, with STORAGE_LOCKED', async () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(import.meta.dirname, 'fixtures', 'storage-crash-child.ts'),
          'hold',
          'sqlite',
          dir,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (b: Buffer) => {
            if (b.toString().includes('ready')) resolve();
          });
          child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
        });
        const e = await rejection(SqliteStorage.open({ dir, lockTimeoutMs: 50 }));
        expect(isVPauseError(e, 'STORAGE_LOCKED')).toBe(true);
        expect((e as Error).message).toContain(dir);
      } finally {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      // The kernel drops the lock with the process: no stale lock to clear by hand.
      const s = await SqliteStorage.open({ dir, lockTimeoutMs: 50 });
      expect(await s.sequencedSize()).toBe(0);
      await s.close();
    });
  });

  it('reads ranges longer than one query reads, byte for byte, each read a copy of its own', async () => {
    const s = await SqliteStorage.open({ dir });
    try {
      const items = Array.from({ length: 2600 }, (_, i) => item(`${i}`.repeat(1 + (i % 7))));
      await s.sequence(items);
      const hex = (xs: readonly Uint8Array[]) => xs.map((x) => Buffer.from(x).toString('hex'));
      expect(hex(await s.readEntries(0, 5000))).toEqual(hex(items.map((x) => x.data)));
      expect(hex(await s.readEntries(1000, 1100))).toEqual(
        hex(items.slice(1000, 2100).map((x) => x.data)),
      );
      expect(hex(await s.readEntries(2047, 2))).toEqual(
        hex(items.slice(2047, 2049).map((x) => x.data)),
      );
      const a = await s.readEntries(10, 3);
      a[1]!.fill(0);
      expect(hex(await s.readEntries(10, 3))).toEqual(hex(items.slice(10, 13).map((x) => x.data)));
    } finally {
      await s.close();
    }
  });

  it('refuses a database written by a newer schema version with STORAGE_SCHEMA', async () => {
    const s = await SqliteStorage.open({ dir });
    await s.close();
    const raw = new Database(join(dir, 'log.db'));
    raw.pragma('user_version = 99');
    raw.close();
    const e = await rejection(SqliteStorage.open({ dir }));
    expect(isVPauseError(e, 'STORAGE_SCHEMA')).toBe(true);
  });

  it('serves every read by an index lookup, never a table scan (so reads stay fast at 10M entries)', async () => {
    const s = await SqliteStorage.open({ dir });
    await s.close();
    const raw = new Database(join(dir, 'log.db'), { readonly: true });
    const reads = [
      'size',
      'findLeaf',
      'findClaim',
      'readEntries',
      'readLeaves',
      'readTile',
      'getKey',
    ] as const;
    for (const k of reads) {
      const plan = raw
        .prepare(`EXPLAIN QUERY PLAN ${SQLITE_SQL[k]}`)
        .all(...Array.from({ length: (SQLITE_SQL[k].match(/\?/g) ?? []).length }, () => 0))
        .map((r) => (r as { detail: string }).detail)
        .join('; ');
      // A scan of a table is refused; a scan of a subquery's co-routine (readEntries: the rows of
      // one rowid range search, in order) is not a table scan.
      expect(plan, `${k}: ${plan}`).not.toMatch(/\bSCAN (?!\(subquery-\d+\))/);
      if (k !== 'size')
        expect(plan, `${k}: ${plan}`).toMatch(
          /SEARCH .*(PRIMARY KEY|INTEGER PRIMARY KEY|USING (COVERING )?INDEX)/,
        );
    }
    raw.close();
  });
});

describe('splitConcatenated (the reading of one readEntries row)', () => {
  const data = Buffer.from('aaabcccc');

  it('splits by the lengths when the indexes run on by one from the first', () => {
    const parts = splitConcatenated(data, '7:3,8:1,9:4', 7).map((p) => Buffer.from(p).toString());
    expect(parts).toEqual(['aaa', 'b', 'cccc']);
  });

  it('refuses lengths that do not add up to the data', () => {
    expect(() => splitConcatenated(data, '7:3,8:1,9:3', 7)).toThrow(/do not add up/);
  });
});

describe.each([
  [
    'splitConcatenated',
    (parts: string, first: number) => splitConcatenated(Buffer.from('aaabcccc'), parts, first),
  ],
  [
    'checkConcatenatedBundle',
    (parts: string, first: number) =>
      checkConcatenatedBundle(
        Uint8Array.from([0, 3, 97, 97, 97, 0, 1, 98, 0, 4, 99, 99, 99, 99]),
        parts,
        first,
      ),
  ],
] as const)('%s (the index order of a concatenated read)', (_name, read) => {
  it('refuses entries out of index order, a gap, or another first index', () => {
    expect(() => read('7:3,8:1,9:4', 7)).not.toThrow();
    expect(() => read('8:1,7:3,9:4', 7)).toThrow(/out of index order/);
    expect(() => read('7:3,9:1,10:4', 7)).toThrow(/out of index order/);
    expect(() => read('7:3,8:1,9:4', 6)).toThrow(/out of index order/);
  });
});

describe('checkConcatenatedBundle (the reading of one readEntryBundle row)', () => {
  // Two entries, "aaa" and "b", each after its two-byte length.
  const data = Uint8Array.from([0, 3, 97, 97, 97, 0, 1, 98]);

  it('counts the entries when the indexes run on by one and the prefixed lengths add up', () => {
    expect(checkConcatenatedBundle(data, '7:3,8:1', 7)).toBe(2);
  });

  it('refuses lengths that do not add up to the data, and an entry the prefix cannot hold', () => {
    expect(() => checkConcatenatedBundle(data, '7:3,8:2', 7)).toThrow(/do not add up/);
    expect(() => checkConcatenatedBundle(data, '7:3', 7)).toThrow(/do not add up/);
    expect(() => checkConcatenatedBundle(data, '7:65536', 7)).toThrow(
      expect.objectContaining({ code: 'ENTRY_TOO_LARGE' }),
    );
  });
});
