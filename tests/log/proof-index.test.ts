/**
 * The proof index file (src/log/proof-index.ts): each block holds exactly the subtree hashes a
 * proof through its 16 leaves needs, a block that is torn, flipped or misplaced fails its check,
 * a crash's lost or torn tail is walked back over on open, and writes keep the covered prefix
 * contiguous.
 */
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  blockNode,
  blockOf,
  checkProofBlock,
  encodeProofRecord,
  PROOF_BLOCK_BYTES,
  PROOF_RECORD_BYTES,
  ProofIndex,
} from '../../src/log/proof-index.js';
import { TileTree } from '../../src/log/tile-tree.js';

const tmp = mkdtempSync(join(tmpdir(), 'vpause-proof-index-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `ix-${n++}.bin`);

function tile(seed: number): Uint8Array {
  const out = new Uint8Array(256 * 32);
  for (let i = 0; i < 256; i++) out.set(sha256(new TextEncoder().encode(`${seed}/${i}`)), i * 32);
  return out;
}

const block = (rec: Uint8Array, b: number) =>
  rec.subarray(b * PROOF_BLOCK_BYTES, (b + 1) * PROOF_BLOCK_BYTES);

describe('proof records', () => {
  it('hold in each block its sub-level 0..3 hashes and the tile’s sub-level 4..8 hashes', () => {
    const base = tile(1);
    const rec = new Uint8Array(PROOF_RECORD_BYTES);
    encodeProofRecord(42, base, rec);
    const tree = new TileTree(base);
    for (let b = 0; b < 16; b++) {
      expect(checkProofBlock(42, b, block(rec, b))).toBe(true);
      for (let r = 0; r <= 8; r++) {
        for (let j = 0; j < 256 >> r; j++) {
          const inBlock = r >= 4 || Math.floor((j << r) / 16) === b;
          expect(blockNode(block(rec, b), b, r, j)).toEqual(inBlock ? tree.node(r, j) : undefined);
        }
      }
    }
    // Every sibling of every leaf's path is in the leaf's block.
    for (let o = 0; o < 256; o++) {
      for (let r = 0; r < 8; r++) {
        const sib = (o >> r) ^ 1;
        expect(blockNode(block(rec, blockOf(o)), blockOf(o), r, sib)).toEqual(tree.node(r, sib));
      }
    }
    expect(checkProofBlock(43, 0, block(rec, 0))).toBe(false);
    expect(checkProofBlock(42 + 2 ** 32, 0, block(rec, 0))).toBe(false);
    expect(checkProofBlock(42, 1, block(rec, 0))).toBe(false);
  });

  it('fail their check when any byte before the CRC changes', () => {
    const rec = new Uint8Array(PROOF_RECORD_BYTES);
    encodeProofRecord(7, tile(2), rec);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 1_967 }),
        fc.integer({ min: 1, max: 255 }),
        (b, at, x) => {
          const bad = block(rec, b).slice();
          bad[at]! ^= x;
          expect(checkProofBlock(7, b, bad)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse a tile that is not full', () => {
    expect(() =>
      encodeProofRecord(0, new Uint8Array(255 * 32), new Uint8Array(PROOF_RECORD_BYTES)),
    ).toThrow(RangeError);
  });
});

describe('ProofIndex', () => {
  it('covers a contiguous prefix, rewrites in place, and reopens to the same coverage', () => {
    const path = fresh();
    const ix = ProofIndex.open(path);
    expect(ix.covered).toBe(0);
    expect(ix.read(0, 0)).toBeUndefined();
    for (let t = 0; t < 5; t++) ix.write(t, tile(t));
    expect(ix.covered).toBe(5);
    expect(() => ix.write(7, tile(7))).toThrow(RangeError);
    expect(blockNode(ix.read(3, 9)!, 0, 0, 9)).toEqual(tile(3).subarray(9 * 32, 10 * 32));
    expect(blockNode(ix.read(3, 200)!, 12, 0, 200)).toEqual(tile(3).subarray(200 * 32, 201 * 32));
    ix.write(2, tile(20)); // a rewrite does not move the prefix
    expect(ix.covered).toBe(5);
    expect(blockNode(ix.read(2, 0)!, 0, 0, 0)).toEqual(tile(20).subarray(0, 32));
    ix.close();
    expect(() => ix.write(5, tile(5))).toThrow(/closed/);
    const again = ProofIndex.open(path);
    expect(again.covered).toBe(5);
    expect(blockNode(again.read(4, 255)!, 15, 8, 0)).toEqual(new TileTree(tile(4)).node(8, 0));
    again.close();
  });

  it('walks back over a torn or lost tail on open', () => {
    const path = fresh();
    const ix = ProofIndex.open(path);
    for (let t = 0; t < 6; t++) ix.write(t, tile(t));
    ix.close();
    // A crash in the middle of record 5, then one whose last block of record 4 never reached
    // the disk.
    truncateSync(path, 5 * PROOF_RECORD_BYTES + 1000);
    let re = ProofIndex.open(path);
    expect(re.covered).toBe(5);
    re.close();
    const fd = openSync(path, 'r+');
    const at = 5 * PROOF_RECORD_BYTES - PROOF_BLOCK_BYTES;
    writeSync(fd, new Uint8Array(PROOF_BLOCK_BYTES), 0, PROOF_BLOCK_BYTES, at);
    closeSync(fd);
    re = ProofIndex.open(path);
    expect(re.covered).toBe(4);
    re.write(4, tile(4)); // the catch-up rewrites from there
    expect(re.covered).toBe(5);
    re.close();
  });

  it('queues a tile whose block fails its check, and resets to nothing', () => {
    const path = fresh();
    const ix = ProofIndex.open(path);
    for (let t = 0; t < 3; t++) ix.write(t, tile(t));
    const bytes = readFileSync(path);
    const at = PROOF_RECORD_BYTES + 3 * PROOF_BLOCK_BYTES + 5; // tile 1, block 3
    bytes[at]! ^= 1;
    const fd = openSync(path, 'r+');
    writeSync(fd, bytes, at, 1, at);
    closeSync(fd);
    expect(ix.read(1, 3 * 16 + 2)).toBeUndefined();
    expect(ix.read(1, 0)).toBeDefined(); // other blocks of the tile still read
    expect(ix.read(0, 50)).toBeDefined();
    ix.markDamaged(2);
    ix.markDamaged(9); // beyond the covered prefix: nothing to repair
    expect(ix.takeDamaged(1)).toEqual([1]);
    expect(ix.takeDamaged(5)).toEqual([2]);
    expect(ix.takeDamaged(5)).toEqual([]);
    ix.reset();
    expect(ix.covered).toBe(0);
    expect(ix.read(0, 0)).toBeUndefined();
    ix.close();
  });
});
