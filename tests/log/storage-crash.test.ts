/**
 * Crash test at the storage layer: a child process sequences batches in a loop and prints each
 * acknowledged (index, leaf hash) only after `sequence()` resolves; we SIGKILL it at random
 * moments (some while it is still opening and migrating the store), restart it, and repeat.
 * Afterwards every acknowledged index must still hold the acknowledged leaf, the log must be
 * gapless, every batch must be there whole or not at all, and every leaf hash must match its
 * entry. (A SIGKILL tests process death, not power loss; see docs/storage.md.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromUtf8, toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import type { LogStorage } from '../../src/log/storage/index.js';
import { PostgresStorage } from '../../src/log/storage/postgres.js';
import { SqliteStorage } from '../../src/log/storage/sqlite.js';
import { dropSchemas, PG_URL, tempSchemaName } from './fixtures/pg.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'storage-crash-child.ts');
const ROUNDS = 20;

interface RoundResult {
  acks: { index: number; leaf: string }[];
}

/** Runs the child once and SIGKILLs it at a random moment; resolves with what it acknowledged. */
function runAndKill(args: string[], round: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, 'run', ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let buf = '';
    let stderr = '';
    let killed = false;
    let readyTimer: NodeJS.Timeout | undefined;
    const acks: { index: number; leaf: string }[] = [];
    const kill = () => {
      if (killed) return;
      killed = true;
      child.kill('SIGKILL');
    };
    // Every fifth round dies while opening the store (recovering, migrating): a random 0..40 ms
    // after it says so; the rest while sequencing, a random 20..300 ms after the store is open.
    const early = round % 5 === 0;
    let earlyTimer: NodeJS.Timeout | undefined;
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop()!; // an incomplete last line was not acknowledged
      for (const line of lines) {
        if (line === 'opening') {
          if (early) earlyTimer = setTimeout(kill, Math.floor(Math.random() * 40));
          continue;
        }
        if (line === 'ready') {
          if (!early) readyTimer = setTimeout(kill, 20 + Math.floor(Math.random() * 280));
          continue;
        }
        const m = /^ack (\d+) ([0-9a-f]{64})$/.exec(line);
        if (!m) {
          reject(new Error(`unexpected child output: ${line}`));
          return;
        }
        acks.push({ index: Number(m[1]), leaf: m[2]! });
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(earlyTimer);
      clearTimeout(readyTimer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child exited by itself (code ${code}, signal ${signal}): ${stderr}`));
        return;
      }
      resolve({ acks });
    });
  });
}

interface Payload {
  run: string;
  batch: number;
  i: number;
  n: number;
}

async function crashAndCheck(
  args: (run: string) => string[],
  open: () => Promise<LogStorage>,
): Promise<void> {
  const acked = new Map<number, string>();
  for (let round = 0; round < ROUNDS; round++) {
    const r = await runAndKill(args(`r${round}`), round);
    for (const a of r.acks) {
      const prev = acked.get(a.index);
      // The same index was never acknowledged for two different entries.
      if (prev !== undefined) expect(a.leaf, `index ${a.index} acknowledged twice`).toBe(prev);
      acked.set(a.index, a.leaf);
    }
  }
  expect(acked.size, 'the child acknowledged entries').toBeGreaterThan(50);

  const s = await open();
  try {
    const size = await s.sequencedSize();
    const leaves = (await s.readLeafHashes(0, size + 10)).map(toHex);
    const entries = await s.readEntries(0, size + 10);
    // Gapless: exactly `size` entries, at 0..size-1.
    expect(leaves).toHaveLength(size);
    expect(entries).toHaveLength(size);
    // Every acknowledged index holds the acknowledged leaf.
    for (const [index, leaf] of acked) {
      expect(index).toBeLessThan(size);
      expect(leaves[index], `acknowledged index ${index}`).toBe(leaf);
    }
    // Each leaf hash is its entry's, no entry is stored twice, and each batch is whole.
    expect(new Set(leaves).size).toBe(size);
    const batches = new Map<string, { n: number; at: number[] }>();
    entries.forEach((data, index) => {
      expect(toHex(sha256(new Uint8Array([0]), data))).toBe(leaves[index]);
      const p = JSON.parse(fromUtf8(data)) as Payload;
      const k = `${p.run}/${p.batch}`;
      const b = batches.get(k) ?? { n: p.n, at: [] };
      b.at[p.i] = index;
      batches.set(k, b);
    });
    for (const [k, b] of batches) {
      const at = Array.from({ length: b.n }, (_, i) => b.at[i]);
      expect(
        at.every((x) => x !== undefined),
        `batch ${k} is whole`,
      ).toBe(true);
      // A batch's new entries took consecutive indexes.
      expect(at, `batch ${k} is consecutive`).toEqual(
        Array.from({ length: b.n }, (_, i) => at[0]! + i),
      );
    }
  } finally {
    await s.close();
  }
}

describe('storage crash test', () => {
  const dirs: string[] = [];
  const schemas: string[] = [];
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (schemas.length > 0) await dropSchemas(...schemas);
  });

  describe('when a process sequencing into SQLite is SIGKILLed at random moments, 20 times', () => {
    it('keeps every acknowledged entry at its index, gaplessly, with every batch whole', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vpause-crash-'));
      dirs.push(dir);
      await crashAndCheck(
        (run) => ['sqlite', dir, run],
        () => SqliteStorage.open({ dir }),
      );
    }, 90_000);
  });

  describe('when processes sequencing into PostgreSQL are SIGKILLed at random moments, 20 times', () => {
    it('keeps every acknowledged entry at its index, gaplessly, with every batch whole', async () => {
      const schema = tempSchemaName('vpause_crash');
      schemas.push(schema);
      await crashAndCheck(
        (run) => ['postgres', PG_URL, run, schema],
        () => PostgresStorage.open({ connectionString: PG_URL, schema }),
      );
    }, 90_000);
  });
});
