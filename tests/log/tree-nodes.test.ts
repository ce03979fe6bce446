/**
 * The log's proof read path (src/log/tree-nodes.ts) gives exactly the RFC 9162 proofs, at the
 * current and at older tree sizes, whatever its caches hold, with or without stored level-0
 * summaries, in at most one storage round trip per proof when summaries are stored.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/sha256.js';
import { PROOF_BLOCK_BYTES, PROOF_RECORD_BYTES, ProofIndex } from '../../src/log/proof-index.js';
import type { StoredTile, TileId } from '../../src/log/storage/types.js';
import { tileSummaries } from '../../src/log/tile-tree.js';
import { TreeNodes } from '../../src/log/tree-nodes.js';
import {
  buildConsistencyProof,
  buildInclusionProof,
  hashChildren,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/rfc9162.js';
import { integrate } from '../../src/merkle/tiles.js';

const N = 70_000; // more than one full level-1 tile (65,536 leaves)
const leaves = Array.from({ length: N }, (_, i) => sha256(new TextEncoder().encode(`leaf ${i}`)));

/** Every complete subtree hash of the N-leaf tree: levels[l][i] = MTH(D[i·2^l, (i+1)·2^l)). */
const levels: Uint8Array[][] = [leaves];
while (levels.at(-1)!.length > 1) {
  const cur = levels.at(-1)!;
  const next: Uint8Array[] = [];
  for (let i = 0; i + 1 < cur.length; i += 2) next.push(hashChildren(cur[i]!, cur[i + 1]!));
  levels.push(next);
}
const reference = async (level: number, index: number) => levels[level]![index]!;

