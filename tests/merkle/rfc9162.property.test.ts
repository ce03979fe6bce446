/**
 * Properties of the RFC 9162 tree and proofs (fast-check), and the refusals of malformed input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  buildConsistencyProof,
  buildInclusionProof,
  consistencyProof,
  consistencyProofNodes,
  emptyRoot,
  hashChildren,
  hashChildrenInto,
  hashLeaf,
  hashLeafInto,
  inclusionProof,
  inclusionProofNodes,
  type ProofElement,
  rangeNodes,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/rfc9162.js';
import {
  isValidSubtree,
  subtreeConsistencyProof,
  verifySubtreeConsistency,
  verifySubtreeInclusion,
} from '../../src/merkle/subtree.js';

const RUNS = { numRuns: 150 };

/** Deterministic distinct leaf hashes, computed once. */
const LEAVES: Uint8Array[] = Array.from({ length: 600 }, (_, i) =>
  hashLeaf(new TextEncoder().encode(`leaf ${i}`)),
);

/** MTH by the RFC 9162 recursive definition, independent of the iterative implementation. */
function mthRecursive(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(mthRecursive(leaves.slice(0, k)), mthRecursive(leaves.slice(k)));
}

const getNode = async (level: number, index: number) =>
  rootFromLeafHashes(LEAVES.slice(index * 2 ** level, (index + 1) * 2 ** level));

function codeOf(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!isVPauseError(e)) throw e;
    return e.code;
  }
}

function flipByte(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at % c.length]! ^= 1 << (at % 8);
  return c;
}

/**
 * The sequence of sibling sides a proof has, from the generator's plan: an element left of the
 * proven leaf (or of the old tree's end) is combined on the left. The verifier's result depends
 * only on this shape and the hashes, so a proof can only verify under other (index, size) when
 * the shapes are equal — a known property of RFC 9162 proofs, which do not commit to the size.
 */
const inclusionShape = (i: number, n: number): string =>
  inclusionProofNodes(i, n)
    .map((el: ProofElement) => (el.end <= i ? 'L' : 'R'))
    .join('');
const consistencyShape = (m: number, n: number): string => {
  const pow2 = (m & (m - 1)) === 0;
  const sides = consistencyProofNodes(m, n).map((el) => (el.end <= m ? 'L' : 'R'));
  return (pow2 ? 'root+' : 'seed+') + sides.slice(pow2 ? 0 : 1).join('');
};

