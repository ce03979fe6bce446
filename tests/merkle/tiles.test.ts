/**
 * tlog-tiles: paths, entry bundles, integration and proofs from tiles, checked against the
 * C2SP spec examples, the Tessera POSIX test log and Sunlight's 300-entry tile set
 * (../shared/vectors; each folder's README gives its source).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import type { StoredTile, TileId } from '../../src/log/storage/types.js';
import {
  buildInclusionProof,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/rfc9162.js';
import {
  consistencyProofFromTiles,
  encodeEntryBundle,
  entriesPath,
  inclusionProofFromTiles,
  integrate,
  nodeFromTiles,
  parseEntryBundle,
  parseTilePath,
  partialTilesForSize,
  type ReadTiles,
  TILE_WIDTH,
  tileNodeReader,
  tilePath,
  tilesForSize,
  treeHashFromTiles,
} from '../../src/merkle/tiles.js';

const VECTORS = path.resolve(process.cwd(), '../shared/vectors');
const enc = new TextEncoder();

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (!isVPauseError(e)) throw e;
    return e.code;
  }
}

/** An in-memory tile store that keeps the widest version of each tile, as the log does. */
class TileMap {
  readonly tiles = new Map<string, Uint8Array>();
  reads = 0;
  readonly read: ReadTiles = async (ids: TileId[]) => {
    this.reads++;
    return ids.map((id) => this.tiles.get(`${id.level}/${id.index}`));
  };
  write(tiles: readonly StoredTile[]): void {
    for (const t of tiles) {
      const k = `${t.level}/${t.index}`;
      const prev = this.tiles.get(k);
      expect(prev === undefined || prev.length <= t.data.length, `${k} never shrinks`).toBe(true);
      if (prev !== undefined) {
        // A grown tile keeps its old hashes: tiles are append-only.
        expect(
          Buffer.from(prev).equals(t.data.subarray(0, prev.length)),
          `${k} keeps its prefix`,
        ).toBe(true);
      }
      this.tiles.set(k, t.data);
    }
  }
}

const leafHashesOf = (n: number, tag = 'leaf') =>
  Array.from({ length: n }, (_, i) => hashLeaf(enc.encode(`${tag} ${i}`)));

/** The stored tiles as sorted "level/index:hex" strings, for cheap exact comparison. */
const hexTiles = (store: TileMap): string[] =>
  [...store.tiles.entries()].map(([k, d]) => `${k}:${Buffer.from(d).toString('hex')}`).sort();

async function integrateInBatches(leaves: readonly Uint8Array[], splits: readonly number[]) {
  const store = new TileMap();
  let size = 0;
  let rootHash: Uint8Array = new Uint8Array();
  for (const count of splits) {
    const r = await integrate(size, leaves.slice(size, size + count), store.read);
    expect(r.size).toBe(size + count);
    store.write(r.tiles);
    size = r.size;
    rootHash = r.rootHash;
  }
  return { store, size, rootHash };
}

// -----------------------------------------------------------------------------------------------

