/**
 * Sample commitments built with merkletreejs must be RFC 9162 trees: same roots as
 * rootFromLeafHashes, proofs that our verifier accepts and that equal our own proofs.
 */
import fc from 'fast-check';
import { MerkleTree } from 'merkletreejs';
import { describe, expect, it } from 'vitest';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  emptyRoot,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
  verifyInclusion,
} from '../../src/merkle/rfc9162.js';
import { commitSamples, verifySample } from '../../src/merkle/samples.js';

const enc = new TextEncoder();
const SAMPLES = Array.from({ length: 300 }, (_, i) =>
  enc.encode(JSON.stringify({ t: i * 0.125, gpu: i % 8, w: 700 - (i % 13) })),
);

function codeOf(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!isVPauseError(e)) throw e;
    return e.code;
  }
}

describe('commitSamples (merkletreejs configured as an RFC 9162 tree)', () => {
  it('gives the RFC 9162 root for every size 1..300, and proofs for every index that verifyInclusion accepts', () => {
    for (let n = 1; n <= 300; n++) {
      const samples = SAMPLES.slice(0, n);
      const leaves = samples.map(hashLeaf);
      const c = commitSamples(samples);
      expect(c.count).toBe(n);
      expect(Buffer.from(c.root).equals(rootFromLeafHashes(leaves)), `root of ${n}`).toBe(true);
      for (let i = 0; i < n; i++) verifySample(samples[i]!, i, n, c.proof(i), c.root);
    }
  });

  it('gives proofs equal to our RFC 9162 generator (every index up to size 40; first, middle and last beyond)', () => {
    for (let n = 1; n <= 300; n++) {
      const leaves = SAMPLES.slice(0, n).map(hashLeaf);
      const c = commitSamples(SAMPLES.slice(0, n));
      const indexes = n <= 40 ? [...Array(n).keys()] : [0, n >> 1, n - 1];
      for (const i of indexes) {
        const hex = (list: Uint8Array[]) => list.map((h) => Buffer.from(h).toString('hex'));
        expect(hex(c.proof(i)), `${i}/${n}`).toEqual(hex(inclusionProof(i, n, leaves)));
      }
    }
  });

  it('gives each copy of a repeated sample the proof of its own position (the index is passed to merkletreejs)', () => {
    const x = enc.encode('idle');
    const c = commitSamples([x, enc.encode('busy'), x]);
    verifySample(x, 0, 3, c.proof(0), c.root);
    verifySample(x, 2, 3, c.proof(2), c.root);
    expect(c.proof(0).length).toBe(2);
    expect(c.proof(2).length).toBe(1);
    expect(codeOf(() => verifySample(x, 0, 3, c.proof(2), c.root))).toBe('PROOF_MALFORMED');
  });

  it('rejects a disclosed sample that differs from the committed one with PROOF_INVALID', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
        (n, k, other) => {
          const i = k % n;
          fc.pre(!Buffer.from(other).equals(SAMPLES[i]!));
          const c = commitSamples(SAMPLES.slice(0, n));
          expect(codeOf(() => verifySample(other, i, n, c.proof(i), c.root))).toBe('PROOF_INVALID');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('commits to no samples with the empty-tree root and refuses proofs outside the samples (MERKLE_RANGE)', () => {
    const empty = commitSamples([]);
    expect(empty.count).toBe(0);
    expect(empty.root).toEqual(emptyRoot());
    expect(codeOf(() => empty.proof(0))).toBe('MERKLE_RANGE');
    const c = commitSamples(SAMPLES.slice(0, 3));
    expect(codeOf(() => c.proof(3))).toBe('MERKLE_RANGE');
    expect(codeOf(() => c.proof(-1))).toBe('MERKLE_RANGE');
    expect(c.leafHash(2)).toEqual(hashLeaf(SAMPLES[2]!));
  });

  it('needs the configuration: merkletreejs with default options and leaves hashed by it gives another root', () => {
    // Documents why samples.ts sets the 0x01 node prefix and pre-hashes leaves with 0x00.
    const naive = new MerkleTree(
      SAMPLES.slice(0, 5).map((s) => Buffer.from(s)),
      (d: Buffer) => Buffer.from(sha256(d)),
      {
        hashLeaves: true,
      },
    );
    expect(Buffer.from(naive.getRoot()).equals(commitSamples(SAMPLES.slice(0, 5)).root)).toBe(
      false,
    );
  });

  it("shows why proofs are checked with our verifier: merkletreejs's verify ignores the index", () => {
    const samples = SAMPLES.slice(0, 4);
    const c = commitSamples(samples);
    const tree = new MerkleTree(
      samples.map((s) => Buffer.from(hashLeaf(s))),
      (d: Buffer) => Buffer.from(sha256(d)),
      {
        concatenator: (inputs: Buffer[]) => Buffer.concat([Buffer.from([1]), ...inputs]),
      },
    );
    const leaf = Buffer.from(hashLeaf(samples[1]!));
    const proof = tree.getProof(leaf, 1);
    // merkletreejs has no index argument to verify: the claim "this is sample 2" cannot be refused.
    expect(tree.verify(proof, leaf, Buffer.from(c.root))).toBe(true);
    expect(codeOf(() => verifyInclusion(leaf, 2, 4, c.proof(1), c.root))).toBe('PROOF_INVALID');
  });
});
