/**
 * The storage conformance suite: one set of cases that every driver of the contract in
 * src/log/storage/types.ts runs (memory, SQLite, PostgreSQL), after hono's shared router suite.
 * A driver that cannot run a group says why, and the group is skipped under that title.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import type {
  KeyEvent,
  LogStorage,
  SequenceItem,
  SequenceResult,
  StoredTile,
} from '../../src/log/storage/types.js';
import { encodeEntryBundle, parseEntryBundle } from '../../src/merkle/tiles.js';

export interface StorageFixture {
  /** A fresh, empty store. */
  storage: LogStorage;
  /** Closes the current handle and opens the same store again (drivers that persist). */
  reopen?: () => Promise<LogStorage>;
  /** Opens another, independent handle on the same store, as a second process would. */
  openAnother?: () => Promise<LogStorage>;
  /** Closes every handle it opened and deletes the store. */
  dispose: () => Promise<void>;
  /**
   * Lets `ms` pass on the clock the driver's leases use: advances an injected clock, or
   * (default) really waits, for drivers that use a clock of their own (PostgreSQL's `now()`).
   */
  elapse?: (ms: number) => Promise<void>;
}

export interface ConformanceOptions {
  /** Why the driver does not persist across close and reopen (skips that group). */
  notPersistent?: string;
  /** Why the driver cannot be opened twice at once (skips the two-handle group). */
  notShared?: string;
  /** Runs of the model-based property (each opens a fresh store; default 25). */
  propertyRuns?: number;
}

// --- helpers ---------------------------------------------------------------------------------

export function leafHashOf(data: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([0]), data);
}

/** A sequence item whose data is a small JSON document naming `label`. */
export function item(label: string, extra: Omit<Partial<SequenceItem>, 'data' | 'leafHash'> = {}) {
  const data = utf8(JSON.stringify({ entry: label }));
  return { data, leafHash: leafHashOf(data), ...extra } satisfies SequenceItem;
}

function keyEvent(keyId: string, action: 'add' | 'revoke', time: string): KeyEvent {
  return {
    keyId,
    vkey: `${keyId}+AQ${keyId.length}`,
    lab: 'lab-a.example',
    facility: 'f1',
    cluster: 'c1',
    node: 'c1-n001',
    action,
    time,
  };
}

function hash(label: string): Uint8Array {
  return sha256(utf8(label));
}

function tile(level: number, index: number, width: number, seed = 'tile'): StoredTile {
  const data = new Uint8Array(32 * width);
  for (let i = 0; i < width; i++) data.set(hash(`${seed}/${level}/${index}/${i}`), 32 * i);
  return { level, index, data };
}

function checkpoint(size: number, seed = 'cp'): Uint8Array {
  return utf8(`example.com/log\n${size}\n${seed}\n\n— sig\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hexes(bs: readonly Uint8Array[]): string[] {
  return bs.map(toHex);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to reject');
}

// --- an independent model of sequencing, for the property -----------------------------------

interface ModelEntry {
  leaf: string;
  claim: string | undefined;
}

/** The contract, restated as plainly as possible: apply each item in turn to a list. */
function modelSequence(log: ModelEntry[], items: readonly SequenceItem[]): SequenceResult[] {
  return items.map((it) => {
    const leaf = toHex(it.leafHash);
    const same = log.findIndex((e) => e.leaf === leaf);
    if (same >= 0) return { status: 'duplicate', index: same };
    const claim = it.claim ? `${it.claim.chain}#${it.claim.seq}` : undefined;
    const holder = claim === undefined ? -1 : log.findIndex((e) => e.claim === claim);
    if (holder >= 0) return { status: 'conflict', index: holder };
    log.push({ leaf, claim });
    return { status: 'new', index: log.length - 1 };
  });
}

/** Ten entry kinds; each has a fixed claim (or none), and several share a claim. */
const KINDS: SequenceItem[] = Array.from({ length: 10 }, (_, k) =>
  item(`kind-${k}`, k % 4 === 0 ? {} : { claim: { chain: `chain-${k % 2}`, seq: k % 3 } }),
);

// --- the suite -------------------------------------------------------------------------------

/**
 * Registers the conformance suite for one driver.
 * @param name the driver's name, as the test titles show it
 * @param factory opens a fresh, empty store for each test
 */