describe('tile paths', () => {
  const examples = JSON.parse(
    readFileSync(path.join(VECTORS, 'c2sp-spec-examples/c2sp-examples.json'), 'utf8'),
  ).tlog_tiles.paths as {
    level?: number;
    index: number;
    width?: number;
    entries?: boolean;
    path: string;
  }[];

  it.each(examples.map((e) => [e.path, e] as const))(
    'writes and parses the spec example %s',
    (p, e) => {
      const written = e.entries
        ? entriesPath(e.index, e.width)
        : tilePath({ level: e.level!, index: e.index, ...(e.width ? { width: e.width } : {}) });
      expect(written).toBe(p);
      expect(parseTilePath(p)).toEqual({
        level: e.entries ? 0 : e.level,
        index: e.index,
        width: e.width ?? 256,
        entries: e.entries === true,
      });
    },
  );

  it('writes index 0 as 000 and width 256 as a full tile', () => {
    expect(tilePath({ level: 0, index: 0 })).toBe('tile/0/000');
    expect(tilePath({ level: 3, index: 1000, width: 256 })).toBe('tile/3/x001/000');
    expect(tilePath({ level: 0, index: 1234, width: 5 })).toBe('tile/0/x001/234.p/5');
  });

  it.each([
    ['/tile/0/000', 'a leading slash'],
    ['tile/00/000', 'a level with a leading zero'],
    ['tile/64/000', 'a level above 63'],
    ['tile/0/00', 'a 2-digit index group'],
    ['tile/0/0000', 'a 4-digit index group'],
    ['tile/0/x000/001', 'a leading all-zero index group'],
    ['tile/0/001/002', 'an inner group without x'],
    ['tile/0/x001', 'a last group with x'],
    ['tile/0/000.p/0', 'width 0'],
    ['tile/0/000.p/256', 'width 256 as partial'],
    ['tile/0/000.p/300', 'width above 256'],
    ['tile/0/000.p/05', 'a width with a leading zero'],
    ['tile/0/000.p/', 'an empty width'],
    ['tile/0/000.P/5', 'an upper-case P'],
    ['tile/entries/000.p/5/', 'a trailing slash'],
    ['tile/data/000', 'an unknown kind'],
    ['tile/0/x009/x007/x199/x254/x740/992', 'an index above 2^53 − 1'],
    ['tile/0/000 ', 'trailing space'],
  ])('refuses %s (%s) with TILE_PATH_MALFORMED', async (p) => {
    expect(await codeOf(() => parseTilePath(p))).toBe('TILE_PATH_MALFORMED');
  });

  it('round-trips every tile and entries path (format then parse)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 63 }),
        fc.oneof(fc.nat(2000), fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.integer({ min: 1, max: 256 }),
        fc.boolean(),
        (level, index, width, entries) => {
          const p = entries ? entriesPath(index, width) : tilePath({ level, index, width });
          expect(parseTilePath(p)).toEqual({ level: entries ? 0 : level, index, width, entries });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('tilesForSize', () => {
  it('gives the spec inventory of a tree of 70,000', () => {
    const tiles = tilesForSize(70_000);
    const at = (level: number) => tiles.filter((t) => t.level === level);
    expect(at(0).filter((t) => t.width === 256).length).toBe(273);
    expect(at(0).filter((t) => t.width < 256)).toEqual([{ level: 0, index: 273, width: 112 }]);
    expect(at(1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(at(2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tiles.length).toBe(273 + 1 + 2 + 1);
  });

  it('gives a full level-0 tile and a 1-wide level-1 tile for a tree of 256, and nothing for 0', () => {
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForSize(0)).toEqual([]);
    expect(partialTilesForSize(256)).toEqual([{ level: 1, index: 0, width: 1 }]);
  });
});

describe('entry bundles', () => {
  it('round-trip any entries of 0..65,535 bytes, up to 256 of them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 256 }),
        (entries) => {
          const parsed = parseEntryBundle(encodeEntryBundle(entries), entries.length);
          expect(parsed.map((e) => Buffer.from(e))).toEqual(entries.map((e) => Buffer.from(e)));
        },
      ),
      { numRuns: 100 },
    );
    const big = new Uint8Array(65_535).fill(7);
    expect(parseEntryBundle(encodeEntryBundle([big]))[0]!.length).toBe(65_535);
  });

  it('writes big-endian uint16 lengths', () => {
    expect(
      Buffer.from(encodeEntryBundle([enc.encode('ab'), new Uint8Array(0)])).toString('hex'),
    ).toBe('000261620000');
  });

  it('refuses an entry of 65,536 bytes with ENTRY_TOO_LARGE', async () => {
    expect(await codeOf(() => encodeEntryBundle([new Uint8Array(65_536)]))).toBe('ENTRY_TOO_LARGE');
  });

  it.each([
    ['an empty bundle', new Uint8Array(0)],
    ['a truncated length', new Uint8Array([0x00, 0x01, 0x61, 0x00])],
    ['a truncated entry', new Uint8Array([0x00, 0x03, 0x61, 0x62])],
    ['257 entries', new Uint8Array(257 * 2)],
  ])('refuses %s with ENTRY_BUNDLE_MALFORMED', async (_, data) => {
    expect(await codeOf(() => parseEntryBundle(data))).toBe('ENTRY_BUNDLE_MALFORMED');
  });

  it('refuses a bundle with another count than expected with ENTRY_BUNDLE_MALFORMED', async () => {
    const b = encodeEntryBundle([enc.encode('a'), enc.encode('b')]);
    expect(await codeOf(() => parseEntryBundle(b, 3))).toBe('ENTRY_BUNDLE_MALFORMED');
  });
});

// -----------------------------------------------------------------------------------------------

describe('the Tessera POSIX test log (15 entries, a checkpoint per size)', () => {
  const DIR = path.join(VECTORS, 'tessera-testdata-log');
  const derived = JSON.parse(readFileSync(path.join(DIR, 'derived/proofs.json'), 'utf8')) as {
    entries_utf8: string[];
    leaf_hashes_b64: string[];
    roots_b64: string[];
    inclusion_proofs: { index: number; tree_size: number; proof_b64: string[] }[];
    consistency_proofs: { size1: number; size2: number; proof_b64: string[] }[];
  };
  /** The checkpoint body's three lines (origin, size, root); signatures are not checked here. */
  const checkpoint = (n: number) => {
    const [origin, size, root, blank] = readFileSync(
      path.join(DIR, `log/checkpoint.${n}`),
      'utf8',
    ).split('\n');
    expect(blank).toBe('');
    return { origin, size: Number(size), root: fromBase64(root!) };
  };
  const file = (p: string) => new Uint8Array(readFileSync(path.join(DIR, 'log', p)));
  /** The tiles of the tree at size n: the level-0 tile with width n (entries 0..n-1). */
  const tilesAt =
    (n: number): ReadTiles =>
    async (ids) =>
      ids.map((id) =>
        id.level === 0 && id.index === 0 && n > 0 ? file(`tile/0/000.p/${n}`) : undefined,
      );
  const entries = parseEntryBundle(file('tile/entries/000.p/15'), 15);
  const leaves = entries.map(hashLeaf);

  it('has entry bundle 000.p/15 holding the 15 entries "one".."fivten" whose leaf hashes are tile 0/000.p/15', () => {
    expect(entries.map((e) => Buffer.from(e).toString('utf8'))).toEqual(derived.entries_utf8);
    expect(Buffer.from(file('tile/0/000.p/15'))).toEqual(Buffer.concat(leaves));
    for (let n = 1; n <= 15; n++) {
      expect(
        parseEntryBundle(file(`tile/entries/000.p/${n}`), n).map((e) => Buffer.from(e)),
      ).toEqual(entries.slice(0, n).map((e) => Buffer.from(e)));
    }
  });

  it('recomputes the root of every checkpoint 0..15 from its tiles and from the leaves', async () => {
    for (let n = 0; n <= 15; n++) {
      const cp = checkpoint(n);
      expect(cp.origin).toBe('example.com/log/testdata');
      expect(cp.size).toBe(n);
      expect(Buffer.from(await treeHashFromTiles(n, tilesAt(n)))).toEqual(Buffer.from(cp.root));
      expect(Buffer.from(rootFromLeafHashes(leaves.slice(0, n)))).toEqual(Buffer.from(cp.root));
      expect(derived.roots_b64[n]).toBe(Buffer.from(cp.root).toString('base64'));
    }
  });

  it('integrates the entries one at a time into byte-identical tiles and the checkpoint roots', async () => {
    const store = new TileMap();
    for (let n = 1; n <= 15; n++) {
      const r = await integrate(n - 1, [leaves[n - 1]!], store.read);
      expect(r.tiles.map((t) => [t.level, t.index])).toEqual([[0, 0]]);
      expect(Buffer.from(r.tiles[0]!.data)).toEqual(Buffer.from(file(`tile/0/000.p/${n}`)));
      expect(Buffer.from(r.rootHash)).toEqual(Buffer.from(checkpoint(n).root));
      store.write(r.tiles);
    }
  });

  it('reads the 120 derived inclusion proofs from the tiles, and each verifies', async () => {
    expect(derived.inclusion_proofs.length).toBe(120);
    for (const { index, tree_size: n, proof_b64 } of derived.inclusion_proofs) {
      const proof = await inclusionProofFromTiles(index, n, tilesAt(n));
      expect(proof.map((h) => Buffer.from(h).toString('base64'))).toEqual(proof_b64);
      verifyInclusion(leaves[index]!, index, n, proof, checkpoint(n).root);
    }
  });

  it('reads the 120 derived consistency proofs from the tiles, and each verifies', async () => {
    expect(derived.consistency_proofs.length).toBe(120);
    for (const { size1: m, size2: n, proof_b64 } of derived.consistency_proofs) {
      const proof = await consistencyProofFromTiles(m, n, tilesAt(n));
      expect(proof.map((h) => Buffer.from(h).toString('base64'))).toEqual(proof_b64);
      verifyConsistency(m, n, proof, checkpoint(m).root, checkpoint(n).root);
    }
  });
});

describe("Sunlight's 300-entry tile set (full and partial tiles at levels 0 and 1)", () => {
  const DIR = path.join(
    VECTORS,
    'sunlight-skylight-testdata/witness/mirror/000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706',
  );
  const expected = new Map<string, Uint8Array>([
    ['0/0', new Uint8Array(readFileSync(path.join(DIR, 'tile/0/000')))],
    ['0/1', new Uint8Array(readFileSync(path.join(DIR, 'tile/0/001.p/44')))],
    ['1/0', new Uint8Array(readFileSync(path.join(DIR, 'tile/1/000.p/1')))],
  ]);
  const [, size, rootB64] = readFileSync(path.join(DIR, 'checkpoint'), 'utf8').split('\n');
  const root = fromBase64(rootB64!);
  const leaves = leafHashesOf(300, 'record');
  const files: ReadTiles = async (ids) => ids.map((id) => expected.get(`${id.level}/${id.index}`));

  it('has tiles 0/000 (8,192 bytes), 0/001.p/44 and 1/000.p/1 holding the leaf hashes of "record 0".."record 299"', () => {
    expect(size).toBe('300');
    expect(expected.get('0/0')!.length).toBe(8192);
    expect(Buffer.concat([expected.get('0/0')!, expected.get('0/1')!])).toEqual(
      Buffer.concat(leaves),
    );
    expect(Buffer.from(expected.get('1/0')!)).toEqual(
      Buffer.from(rootFromLeafHashes(leaves.slice(0, 256))),
    );
  });

  it('gives the checkpoint root from the tiles, and from the leaves', async () => {
    expect(Buffer.from(await treeHashFromTiles(300, files))).toEqual(Buffer.from(root));
    expect(Buffer.from(rootFromLeafHashes(leaves))).toEqual(Buffer.from(root));
  });

  it.each([
    [[300]],
    [[1, 299]],
    [[100, 156, 44]],
    [[255, 1, 44]],
    [[256, 44]],
    [[257, 43]],
    [[299, 1]],
    [[7, 250, 43]],
  ])(
    'integrates the 300 leaves in batches %j into byte-identical tiles and the checkpoint root',
    async (splits) => {
      const { store, rootHash } = await integrateInBatches(leaves, splits);
      expect([...store.tiles.keys()].sort()).toEqual(['0/0', '0/1', '1/0']);
      for (const [k, data] of expected)
        expect(Buffer.from(store.tiles.get(k)!), k).toEqual(Buffer.from(data));
      expect(Buffer.from(rootHash)).toEqual(Buffer.from(root));
    },
  );

  it('builds inclusion proofs across the level-1 tile from the tiles, each verifying', async () => {
    const reader = tileNodeReader(files);
    for (const i of [0, 1, 128, 255, 256, 270, 299]) {
      const proof = await inclusionProofFromTiles(i, 300, files);
      expect(proof).toEqual(inclusionProof(i, 300, leaves));
      expect(await buildInclusionProof(i, 300, reader)).toEqual(proof);
      verifyInclusion(leaves[i]!, i, 300, proof, root);
    }
  });

  it('reads a level-8 node from the level-1 tile and a level-3 node from inside a level-0 tile', async () => {
    expect(await nodeFromTiles(8, 0, files)).toEqual(rootFromLeafHashes(leaves.slice(0, 256)));
    expect(await nodeFromTiles(3, 33, files)).toEqual(rootFromLeafHashes(leaves.slice(264, 272)));
  });
});

// -----------------------------------------------------------------------------------------------

describe('integrate', () => {
  const LEAVES = leafHashesOf(1200);

  it('gives the same tiles and root in any batch split as in one batch, and as rootFromLeafHashes', async () => {
    const splitsOf = fc
      .array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 6 })
      .map((parts) => {
        const out: number[] = [];
        let total = 0;
        for (const p of parts) {
          const c = Math.min(p, 1200 - total);
          out.push(c);
          total += c;
        }
        return out;
      });
    await fc.assert(
      fc.asyncProperty(splitsOf, async (splits) => {
        const n = splits.reduce((a, b) => a + b, 0);
        const split = await integrateInBatches(LEAVES, splits);
        const whole = await integrateInBatches(LEAVES, [n]);
        expect(split.size).toBe(n);
        expect(split.rootHash).toEqual(whole.rootHash);
        expect(split.rootHash).toEqual(rootFromLeafHashes(LEAVES.slice(0, n)));
        expect(hexTiles(split.store)).toEqual(hexTiles(whole.store));
        // The stored tiles are exactly the tree's tiles, at their widths.
        const want = tilesForSize(n).map((t) => `${t.level}/${t.index}:${t.width}`);
        const got = [...split.store.tiles.entries()].map(([k, d]) => `${k}:${d.length / 32}`);
        expect(got.sort()).toEqual(want.sort());
      }),
      { numRuns: 25 },
    );
  });

  it('reads one batch of tiles per call, only the old partial tiles, and none for an empty tree', async () => {
    const store = new TileMap();
    const r0 = await integrate(0, LEAVES.slice(0, 300), store.read);
    expect(store.reads).toBe(0);
    store.write(r0.tiles);
    const asked: TileId[][] = [];
    const spy: ReadTiles = async (ids) => {
      asked.push(ids);
      return store.read(ids);
    };
    const r1 = await integrate(300, LEAVES.slice(300, 310), spy);
    expect(asked).toEqual([
      [
        { level: 0, index: 1 },
        { level: 1, index: 0 },
      ],
    ]);
    // Only the level-0 partial tile grew; level 1 did not change.
    expect(r1.tiles.map((t) => [t.level, t.index, t.data.length / 32])).toEqual([[0, 1, 54]]);
  });

  it('returns the old root and no tiles for an empty batch', async () => {
    const { store, rootHash } = await integrateInBatches(LEAVES, [513]);
    const r = await integrate(513, [], store.read);
    expect(r).toEqual({ size: 513, rootHash, tiles: [] });
  });

  it('fills a level-1 tile past 65,536 leaves and carries its root to level 2', async () => {
    const n = 65_536 + 300;
    const many = Array.from({ length: n }, (_, i) => {
      const b = new Uint8Array(32);
      new DataView(b.buffer).setUint32(0, i);
      return b;
    });
    const split = await integrateInBatches(many, [40_000, 25_536, 300]);
    const whole = await integrateInBatches(many, [n]);
    expect(split.rootHash).toEqual(whole.rootHash);
    expect(split.rootHash).toEqual(rootFromLeafHashes(many));
    expect(split.store.tiles.get('1/0')!.length).toBe(8192);
    expect(split.store.tiles.get('2/0')!.length).toBe(32);
    expect(split.store.tiles.get('2/0')).toEqual(rootFromLeafHashes(many.slice(0, 65_536)));
    expect(await treeHashFromTiles(n, split.store.read)).toEqual(split.rootHash);
    for (const i of [0, 65_535, 65_536, n - 1]) {
      const proof = await inclusionProofFromTiles(i, n, split.store.read);
      verifyInclusion(many[i]!, i, n, proof, split.rootHash);
    }
    const cproof = await consistencyProofFromTiles(65_000, n, split.store.read);
    verifyConsistency(65_000, n, cproof, rootFromLeafHashes(many.slice(0, 65_000)), split.rootHash);
  });

  it('proofs read from tiles equal the in-memory proofs for random trees', async () => {
    const { store } = await integrateInBatches(LEAVES, [1200]);
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 1200 })
          .chain((n) => fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.constant(n))),
        async ([i, n]) => {
          // Tiles of the 1200 tree also serve any smaller tree: stored tiles only grow.
          expect(await inclusionProofFromTiles(i, n, store.read)).toEqual(
            inclusionProof(i, n, LEAVES),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses to integrate when an old partial tile is missing (TILE_MISSING) or malformed (TILE_MALFORMED)', async () => {
    const { store } = await integrateInBatches(LEAVES, [300]);
    const missing: ReadTiles = async (ids) => ids.map(() => undefined);
    expect(await codeOf(() => integrate(300, [LEAVES[300]!], missing))).toBe('TILE_MISSING');
    const narrow: ReadTiles = async (ids) => (await store.read(ids)).map((d) => d?.subarray(0, 32));
    expect(await codeOf(() => integrate(300, [LEAVES[300]!], narrow))).toBe('TILE_MISSING');
    const ragged: ReadTiles = async (ids) => (await store.read(ids)).map((d) => d?.subarray(0, 33));
    expect(await codeOf(() => integrate(300, [LEAVES[300]!], ragged))).toBe('TILE_MALFORMED');
  });

  it('refuses a leaf hash that is not 32 bytes (PROOF_MALFORMED) and a bad size (MERKLE_RANGE)', async () => {
    const none: ReadTiles = async (ids) => ids.map(() => undefined);
    expect(await codeOf(() => integrate(0, [new Uint8Array(31)], none))).toBe('PROOF_MALFORMED');
    expect(await codeOf(() => integrate(-1, [], none))).toBe('MERKLE_RANGE');
    expect(await codeOf(() => integrate(Number.MAX_SAFE_INTEGER, [LEAVES[0]!], none))).toBe(
      'MERKLE_RANGE',
    );
  });
});

it('the vector folders are present', () => {
  expect(existsSync(VECTORS)).toBe(true);
  expect(TILE_WIDTH).toBe(256);
});