/** A tile store grown the way the log's integrator grows it, in steps. */
class Store {
  readonly rows = new Map<string, Uint8Array>();
  calls = 0;
  size = 0;
  constructor(private readonly summaries: boolean) {}
  readTiles = async (ids: readonly TileId[]) => {
    this.calls++;
    return ids.map((id) => this.rows.get(`${id.level}/${id.index}`));
  };
  async grow(to: number): Promise<void> {
    const r = await integrate(this.size, leaves.slice(this.size, to), this.readTiles);
    const put = (t: StoredTile) => this.rows.set(`${t.level}/${t.index}`, t.data);
    r.tiles.forEach(put);
    if (this.summaries) tileSummaries(r.tiles).forEach(put);
    this.size = to;
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'vpause-tree-nodes-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let files = 0;

/** A proof index filled from the store's full level-0 tiles, the way the log service fills it. */
function indexOf(store: Store): ProofIndex {
  const ix = ProofIndex.open(join(tmp, `index-${files++}.bin`));
  for (let t = 0; (t + 1) * 256 <= store.size; t++) ix.write(t, store.rows.get(`0/${t}`)!);
  return ix;
}

function rootOf(size: number): Promise<Uint8Array> {
  // MTH of the first `size` leaves from the complete subtrees (RFC 9162 §2.1.1 split).
  const mth = (lo: number, n: number): Uint8Array => {
    if ((n & (n - 1)) === 0 && lo % n === 0) return levels[Math.log2(n)]![lo / n]!;
    let k = 1;
    while (k * 2 < n) k *= 2;
    return hashChildren(mth(lo, k), mth(lo + k, n - k));
  };
  return Promise.resolve(mth(0, size));
}

describe('TreeNodes', () => {
  for (const [summaries, indexed] of [
    [true, false],
    [false, false],
    [true, true],
  ] as const) {
    for (const caches of [{}, { fullTiles: 1, summaries: 1 }]) {
      it(`builds RFC 9162 proofs at every size it grows through (summaries ${summaries}, proof index ${indexed}, caches ${JSON.stringify(caches)})`, async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 5 }),
            fc.array(
              fc.tuple(
                fc.double({ min: 0, max: 1, noNaN: true }),
                fc.double({ min: 0, max: 1, noNaN: true }),
              ),
              {
                minLength: 8,
                maxLength: 8,
              },
            ),
            async (steps, picks) => {
              const store = new Store(summaries);
              let nodes = new TreeNodes(store, caches);
              const seen: number[] = [];
              for (const step of steps) {
                await store.grow(Math.min(N, store.size + step));
                if (indexed) nodes = new TreeNodes(store, { ...caches, index: indexOf(store) });
                seen.push(store.size);
                const size = store.size;
                const root = await rootOf(size);
                for (const [a, b] of picks) {
                  const index = Math.min(size - 1, Math.floor(a * size));
                  const at = seen[Math.min(seen.length - 1, Math.floor(b * seen.length))]!; // the current or an older size
                  const i2 = Math.min(at - 1, index);
                  const proof = await nodes.inclusionProof(i2, at);
                  expect(proof).toEqual(await buildInclusionProof(i2, at, reference));
                  // A reader that never saw the older size: its edge tiles have filled up since.
                  expect(await new TreeNodes(store, caches).inclusionProof(i2, at)).toEqual(proof);
                  verifyInclusion(leaves[i2]!, i2, at, proof, await rootOf(at)); // throws if wrong
                  const old = Math.max(1, Math.floor(b * size));
                  const cons = await nodes.consistencyProof(old, size);
                  expect(cons).toEqual(await buildConsistencyProof(old, size, reference));
                  const older = Math.max(1, Math.floor(a * at));
                  expect(await new TreeNodes(store, caches).consistencyProof(older, at)).toEqual(
                    await buildConsistencyProof(older, at, reference),
                  );
                  if (old < size) {
                    verifyConsistency(old, size, cons, await rootOf(old), root);
                  }
                }
              }
            },
          ),
          { numRuns: 6 },
        );
      }, 120_000);
    }
  }

  it('reads storage at most once per proof when summaries are stored, and not at all when cached', async () => {
    const store = new Store(true);
    await store.grow(N);
    const nodes = new TreeNodes(store);
    for (let k = 0; k < 200; k++) {
      const index = (k * 7919) % N;
      const before = store.calls;
      await nodes.inclusionProof(index, N);
      expect(store.calls - before).toBeLessThanOrEqual(1);
    }
    // Upper tiles and summaries are now cached: a proof into a summarised tile whose base was
    // read before still reads its base hashes (level-0 tiles are not kept), and nothing else.
    const before = store.calls;
    const ids: TileId[][] = [];
    const spy = new TreeNodes({
      readTiles: async (x) => {
        ids.push([...x]);
        return store.readTiles(x);
      },
    });
    await spy.inclusionProof(12_345, N);
    await spy.inclusionProof(12_346, N);
    expect(ids[1]).toEqual([{ level: 0, index: Math.floor(12_346 / 256) }]);
    expect(store.calls - before).toBe(2);
  });

  /** The N-leaf tree with its proof index, and a reader through both. */
  async function indexedTree() {
    const store = new Store(true);
    await store.grow(N);
    const ix = indexOf(store);
    return { store, ix, nodes: new TreeNodes(store, { index: ix }), root: await rootOf(N) };
  }

  it('serves proofs through full tiles from the proof index without reading storage', async () => {
    const { store, ix, nodes, root } = await indexedTree();
    await nodes.inclusionProof(0, N); // reads and caches the tiles above level 0
    await nodes.inclusionProof(N - 1, N);
    await nodes.inclusionProof(65_536, N);
    const before = store.calls;
    for (let k = 0; k < 300; k++) {
      const index = (k * 7919) % (Math.floor(N / 256) * 256);
      const proof = await nodes.inclusionProof(index, N);
      verifyInclusion(leaves[index]!, index, N, proof, root);
    }
    expect(store.calls).toBe(before);
    // Synchronously, too, where no storage read is needed; not for the partial last tile.
    expect(nodes.inclusionProofNow(777, N)).toEqual(await buildInclusionProof(777, N, reference));
    expect(nodes.inclusionProofNow(N - 1, N)).toBeUndefined();
    expect(new TreeNodes(store).inclusionProofNow(777, N)).toBeUndefined();
    ix.close();
  });

  it('falls back to storage, and queues the record, when a record is damaged or not this tree’s', async () => {
    const { store, ix, nodes, root } = await indexedTree();
    await nodes.inclusionProof(0, N);
    // Tile 3: a flipped byte in the block of leaf 17 (its CRC fails). Tile 5: an intact record
    // of other leaf hashes.
    const fd = openSync(ix.path, 'r+');
    writeSync(fd, Uint8Array.of(0xff), 0, 1, 3 * PROOF_RECORD_BYTES + PROOF_BLOCK_BYTES + 100);
    closeSync(fd);
    const other = new Uint8Array(256 * 32).fill(7);
    ix.write(5, other);
    expect(ix.read(5, 200)).toBeDefined();
    for (const index of [3 * 256 + 17, 5 * 256 + 200]) {
      const before = store.calls;
      const proof = await nodes.inclusionProof(index, N);
      expect(proof).toEqual(await buildInclusionProof(index, N, reference));
      verifyInclusion(leaves[index]!, index, N, proof, root);
      expect(store.calls).toBeGreaterThan(before); // built from storage
    }
    expect(ix.takeDamaged(10).sort()).toEqual([3, 5]);
    ix.close();
  });

  it('answers NOT_FOUND when storage lacks a tile, and serves tiles through its caches', async () => {
    const store = new Store(true);
    await store.grow(1000);
    const empty = new TreeNodes({ readTiles: async (ids) => ids.map(() => undefined) });
    await expect(empty.inclusionProof(5, 1000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const nodes = new TreeNodes(store);
    const t = await nodes.tileTree(0, 1, 1000);
    expect(t?.base).toEqual(store.rows.get('0/1'));
    const calls = store.calls;
    expect(await nodes.tileTree(0, 1, 1000)).toBe(t);
    expect(store.calls).toBe(calls);
    expect(await nodes.tileTree(0, 99, 1000)).toBeUndefined();
  });
});
