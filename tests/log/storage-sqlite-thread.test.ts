/**
 * The threaded SQLite driver (src/log/storage/sqlite-thread.ts) passes the storage conformance
 * suite like the ordinary one (its leases use the thread's own clock, so the suite really waits),
 * and keeps the ordinary driver's exclusivity and error codes across the thread boundary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../src/log/storage/index.js';
import { ThreadedSqliteStorage } from '../../src/log/storage/sqlite-thread.js';
import type { LogStorage } from '../../src/log/storage/types.js';
import { item, runStorageConformance } from './storage-conformance.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vpause-sqlite-thread-'));
}

runStorageConformance(
  'sqlite-thread',
  async () => {
    const dir = tempDir();
    const open: LogStorage[] = [await ThreadedSqliteStorage.open({ dir })];
    return {
      storage: open[0]!,
      reopen: async () => {
        for (const h of open) await h.close();
        const h = await ThreadedSqliteStorage.open({ dir });
        open.push(h);
        return h;
      },
      dispose: async () => {
        for (const h of open) await h.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  {
    notShared:
      'one process owns a SQLite data directory (exclusive lock), as with the ordinary driver',
    propertyRuns: 10,
  },
);

describe('threaded sqlite storage', () => {
  it('is what openStorage gives for sqliteThread, and refuses a second handle with STORAGE_LOCKED', async () => {
    const dir = tempDir();
    try {
      const a = await openStorage({ data: dir, sqliteThread: true });
      expect(a).toBeInstanceOf(ThreadedSqliteStorage);
      await expect(ThreadedSqliteStorage.open({ dir, lockTimeoutMs: 50 })).rejects.toMatchObject({
        code: 'STORAGE_LOCKED',
      });
      const [r] = await a.sequence([item('one')]);
      expect(r).toEqual({ status: 'new', index: 0 });
      expect(await a.readEntries(0, 1)).toEqual([item('one').data]);
      await expect(a.readEntries(-1, 1)).rejects.toBeInstanceOf(RangeError);
      await a.close();
      await expect(a.sequencedSize()).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
      const b = await openStorage({ data: dir, sqliteThread: true });
      expect(await b.sequencedSize()).toBe(1);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