describe('the Merkle Tree Hash', () => {
  it('of no leaves is SHA-256 of the empty string', () => {
    expect(Buffer.from(emptyRoot()).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('rootFromLeafHashes equals the recursive RFC 9162 definition for every size 0..300', () => {
    for (let n = 0; n <= 300; n++) {
      expect(Buffer.from(rootFromLeafHashes(LEAVES.slice(0, n)))).toEqual(
        Buffer.from(mthRecursive(LEAVES.slice(0, n))),
      );
    }
  });

  it('refuses a leaf hash that is not 32 bytes with PROOF_MALFORMED', () => {
    expect(codeOf(() => rootFromLeafHashes([LEAVES[0]!, new Uint8Array(31)]))).toBe(
      'PROOF_MALFORMED',
    );
  });
});

describe('inclusion proofs for random trees', () => {
  const tree = fc
    .integer({ min: 1, max: 520 })
    .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));

  it('verify, and the node-plan builder gives the same hashes as the in-memory generator', async () => {
    await fc.assert(
      fc.asyncProperty(tree, async ([n, i]) => {
        const root = rootFromLeafHashes(LEAVES.slice(0, n));
        const proof = inclusionProof(i, n, LEAVES);
        verifyInclusion(LEAVES[i]!, i, n, proof, root);
        expect(await buildInclusionProof(i, n, getNode)).toEqual(proof);
      }),
      RUNS,
    );
  });

  it('fail with PROOF_INVALID after any one-bit change to a proof hash, the leaf hash or the root', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(), ([n, i], pick, at) => {
        const root = rootFromLeafHashes(LEAVES.slice(0, n));
        const proof = inclusionProof(i, n, LEAVES);
        const targets = proof.length + 2;
        const t = pick % targets;
        const p2 = proof.map((h, k) => (k === t ? flipByte(h, at) : h));
        const leaf = t === proof.length ? flipByte(LEAVES[i]!, at) : LEAVES[i]!;
        const r = t === proof.length + 1 ? flipByte(root, at) : root;
        expect(codeOf(() => verifyInclusion(leaf, i, n, p2, r))).toBe('PROOF_INVALID');
      }),
      RUNS,
    );
  });

  it('fail when the index changes within the same tree', () => {
    fc.assert(
      fc.property(tree, fc.nat(), ([n, i], j0) => {
        fc.pre(n > 1);
        const j = (i + 1 + (j0 % (n - 1))) % n; // any other index of the tree
        const root = rootFromLeafHashes(LEAVES.slice(0, n));
        const proof = inclusionProof(i, n, LEAVES);
        expect(['PROOF_INVALID', 'PROOF_MALFORMED']).toContain(
          codeOf(() => verifyInclusion(LEAVES[i]!, j, n, proof, root)),
        );
      }),
      RUNS,
    );
  });

  it('fail when the size changes, except for a size with the same proof shape', () => {
    fc.assert(
      fc.property(tree, fc.integer({ min: 1, max: 600 }), ([n, i], n2) => {
        fc.pre(n2 !== n);
        const root = rootFromLeafHashes(LEAVES.slice(0, n));
        const proof = inclusionProof(i, n, LEAVES);
        const got = codeOf(() => verifyInclusion(LEAVES[i]!, i, n2, proof, root));
        if (i < n2 && inclusionShape(i, n2) === inclusionShape(i, n)) {
          expect(got).toBe('ok');
        } else {
          expect(['PROOF_INVALID', 'PROOF_MALFORMED']).toContain(got);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('do not commit to the size: the size-4 proof of leaf 0 also verifies as size 3 (why checkpoints sign the size)', () => {
    const root4 = rootFromLeafHashes(LEAVES.slice(0, 4));
    const proof = inclusionProof(0, 4, LEAVES);
    expect(codeOf(() => verifyInclusion(LEAVES[0]!, 0, 3, proof, root4))).toBe('ok');
  });

  it('fail with PROOF_MALFORMED when a hash is dropped or added', () => {
    fc.assert(
      fc.property(tree, fc.boolean(), ([n, i], drop) => {
        const root = rootFromLeafHashes(LEAVES.slice(0, n));
        const proof = inclusionProof(i, n, LEAVES);
        fc.pre(!drop || proof.length > 0);
        const p2 = drop ? proof.slice(1) : [...proof, root];
        expect(codeOf(() => verifyInclusion(LEAVES[i]!, i, n, p2, root))).toBe('PROOF_MALFORMED');
      }),
      RUNS,
    );
  });

  it('cover every leaf but the proven one exactly once (plan ranges partition [0, size)), up to 2^53 − 1', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        ([n, i]) => {
          const plan = inclusionProofNodes(i, n);
          const ranges = [...plan.map((el) => [el.start, el.end] as const), [i, i + 1] as const];
          ranges.sort((a, b) => a[0] - b[0]);
          let at = 0;
          for (const [s, e] of ranges) {
            expect(s).toBe(at);
            at = e;
          }
          expect(at).toBe(n);
          // Each element's nodes are complete subtrees tiling exactly its range.
          for (const el of plan) {
            let lo = el.start;
            for (const node of el.nodes) {
              expect(node.index * 2 ** node.level).toBe(lo);
              lo += 2 ** node.level;
            }
            expect(lo).toBe(el.end);
          }
          expect(plan.length).toBeLessThanOrEqual(53);
        },
      ),
      RUNS,
    );
  });
});

describe('consistency proofs for random trees', () => {
  const sizes = fc
    .integer({ min: 1, max: 520 })
    .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));

  it('verify, and the node-plan builder gives the same hashes as the in-memory generator', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, async ([m, n]) => {
        const proof = consistencyProof(m, n, LEAVES);
        const r1 = rootFromLeafHashes(LEAVES.slice(0, m));
        const r2 = rootFromLeafHashes(LEAVES.slice(0, n));
        verifyConsistency(m, n, proof, r1, r2);
        expect(await buildConsistencyProof(m, n, getNode)).toEqual(proof);
        // RFC 9162 consistency from m is the MTC subtree consistency of [0, m).
        verifySubtreeConsistency(0, m, n, proof, r1, r2);
      }),
      RUNS,
    );
  });

  it('fail with PROOF_INVALID after any one-bit change to a proof hash or either root', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), ([m, n], pick, at) => {
        const proof = consistencyProof(m, n, LEAVES);
        const r1 = rootFromLeafHashes(LEAVES.slice(0, m));
        const r2 = rootFromLeafHashes(LEAVES.slice(0, n));
        const t = pick % (proof.length + 2);
        const p2 = proof.map((h, k) => (k === t ? flipByte(h, at) : h));
        const a = t === proof.length ? flipByte(r1, at) : r1;
        const b = t === proof.length + 1 ? flipByte(r2, at) : r2;
        expect(codeOf(() => verifyConsistency(m, n, p2, a, b))).toBe('PROOF_INVALID');
      }),
      RUNS,
    );
  });

  it('fail when either size changes, except for sizes with the same proof shape', () => {
    fc.assert(
      fc.property(sizes, fc.integer({ min: 1, max: 600 }), fc.boolean(), ([m, n], s, old) => {
        const [m2, n2] = old ? [s, n] : [m, s];
        fc.pre(m2 !== m || n2 !== n);
        const proof = consistencyProof(m, n, LEAVES);
        const r1 = rootFromLeafHashes(LEAVES.slice(0, m));
        const r2 = rootFromLeafHashes(LEAVES.slice(0, n));
        const got = codeOf(() => verifyConsistency(m2, n2, proof, r1, r2));
        // Equal sizes need an empty proof and equal roots, which only an m = n proof has.
        const same =
          (m2 === n2 && m === n) ||
          (m2 < n2 && m < n && consistencyShape(m2, n2) === consistencyShape(m, n));
        if (same) expect(got).toBe('ok');
        else expect(['PROOF_INVALID', 'PROOF_MALFORMED']).toContain(got);
      }),
      { numRuns: 400 },
    );
  });

  it('refuse an old size of 0 and an old size above the new with PROOF_MALFORMED', () => {
    const r = rootFromLeafHashes(LEAVES.slice(0, 3));
    expect(codeOf(() => verifyConsistency(0, 3, [], emptyRoot(), r))).toBe('PROOF_MALFORMED');
    expect(codeOf(() => verifyConsistency(0, 0, [], emptyRoot(), emptyRoot()))).toBe(
      'PROOF_MALFORMED',
    );
    expect(codeOf(() => verifyConsistency(4, 3, [], r, r))).toBe('PROOF_MALFORMED');
  });
});