export function runStorageConformance(
  name: string,
  factory: () => Promise<StorageFixture>,
  opts: ConformanceOptions = {},
): void {
  describe(`storage conformance: ${name}`, () => {
    let fx: StorageFixture;
    let s: LogStorage;
    const elapse = (ms: number) => (fx.elapse ? fx.elapse(ms) : sleep(ms));

    beforeEach(async () => {
      fx = await factory();
      s = fx.storage;
    });
    afterEach(async () => {
      await fx.dispose();
    });

    describe('when the store is new', () => {
      it('has sequenced size 0, an empty tree with the empty-tree root and no checkpoint, and nothing to read', async () => {
        expect(await s.sequencedSize()).toBe(0);
        const st = await s.treeState();
        expect(st.size).toBe(0);
        expect(toHex(st.rootHash)).toBe(toHex(sha256()));
        expect(st.checkpoint).toBeUndefined();
        expect(await s.readEntries(0, 10)).toEqual([]);
        expect(await s.readLeafHashes(0, 10)).toEqual([]);
        expect(await s.findLeafHash(hash('nothing'))).toBeUndefined();
        expect(await s.getNodeKey('node+00000000')).toBeUndefined();
        expect(await s.readTiles([{ level: 0, index: 0 }])).toEqual([undefined]);
        expect(s.driver).toBe(name);
      });
    });

    describe('sequence', () => {
      it('assigns consecutive indexes from 0 in batch order, and the next batch continues after them', async () => {
        const r1 = await s.sequence([item('a'), item('b'), item('c')]);
        expect(r1).toEqual([
          { status: 'new', index: 0 },
          { status: 'new', index: 1 },
          { status: 'new', index: 2 },
        ]);
        const r2 = await s.sequence([item('d'), item('e')]);
        expect(r2).toEqual([
          { status: 'new', index: 3 },
          { status: 'new', index: 4 },
        ]);
        expect(await s.sequencedSize()).toBe(5);
      });

      it('resolves an empty batch to no results and stores nothing', async () => {
        expect(await s.sequence([])).toEqual([]);
        expect(await s.sequencedSize()).toBe(0);
      });

      it('stores each entry and leaf hash byte for byte at its index', async () => {
        const big = new Uint8Array(65_535).map((_, i) => (i * 7) & 0xff);
        const items = [item('x'), { data: big, leafHash: leafHashOf(big) }, item('y')];
        await s.sequence(items);
        const data = await s.readEntries(0, 3);
        expect(hexes(data)).toEqual(hexes(items.map((i) => i.data)));
        expect(data[1]!.length).toBe(65_535);
        expect(hexes(await s.readLeafHashes(0, 3))).toEqual(hexes(items.map((i) => i.leafHash)));
        expect(hexes(await s.readEntries(1, 1))).toEqual([toHex(big)]);
      });

      it('reads fewer entries when the range runs past the end, and none from past the end or for count 0', async () => {
        const items = ['a', 'b', 'c', 'd'].map((l) => item(l));
        await s.sequence(items);
        expect(hexes(await s.readEntries(2, 10))).toEqual(hexes([items[2]!.data, items[3]!.data]));
        expect(hexes(await s.readLeafHashes(3, 5))).toEqual([toHex(items[3]!.leafHash)]);
        expect(await s.readEntries(4, 1)).toEqual([]);
        expect(await s.readLeafHashes(100, 1)).toEqual([]);
        expect(await s.readEntries(1, 0)).toEqual([]);
        expect(await s.readEntries(0, Number.MAX_SAFE_INTEGER)).toHaveLength(4);
      });

      it('reads an entry bundle as the encoding of the entries, and none unless all are sequenced', async () => {
        const big = new Uint8Array(65_535).map((_, i) => (i * 13) & 0xff);
        const items = [item('a'), { data: big, leafHash: leafHashOf(big) }, item('c'), item('d')];
        for (let i = 0; i < 300; i++) items.push(item(`e${i}`));
        await s.sequence(items);
        const hexOf = (b: Uint8Array | undefined) => (b === undefined ? undefined : toHex(b));
        for (const [start, count] of [
          [0, 4],
          [1, 1],
          [0, 256],
          [256, 48],
          [100, 200],
        ] as const) {
          const bundle = await s.readEntryBundle(start, count);
          expect(hexOf(bundle)).toBe(toHex(encodeEntryBundle(await s.readEntries(start, count))));
          expect(parseEntryBundle(bundle!, count).map(toHex)).toEqual(
            items.slice(start, start + count).map((x) => toHex(x.data)),
          );
        }
        expect(await s.readEntryBundle(256, 49)).toBeUndefined();
        expect(await s.readEntryBundle(304, 1)).toBeUndefined();
        await expect(s.readEntryBundle(0, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(s.readEntryBundle(0, 257)).rejects.toBeInstanceOf(RangeError);
        await expect(s.readEntryBundle(-1, 1)).rejects.toBeInstanceOf(RangeError);
      });

      it('resolves an in-batch duplicate to the first copy index, as a duplicate, and stores it once', async () => {
        const r = await s.sequence([item('a'), item('b'), item('a'), item('c'), item('b')]);
        expect(r).toEqual([
          { status: 'new', index: 0 },
          { status: 'new', index: 1 },
          { status: 'duplicate', index: 0 },
          { status: 'new', index: 2 },
          { status: 'duplicate', index: 1 },
        ]);
        expect(await s.sequencedSize()).toBe(3);
      });

      it('resolves a duplicate of a stored entry to its index and stores nothing', async () => {
        await s.sequence([item('a'), item('b')]);
        const r = await s.sequence([item('b'), item('c'), item('a')]);
        expect(r).toEqual([
          { status: 'duplicate', index: 1 },
          { status: 'new', index: 2 },
          { status: 'duplicate', index: 0 },
        ]);
        expect(await s.sequencedSize()).toBe(3);
      });

      it('finds the index of a sequenced leaf hash, and undefined for one never sequenced', async () => {
        await s.sequence([item('a'), item('b'), item('c')]);
        expect(await s.findLeafHash(item('c').leafHash)).toBe(2);
        expect(await s.findLeafHash(item('a').leafHash)).toBe(0);
        expect(await s.findLeafHash(item('z').leafHash)).toBeUndefined();
      });

      it('keeps what it stored when the caller later mutates its buffers or the results it read', async () => {
        const it0 = item('a');
        const original = toHex(it0.data);
        await s.sequence([it0]);
        it0.data.fill(0);
        const read = await s.readEntries(0, 1);
        expect(toHex(read[0]!)).toBe(original);
        read[0]!.fill(1);
        expect(toHex((await s.readEntries(0, 1))[0]!)).toBe(original);
      });
    });

    describe('claims', () => {
      const claim = { chain: 'usage/lab-a.example/f1/c1/c1-n001', seq: 0 };

      it('refuses another entry with a taken claim as a conflict at the holder index, and stores nothing of it', async () => {
        await s.sequence([item('other'), item('first', { claim })]);
        const r = await s.sequence([item('second', { claim })]);
        expect(r).toEqual([{ status: 'conflict', index: 1 }]);
        expect(await s.sequencedSize()).toBe(2);
        expect(await s.findLeafHash(item('second').leafHash)).toBeUndefined();
      });

      it('resolves an entry re-sent with its own claim as a duplicate, not a conflict', async () => {
        await s.sequence([item('first', { claim })]);
        expect(await s.sequence([item('first', { claim })])).toEqual([
          { status: 'duplicate', index: 0 },
        ]);
      });

      it('refuses the second of two new entries with one claim in a batch, and the rest of the batch stays gapless', async () => {
        const r = await s.sequence([
          item('a', { claim }),
          item('b', { claim }),
          item('c'),
          item('b', { claim }),
        ]);
        expect(r).toEqual([
          { status: 'new', index: 0 },
          { status: 'conflict', index: 0 },
          { status: 'new', index: 1 },
          { status: 'conflict', index: 0 },
        ]);
        expect(hexes(await s.readLeafHashes(0, 10))).toEqual(
          hexes([item('a').leafHash, item('c').leafHash]),
        );
      });

      it('accepts the same seq on another chain and the next seq on the same chain', async () => {
        const r = await s.sequence([
          item('a', { claim }),
          item('b', { claim: { chain: `${claim.chain}x`, seq: 0 } }),
          item('c', { claim: { chain: claim.chain, seq: 1 } }),
        ]);
        expect(r.map((x) => x.status)).toEqual(['new', 'new', 'new']);
      });

      it('does not apply the key event of a conflicting entry', async () => {
        await s.sequence([item('a', { claim })]);
        const r = await s.sequence([
          item('b', { claim, keyEvent: keyEvent('n1+0000aaaa', 'add', '2026-11-27T00:00:00Z') }),
        ]);
        expect(r[0]!.status).toBe('conflict');
        expect(await s.getNodeKey('n1+0000aaaa')).toBeUndefined();
      });
    });

    describe('key events', () => {
      const id = 'c1-n001+01020304';

      it('adds the node key with addedAt = the index of its registration', async () => {
        await s.sequence([
          item('x'),
          item('reg', { keyEvent: keyEvent(id, 'add', '2026-11-27T00:00:00Z') }),
        ]);
        expect(await s.getNodeKey(id)).toEqual({
          keyId: id,
          vkey: `${id}+AQ${id.length}`,
          lab: 'lab-a.example',
          facility: 'f1',
          cluster: 'c1',
          node: 'c1-n001',
          addedAt: 1,
        });
      });

      it('marks a revoked key with the revocation index and time, keeping the rest', async () => {
        await s.sequence([item('reg', { keyEvent: keyEvent(id, 'add', '2026-11-27T00:00:00Z') })]);
        await s.sequence([
          item('x'),
          item('rev', { keyEvent: keyEvent(id, 'revoke', '2026-11-28T00:00:00Z') }),
        ]);
        const k = await s.getNodeKey(id);
        expect(k).toMatchObject({
          keyId: id,
          addedAt: 0,
          revokedAt: 2,
          revokedTime: '2026-11-28T00:00:00Z',
        });
      });

      it('applies an add and a revoke in one batch in order', async () => {
        await s.sequence([
          item('reg', { keyEvent: keyEvent(id, 'add', '2026-11-27T00:00:00Z') }),
          item('rev', { keyEvent: keyEvent(id, 'revoke', '2026-11-27T01:00:00Z') }),
        ]);
        expect(await s.getNodeKey(id)).toMatchObject({
          addedAt: 0,
          revokedAt: 1,
          revokedTime: '2026-11-27T01:00:00Z',
        });
      });

      it('keeps the first add and the first revocation: a later add does not un-revoke a key', async () => {
        await s.sequence([
          item('reg', { keyEvent: keyEvent(id, 'add', '2026-11-27T00:00:00Z') }),
          item('rev', { keyEvent: keyEvent(id, 'revoke', '2026-11-27T01:00:00Z') }),
          item('reg2', { keyEvent: keyEvent(id, 'add', '2026-11-27T02:00:00Z') }),
          item('rev2', { keyEvent: keyEvent(id, 'revoke', '2026-11-27T03:00:00Z') }),
        ]);
        expect(await s.getNodeKey(id)).toMatchObject({
          addedAt: 0,
          revokedAt: 1,
          revokedTime: '2026-11-27T01:00:00Z',
        });
      });

      it('creates no record for the revocation of a key never added', async () => {
        const r = await s.sequence([
          item('rev', { keyEvent: keyEvent(id, 'revoke', '2026-11-27T01:00:00Z') }),
        ]);
        expect(r).toEqual([{ status: 'new', index: 0 }]);
        expect(await s.getNodeKey(id)).toBeUndefined();
      });

      it('does not apply the key event of a duplicate again', async () => {
        const reg = item('reg', { keyEvent: keyEvent(id, 'add', '2026-11-27T00:00:00Z') });
        await s.sequence([reg]);
        await s.sequence([
          item('rev', { keyEvent: keyEvent(id, 'revoke', '2026-11-27T01:00:00Z') }),
        ]);
        expect(await s.sequence([reg])).toEqual([{ status: 'duplicate', index: 0 }]);
        expect(await s.getNodeKey(id)).toMatchObject({ addedAt: 0, revokedAt: 1 });
      });
    });

    describe('tree store', () => {
      async function sequenceN(n: number) {
        await s.sequence(Array.from({ length: n }, (_, i) => item(`e${i}`)));
      }

      it('commits tiles and state from size 0, and reads tiles back in the order asked, absent ones as undefined', async () => {
        await sequenceN(3);
        const t0 = tile(0, 0, 3);
        const t1 = tile(1, 0, 1);
        expect(
          await s.commitIntegration(
            0,
            { size: 3, rootHash: hash('r3'), checkpoint: checkpoint(3) },
            [t0, t1],
          ),
        ).toBe(true);
        const st = await s.treeState();
        expect(st.size).toBe(3);
        expect(toHex(st.rootHash)).toBe(toHex(hash('r3')));
        expect(toHex(st.checkpoint!)).toBe(toHex(checkpoint(3)));
        const got = await s.readTiles([t1, { level: 0, index: 1 }, t0]);
        expect(got.map((g) => (g ? toHex(g) : undefined))).toEqual([
          toHex(t1.data),
          undefined,
          toHex(t0.data),
        ]);
      });

      it('refuses a stale oldSize with false and writes nothing', async () => {
        await sequenceN(4);
        expect(
          await s.commitIntegration(
            0,
            { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) },
            [tile(0, 0, 2)],
          ),
        ).toBe(true);
        const stale = await s.commitIntegration(
          0,
          { size: 4, rootHash: hash('r4-other'), checkpoint: checkpoint(4, 'other') },
          [tile(0, 0, 4, 'other'), tile(0, 1, 1, 'other')],
        );
        expect(stale).toBe(false);
        const st = await s.treeState();
        expect(st.size).toBe(2);
        expect(toHex(st.rootHash)).toBe(toHex(hash('r2')));
        expect(toHex(st.checkpoint!)).toBe(toHex(checkpoint(2)));
        const [t00, t01] = await s.readTiles([
          { level: 0, index: 0 },
          { level: 0, index: 1 },
        ]);
        expect(toHex(t00!)).toBe(toHex(tile(0, 0, 2).data));
        expect(t01).toBeUndefined();
      });

      it('accepts a commit at the same size (a new checkpoint for the same tree)', async () => {
        await sequenceN(1);
        expect(
          await s.commitIntegration(
            0,
            { size: 1, rootHash: hash('r1'), checkpoint: checkpoint(1, 'a') },
            [tile(0, 0, 1)],
          ),
        ).toBe(true);
        expect(
          await s.commitIntegration(
            1,
            { size: 1, rootHash: hash('r1'), checkpoint: checkpoint(1, 'b') },
            [],
          ),
        ).toBe(true);
        expect(toHex((await s.treeState()).checkpoint!)).toBe(toHex(checkpoint(1, 'b')));
      });

      it('widens a partial tile, and never narrows a tile with a shorter copy', async () => {
        await sequenceN(5);
        await s.commitIntegration(0, { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) }, [
          tile(0, 0, 2),
        ]);
        await s.commitIntegration(2, { size: 5, rootHash: hash('r5'), checkpoint: checkpoint(5) }, [
          tile(0, 0, 5),
        ]);
        expect(toHex((await s.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
          toHex(tile(0, 0, 5).data),
        );
        await s.commitIntegration(
          5,
          { size: 5, rootHash: hash('r5'), checkpoint: checkpoint(5, 'x') },
          [tile(0, 0, 3, 'x')],
        );
        expect(toHex((await s.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
          toHex(tile(0, 0, 5).data),
        );
      });

      it('keeps the widest of two copies of one tile in a single commit', async () => {
        await sequenceN(3);
        await s.commitIntegration(0, { size: 3, rootHash: hash('r3'), checkpoint: checkpoint(3) }, [
          tile(0, 0, 3),
          tile(0, 0, 1, 'narrow'),
        ]);
        expect(toHex((await s.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
          toHex(tile(0, 0, 3).data),
        );
      });

      it('refuses to integrate past the sequenced size with a RangeError, writing nothing', async () => {
        await sequenceN(2);
        const e = await rejection(
          s.commitIntegration(0, { size: 3, rootHash: hash('r3'), checkpoint: checkpoint(3) }, [
            tile(0, 0, 3),
          ]),
        );
        expect(e).toBeInstanceOf(RangeError);
        expect((await s.treeState()).size).toBe(0);
        expect(await s.readTiles([{ level: 0, index: 0 }])).toEqual([undefined]);
      });

      it('refuses a shrinking tree, a root that is not 32 bytes and a tile that is not whole hashes, with RangeError', async () => {
        await sequenceN(2);
        await s.commitIntegration(
          0,
          { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) },
          [],
        );
        await expect(
          s.commitIntegration(2, { size: 1, rootHash: hash('r1'), checkpoint: checkpoint(1) }, []),
        ).rejects.toBeInstanceOf(RangeError);
        await expect(
          s.commitIntegration(
            2,
            { size: 2, rootHash: new Uint8Array(31), checkpoint: checkpoint(2) },
            [],
          ),
        ).rejects.toBeInstanceOf(RangeError);
        await expect(
          s.commitIntegration(2, { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) }, [
            { level: 0, index: 0, data: new Uint8Array(33) },
          ]),
        ).rejects.toBeInstanceOf(RangeError);
        await expect(
          s.commitIntegration(2, { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) }, [
            { level: 0, index: 0, data: new Uint8Array(32 * 257) },
          ]),
        ).rejects.toBeInstanceOf(RangeError);
        expect((await s.treeState()).size).toBe(2);
      });
    });

    describe('published checkpoint', () => {
      it('has none at first, then keeps the note of the largest size, replacing it at an equal size', async () => {
        expect(await s.published()).toBeUndefined();
        expect(await s.setPublished(5, checkpoint(5))).toBe(true);
        expect(await s.published()).toEqual({ size: 5, note: checkpoint(5) });
        const cosigned = new Uint8Array([...checkpoint(5), 0x2d]);
        expect(await s.setPublished(5, cosigned)).toBe(true);
        expect(toHex((await s.published())!.note)).toBe(toHex(cosigned));
        expect(await s.setPublished(4, checkpoint(4))).toBe(false);
        expect((await s.published())!.size).toBe(5);
        expect(await s.setPublished(9, checkpoint(9))).toBe(true);
        expect(await s.published()).toEqual({ size: 9, note: checkpoint(9) });
      });

      it('refuses a size that is not a non-negative safe integer with a RangeError', async () => {
        await expect(s.setPublished(-1, checkpoint(1))).rejects.toBeInstanceOf(RangeError);
        await expect(s.setPublished(2 ** 53, checkpoint(1))).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('lease', () => {
      it('is held by its first owner, refused to another, and renewed by the holder', async () => {
        expect(await s.acquireLease('seq-a', 60_000)).toBe(true);
        expect(await s.acquireLease('seq-b', 60_000)).toBe(false);
        expect(await s.acquireLease('seq-a', 60_000)).toBe(true);
        expect(await s.acquireLease('seq-b', 60_000)).toBe(false);
      });

      it('passes to another owner once the ttl runs out unrenewed, and the old owner is then refused', async () => {
        expect(await s.acquireLease('seq-a', 50)).toBe(true);
        await elapse(200);
        expect(await s.acquireLease('seq-b', 60_000)).toBe(true);
        expect(await s.acquireLease('seq-a', 60_000)).toBe(false);
      });

      it('stays with the holder past its first ttl when renewed in time', async () => {
        expect(await s.acquireLease('seq-a', 1_500)).toBe(true);
        await elapse(900);
        expect(await s.acquireLease('seq-a', 1_500)).toBe(true);
        await elapse(900); // past the first ttl, well within the renewed one
        expect(await s.acquireLease('seq-b', 1_500)).toBe(false);
        await elapse(700); // past the renewed one
        expect(await s.acquireLease('seq-b', 1_500)).toBe(true);
      });

      it('is free at once when its owner releases it, and a release by another owner does nothing', async () => {
        expect(await s.acquireLease('seq-a', 60_000)).toBe(true);
        await s.releaseLease('seq-b');
        expect(await s.acquireLease('seq-b', 60_000)).toBe(false);
        await s.releaseLease('seq-a');
        expect(await s.acquireLease('seq-b', 60_000)).toBe(true);
      });

      it('gives the lease to exactly one of many owners asking at once', async () => {
        const owners = Array.from({ length: 8 }, (_, i) => `seq-${i}`);
        const got = await Promise.all(owners.map((o) => s.acquireLease(o, 60_000)));
        expect(got.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('concurrency', () => {
      it('gives 20 concurrent sequence() calls a gapless set of indexes with no index twice', async () => {
        const calls = Array.from({ length: 20 }, (_, c) =>
          s.sequence(Array.from({ length: 5 }, (_, i) => item(`c${c}-${i}`))),
        );
        const results = (await Promise.all(calls)).flat();
        expect(results.every((r) => r.status === 'new')).toBe(true);
        const idx = results.map((r) => r.index).sort((a, b) => a - b);
        expect(idx).toEqual(Array.from({ length: 100 }, (_, i) => i));
        // Each entry sits at the index it was given.
        const leaves = hexes(await s.readLeafHashes(0, 100));
        for (let c = 0; c < 20; c++) {
          for (let i = 0; i < 5; i++) {
            const r = results[c * 5 + i]!;
            expect(leaves[r.index]).toBe(toHex(item(`c${c}-${i}`).leafHash));
          }
        }
      });

      it('gives each of the entries that 20 concurrent overlapping calls send one index, gaplessly', async () => {
        const shared = ['s0', 's1', 's2'].map((l) => item(l));
        const calls = Array.from({ length: 20 }, (_, c) =>
          s.sequence([shared[c % 3]!, item(`own-${c}`), shared[(c + 1) % 3]!]),
        );
        const results = await Promise.all(calls);
        const byLeaf = new Map<string, Set<number>>();
        results.forEach((rs, c) => {
          const sent = [shared[c % 3]!, item(`own-${c}`), shared[(c + 1) % 3]!];
          rs.forEach((r, i) => {
            const k = toHex(sent[i]!.leafHash);
            if (!byLeaf.has(k)) byLeaf.set(k, new Set());
            byLeaf.get(k)!.add(r.index);
          });
        });
        for (const set of byLeaf.values()) expect(set.size).toBe(1);
        expect(await s.sequencedSize()).toBe(23);
        const all = [...byLeaf.values()].map((x) => [...x][0]!).sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: 23 }, (_, i) => i));
        expect(results.flat().filter((r) => r.status === 'new')).toHaveLength(23);
      });

      it('lets exactly one of several concurrent commits from the same oldSize win', async () => {
        await s.sequence([item('a'), item('b')]);
        const tries = Array.from({ length: 6 }, (_, i) =>
          s.commitIntegration(
            0,
            { size: 2, rootHash: hash(`r${i}`), checkpoint: checkpoint(2, `${i}`) },
            [tile(0, 0, 2, `${i}`)],
          ),
        );
        const won = await Promise.all(tries);
        expect(won.filter(Boolean)).toHaveLength(1);
        const w = won.indexOf(true);
        const st = await s.treeState();
        expect(toHex(st.rootHash)).toBe(toHex(hash(`r${w}`)));
        expect(toHex((await s.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
          toHex(tile(0, 0, 2, `${w}`).data),
        );
      });
    });

    describe('arguments that break the contract', () => {
      it('refuses a leaf hash that is not 32 bytes, or an entry over 65,535 bytes, with RangeError and stores nothing of the batch', async () => {
        const short = { ...item('a'), leafHash: new Uint8Array(31) };
        await expect(s.sequence([item('ok'), short])).rejects.toBeInstanceOf(RangeError);
        const huge = new Uint8Array(65_536);
        await expect(
          s.sequence([item('ok'), { data: huge, leafHash: leafHashOf(huge) }]),
        ).rejects.toBeInstanceOf(RangeError);
        await expect(
          s.sequence([item('ok', { claim: { chain: 'c', seq: -1 } })]),
        ).rejects.toBeInstanceOf(RangeError);
        expect(await s.sequencedSize()).toBe(0);
      });

      it('refuses negative or fractional ranges and non-positive ttls with RangeError', async () => {
        await expect(s.readEntries(-1, 1)).rejects.toBeInstanceOf(RangeError);
        await expect(s.readLeafHashes(0, 1.5)).rejects.toBeInstanceOf(RangeError);
        await expect(s.readTiles([{ level: 0, index: -1 }])).rejects.toBeInstanceOf(RangeError);
        await expect(s.acquireLease('a', 0)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('after close', () => {
      it('rejects every call with STORAGE_CLOSED', async () => {
        await s.close();
        const calls: Promise<unknown>[] = [
          s.sequence([item('a')]),
          s.sequencedSize(),
          s.readEntries(0, 1),
          s.findLeafHash(item('a').leafHash),
          s.treeState(),
          s.acquireLease('a', 1000),
        ];
        for (const c of calls) {
          const e = await rejection(c);
          expect(isVPauseError(e, 'STORAGE_CLOSED')).toBe(true);
        }
      });
    });

    describe('matches a model of the contract (property)', () => {
      it('gives every sequence of batches, with duplicates and contested claims, the results and log the model gives', async () => {
        const batches = fc.array(fc.array(fc.nat({ max: KINDS.length - 1 }), { maxLength: 6 }), {
          minLength: 1,
          maxLength: 5,
        });
        await fc.assert(
          fc.asyncProperty(batches, async (plan) => {
            const f = await factory();
            try {
              const model: ModelEntry[] = [];
              for (const batch of plan) {
                const items = batch.map((k) => KINDS[k]!);
                expect(await f.storage.sequence(items)).toEqual(modelSequence(model, items));
              }
              expect(hexes(await f.storage.readLeafHashes(0, 100))).toEqual(
                model.map((e) => e.leaf),
              );
              expect(await f.storage.sequencedSize()).toBe(model.length);
            } finally {
              await f.dispose();
            }
          }),
          { numRuns: opts.propertyRuns ?? 25 },
        );
      });
    });

    // Drivers that state a reason (opts.notPersistent) do not promise persistence: the suite is
    // not registered for them at all.
    if (opts.notPersistent === undefined)
      describe('across close and reopen', () => {
        it('keeps entries, claims, node keys, tiles, tree state and lease, and continues the indexes', async () => {
          const claim = { chain: 'usage/x', seq: 0 };
          await s.sequence([
            item('a', { claim }),
            item('reg', { keyEvent: keyEvent('k+01', 'add', '2026-11-27T00:00:00Z') }),
          ]);
          await s.commitIntegration(
            0,
            { size: 2, rootHash: hash('r2'), checkpoint: checkpoint(2) },
            [tile(0, 0, 2)],
          );
          expect(await s.acquireLease('seq-a', 60_000)).toBe(true);
          expect(await s.setPublished(2, checkpoint(2))).toBe(true);

          const s2 = await fx.reopen!();
          expect(await s2.published()).toEqual({ size: 2, note: checkpoint(2) });
          expect(await s2.sequencedSize()).toBe(2);
          expect(hexes(await s2.readEntries(0, 2))).toEqual(
            hexes([item('a').data, item('reg').data]),
          );
          expect(await s2.findLeafHash(item('reg').leafHash)).toBe(1);
          expect(await s2.getNodeKey('k+01')).toMatchObject({ addedAt: 1 });
          const st = await s2.treeState();
          expect(st.size).toBe(2);
          expect(toHex(st.checkpoint!)).toBe(toHex(checkpoint(2)));
          expect(toHex((await s2.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
            toHex(tile(0, 0, 2).data),
          );
          expect(await s2.acquireLease('seq-b', 60_000)).toBe(false);
          expect(await s2.sequence([item('b', { claim }), item('c')])).toEqual([
            { status: 'conflict', index: 0 },
            { status: 'new', index: 2 },
          ]);
          expect(
            await s2.commitIntegration(
              0,
              { size: 3, rootHash: hash('r3'), checkpoint: checkpoint(3) },
              [],
            ),
          ).toBe(false);
        });
      });

    // Likewise for drivers that cannot be opened twice (opts.notShared says why).
    if (opts.notShared === undefined)
      describe('two handles on one store (two processes)', () => {
        it('stays gapless with no index twice when both sequence concurrently, and each sees the other entries', async () => {
          const s2 = await fx.openAnother!();
          const calls = Array.from({ length: 20 }, (_, c) =>
            (c % 2 === 0 ? s : s2).sequence([
              item(`h${c}-0`),
              item(`shared-${c % 4}`),
              item(`h${c}-1`),
            ]),
          );
          const results = (await Promise.all(calls)).flat();
          const fresh = results
            .filter((r) => r.status === 'new')
            .map((r) => r.index)
            .sort((a, b) => a - b);
          expect(fresh).toEqual(Array.from({ length: 44 }, (_, i) => i));
          expect(await s.sequencedSize()).toBe(44);
          expect(hexes(await s2.readLeafHashes(0, 100))).toEqual(
            hexes(await s.readLeafHashes(0, 100)),
          );
          expect(await s2.findLeafHash(item('h0-0').leafHash)).toBe(results[0]!.index);
        });

        it('gives the lease to only one of two owners asking through different handles at once', async () => {
          const s2 = await fx.openAnother!();
          for (let round = 0; round < 5; round++) {
            const [a, b] = await Promise.all([
              s.acquireLease('seq-a', 60_000),
              s2.acquireLease('seq-b', 60_000),
            ]);
            expect([a, b].filter(Boolean)).toHaveLength(1);
            await s.releaseLease(a ? 'seq-a' : 'seq-b');
          }
        });

        it('lets only one of two handles win a commit from the same oldSize', async () => {
          const s2 = await fx.openAnother!();
          await s.sequence([item('a')]);
          const [a, b] = await Promise.all([
            s.commitIntegration(
              0,
              { size: 1, rootHash: hash('ra'), checkpoint: checkpoint(1, 'a') },
              [tile(0, 0, 1, 'a')],
            ),
            s2.commitIntegration(
              0,
              { size: 1, rootHash: hash('rb'), checkpoint: checkpoint(1, 'b') },
              [tile(0, 0, 1, 'b')],
            ),
          ]);
          expect([a, b].filter(Boolean)).toHaveLength(1);
          expect(toHex((await s2.readTiles([{ level: 0, index: 0 }]))[0]!)).toBe(
            toHex(tile(0, 0, 1, a ? 'a' : 'b').data),
          );
        });
      });
  });
}
