import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { MemoryStorage } from '../../src/log/storage/memory.js';
import { item, runStorageConformance } from './storage-conformance.js';

runStorageConformance(
  'memory',
  async () => {
    let now = Date.parse('2026-11-27T00:00:00Z');
    const storage = new MemoryStorage({ now: () => now });
    return {
      storage,
      dispose: () => storage.close(),
      elapse: async (ms) => {
        now += ms;
      },
    };
  },
  {
    notPersistent: 'the memory driver keeps nothing across close',
    notShared: 'the memory driver lives in one process',
    propertyRuns: 100,
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

const cp = new TextEncoder().encode('checkpoint\n');
const root = sha256(new TextEncoder().encode('root'));

describe('memory storage fault injection', () => {
  describe('when sequence() fails before writing', () => {
    it('rejects with UNAVAILABLE, stores nothing, and a retry gets the index as new', async () => {
      const s = new MemoryStorage();
      s.failNext('sequence', 'before-write');
      const e = await rejection(s.sequence([item('a'), item('b')]));
      expect(isVPauseError(e, 'UNAVAILABLE')).toBe(true);
      expect(await s.sequencedSize()).toBe(0);
      expect(await s.sequence([item('a'), item('b')])).toEqual([
        { status: 'new', index: 0 },
        { status: 'new', index: 1 },
      ]);
    });
  });

  describe('when sequence() fails after writing (failed but persisted)', () => {
    it('rejects, yet the batch is stored, and a retry resolves each entry as a duplicate with the same index', async () => {
      const s = new MemoryStorage();
      await s.sequence([item('before')]);
      s.failNext('sequence', 'after-write');
      const e = await rejection(s.sequence([item('a'), item('b')]));
      expect(isVPauseError(e, 'UNAVAILABLE')).toBe(true);
      expect(await s.sequencedSize()).toBe(3);
      expect(await s.sequence([item('a'), item('b'), item('c')])).toEqual([
        { status: 'duplicate', index: 1 },
        { status: 'duplicate', index: 2 },
        { status: 'new', index: 3 },
      ]);
    });
  });

  describe('when commitIntegration() fails after writing', () => {
    it('has advanced the tree, so a retry from the old size loses the compare-and-swap', async () => {
      const s = new MemoryStorage();
      await s.sequence([item('a')]);
      s.failNext('commitIntegration', 'after-write');
      await expect(
        s.commitIntegration(0, { size: 1, rootHash: root, checkpoint: cp }, []),
      ).rejects.toSatisfy((e) => isVPauseError(e, 'UNAVAILABLE'));
      expect((await s.treeState()).size).toBe(1);
      expect(await s.commitIntegration(0, { size: 1, rootHash: root, checkpoint: cp }, [])).toBe(
        false,
      );
    });
  });

  describe('when acquireLease() fails after writing', () => {
    it('holds the lease for the owner although the call rejected', async () => {
      const s = new MemoryStorage();
      s.failNext('acquireLease', 'after-write');
      await expect(s.acquireLease('a', 60_000)).rejects.toThrow();
      expect(await s.acquireLease('b', 60_000)).toBe(false);
      expect(await s.acquireLease('a', 60_000)).toBe(true);
    });
  });

  it('fails exactly the next `times` calls of the named operation and leaves others alone', async () => {
    const s = new MemoryStorage();
    s.failNext('sequence', 'before-write', { times: 2 });
    await expect(s.sequencedSize()).resolves.toBe(0);
    await expect(s.sequence([item('a')])).rejects.toThrow();
    await expect(s.sequence([item('a')])).rejects.toThrow();
    await expect(s.sequence([item('a')])).resolves.toEqual([{ status: 'new', index: 0 }]);
    expect(s.calls.sequence).toBe(3);
  });

  it('rejects with the error given to failNext', async () => {
    const s = new MemoryStorage();
    const boom = new Error('disk on fire');
    s.failNext('readEntries', 'before-write', { error: boom });
    expect(await rejection(s.readEntries(0, 1))).toBe(boom);
  });

  it('asks the fault policy on every call, and a random after-write policy never loses or reorders an acknowledged entry', async () => {
    let n = 0;
    const s = new MemoryStorage({
      faults: (op) => (op === 'sequence' && n++ % 3 === 1 ? 'after-write' : undefined),
    });
    const acked = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const batch = [item(`e${i}`), item(`e${Math.floor(i / 2)}`)];
      for (;;) {
        try {
          const r = await s.sequence(batch);
          batch.forEach((b, j) => {
            const k = toHex(b.leafHash);
            const prev = acked.get(k);
            if (prev !== undefined) expect(r[j]!.index).toBe(prev);
            acked.set(k, r[j]!.index);
          });
          break;
        } catch (e) {
          expect(isVPauseError(e, 'UNAVAILABLE')).toBe(true);
        }
      }
    }
    const leaves = (await s.readLeafHashes(0, 1000)).map(toHex);
    expect(leaves).toHaveLength(30);
    for (const [k, idx] of acked) expect(leaves[idx]).toBe(k);
  });

  it('clearFaults drops queued faults', async () => {
    const s = new MemoryStorage();
    s.failNext('sequence', 'before-write');
    s.clearFaults();
    await expect(s.sequence([item('a')])).resolves.toHaveLength(1);
  });
});

describe('memory storage latency', () => {
  it('delays each operation by the configured latency', async () => {
    const s = new MemoryStorage({ latencyMs: (op) => (op === 'sequence' ? 60 : 0) });
    const t0 = performance.now();
    await s.sequence([item('a')]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    const t1 = performance.now();
    await s.sequencedSize();
    expect(performance.now() - t1).toBeLessThan(50);
  });

  it('rejects a call still waiting out its latency when the store closes, without applying it', async () => {
    const s = new MemoryStorage({ latencyMs: 50 });
    const p = s.sequence([item('a')]);
    await s.close();
    expect(isVPauseError(await rejection(p), 'STORAGE_CLOSED')).toBe(true);
  });
});

describe('memory storage checks', () => {
  it('refuses a leaf hash that is not the RFC 9162 hash of the data, with RangeError', async () => {
    const s = new MemoryStorage();
    const bad = { ...item('a'), leafHash: sha256(item('a').data) };
    await expect(s.sequence([bad])).rejects.toBeInstanceOf(RangeError);
    expect(await s.sequencedSize()).toBe(0);
  });

  it('expires the lease by the injected clock', async () => {
    let now = 1_000_000;
    const s = new MemoryStorage({ now: () => now });
    expect(await s.acquireLease('a', 1000)).toBe(true);
    now += 999;
    expect(await s.acquireLease('b', 1000)).toBe(false);
    now += 1;
    expect(await s.acquireLease('b', 1000)).toBe(true);
  });
});