describe('MTC subtree proofs for random valid subtrees', () => {
  const subtrees = fc
    .tuple(fc.integer({ min: 0, max: 8 }), fc.nat(), fc.nat(), fc.nat())
    .map(([h, a, b, c]) => {
      const span = 2 ** h;
      const start = (a % Math.floor(500 / span + 1)) * span;
      const end = start + 1 + (b % span);
      const size = end + (c % (520 - end + 1));
      return { start, end, size };
    })
    .filter(({ start, end, size }) => isValidSubtree(start, end) && end <= size && size <= 520);

  it('subtree consistency proofs verify and any one-bit change fails with PROOF_INVALID', () => {
    fc.assert(
      fc.property(subtrees, fc.nat(), fc.nat(), ({ start, end, size }, pick, at) => {
        const proof = subtreeConsistencyProof(start, end, size, LEAVES);
        const sub = rootFromLeafHashes(LEAVES.slice(start, end));
        const root = rootFromLeafHashes(LEAVES.slice(0, size));
        verifySubtreeConsistency(start, end, size, proof, sub, root);
        const t = pick % (proof.length + 2);
        const p2 = proof.map((h, k) => (k === t ? flipByte(h, at) : h));
        const s2 = t === proof.length ? flipByte(sub, at) : sub;
        const r2 = t === proof.length + 1 ? flipByte(root, at) : root;
        expect(codeOf(() => verifySubtreeConsistency(start, end, size, p2, s2, r2))).toBe(
          'PROOF_INVALID',
        );
      }),
      RUNS,
    );
  });

  it('subtree inclusion of every index verifies against the subtree hash', () => {
    fc.assert(
      fc.property(subtrees, fc.nat(), ({ start, end }, k) => {
        const i = start + (k % (end - start));
        const local = LEAVES.slice(start, end);
        const proof = inclusionProof(i - start, end - start, local);
        verifySubtreeInclusion(LEAVES[i]!, i, start, end, proof, rootFromLeafHashes(local));
      }),
      RUNS,
    );
  });

  it('isValidSubtree accepts aligned non-empty ranges only', () => {
    expect(isValidSubtree(4, 6)).toBe(true);
    expect(isValidSubtree(0, 5)).toBe(true);
    expect(isValidSubtree(2, 5)).toBe(false);
    expect(isValidSubtree(1, 1)).toBe(false);
    expect(isValidSubtree(2, 1)).toBe(false);
  });
});

