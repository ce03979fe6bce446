import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../src/log/storage/index.js';
import { dropSchemas, PG_URL, tempSchemaName } from './fixtures/pg.js';

describe('openStorage', () => {
  it('opens PostgreSQL when db is given, in the schema asked, even beside a data directory', async () => {
    const schema = tempSchemaName();
    const dir = mkdtempSync(join(tmpdir(), 'vpause-open-'));
    try {
      const s = await openStorage({ db: PG_URL, data: dir, schema, poolMax: 1 });
      expect(s.driver).toBe('postgres');
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await dropSchemas(schema);
    }
  });

  it('opens SQLite in <data>/log.db when only data is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-open-'));
    try {
      const s = await openStorage({ data: dir });
      expect(s.driver).toBe('sqlite');
      expect((s as unknown as { path: string }).path).toBe(join(dir, 'log.db'));
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens the memory driver only when asked for it', async () => {
    const s = await openStorage({ memory: true });
    expect(s.driver).toBe('memory');
    await s.close();
  });

  it('refuses options that select no driver, or a db that is not a PostgreSQL URL, with TypeError', async () => {
    await expect(openStorage({})).rejects.toBeInstanceOf(TypeError);
    await expect(openStorage({ db: 'mysql://x' })).rejects.toBeInstanceOf(TypeError);
  });
});