describe('when an argument is malformed', () => {
  const root = rootFromLeafHashes(LEAVES.slice(0, 5));
  const proof = inclusionProof(2, 5, LEAVES);
  it.each([
    ['index = size', () => verifyInclusion(LEAVES[5]!, 5, 5, proof, root)],
    ['a negative index', () => verifyInclusion(LEAVES[2]!, -1, 5, proof, root)],
    ['a fractional size', () => verifyInclusion(LEAVES[2]!, 2, 5.5, proof, root)],
    ['a size of 2^53', () => verifyInclusion(LEAVES[2]!, 2, 2 ** 53, proof, root)],
    ['a 31-byte root', () => verifyInclusion(LEAVES[2]!, 2, 5, proof, root.slice(1))],
    ['a 33-byte proof hash', () => verifyInclusion(LEAVES[2]!, 2, 5, [new Uint8Array(33)], root)],
    ['65 proof hashes', () => verifyInclusion(LEAVES[2]!, 2, 5, Array(65).fill(root), root)],
    ['a 0-byte leaf hash', () => rootFromInclusionProof(new Uint8Array(0), 2, 5, proof)],
  ])('refuses %s with PROOF_MALFORMED', (_, f) => {
    expect(codeOf(f)).toBe('PROOF_MALFORMED');
  });

  it.each([
    ['inclusionProof with index = size', () => inclusionProof(3, 3, LEAVES)],
    ['inclusionProof with size > leaves', () => inclusionProof(0, 601, LEAVES)],
    ['consistencyProof from 0', () => consistencyProof(0, 3, LEAVES)],
    ['consistencyProofNodes with old > new', () => consistencyProofNodes(4, 3)],
    ['inclusionProofNodes with a non-integer', () => inclusionProofNodes(0.5, 3)],
    ['rangeNodes on an unaligned range', () => rangeNodes(2, 5)],
  ])('generation refuses %s with MERKLE_RANGE', (_, f) => {
    expect(codeOf(f)).toBe('MERKLE_RANGE');
  });
});

describe('the hashing helpers that write into packed columns', () => {
  it('hashLeafInto writes hashLeaf at the offset and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(64), (data, at) => {
        const out = new Uint8Array(at + 40).fill(7);
        hashLeafInto(data, out, at);
        expect(out.subarray(at, at + 32)).toEqual(hashLeaf(data));
        expect(out.subarray(0, at)).toEqual(new Uint8Array(at).fill(7));
        expect(out.subarray(at + 32)).toEqual(new Uint8Array(8).fill(7));
      }),
      RUNS,
    );
  });

  it('hashChildrenInto gives hashChildren, also folding a level in place over its children', () => {
    const level = new Uint8Array(32 * 8);
    for (let i = 0; i < 8; i++) level.set(LEAVES[i]!, 32 * i);
    for (let i = 0; i < 8; i += 2) {
      hashChildrenInto(
        level.subarray(32 * i, 32 * i + 32),
        level.subarray(32 * i + 32, 32 * i + 64),
        level,
        16 * i,
      );
    }
    for (let j = 0; j < 4; j++) {
      expect(level.subarray(32 * j, 32 * j + 32)).toEqual(
        hashChildren(LEAVES[2 * j]!, LEAVES[2 * j + 1]!),
      );
    }
  });
});
