/**
 * Subtree inclusion and consistency proofs of the Merkle Tree Certificates draft
 * (draft-ietf-plants-merkle-tree-certs §4.3–4.4), which C2SP tlog-witness `sign-subtree` and
 * subtree cosignatures build on. A subtree [start, end) of a tree is valid when
 * start < end and start is a multiple of the smallest power of two ≥ end − start; its hash is
 * MTH(D[start:end]).
 *
 * An RFC 9162 consistency proof from m to n is the subtree consistency proof of [0, m) in the
 * tree of size n, so the regular verifier in rfc9162.ts and this one agree there.
 *
 * Like transparency-dev/merkle, the empty subtree [s, s) (s ≤ size) is accepted by the
 * consistency verifier with an empty proof when its hash is MTH({}) = SHA-256(""): it is
 * vacuously part of every tree. Every hash argument, the unused tree root included, must still
 * be 32 bytes.
 *
 * The verifier follows the draft's procedure (its fn/sn/tn names); the comments paraphrase it.
 *
 * Pure: no I/O.
 */
import { bytesEqual } from '../core/bytes.js';
import { merkleError } from './errors.js';
import {
  bitCeil,
  checkHash,
  checkProof,
  checkRange,
  checkVerifierCount,
  half,
  isOdd,
  splitPoint,
} from './internal.js';
import { emptyRoot, hashChildren, rootFromInclusionProof, rootFromLeafHashes } from './rfc9162.js';

/** Whether [start, end) is a valid (non-empty, aligned) subtree. Never throws. */
export function isValidSubtree(start: number, end: number): boolean {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return false;
  if (start < 0 || end <= start) return false;
  return start % bitCeil(end - start) === 0;
}

/**
 * Verifies that `leafHash` is the entry at `index` of the subtree [start, end) whose hash is
 * `subtreeHash` (MTC draft §4.3.3: the RFC 9162 inclusion check of index − start in a tree of
 * end − start leaves).
 * @throws {MerkleError} PROOF_MALFORMED when an argument is malformed, the subtree is not valid,
 *   or index is outside it; PROOF_INVALID when the proof does not lead to `subtreeHash`
 */
export function verifySubtreeInclusion(
  leafHash: Uint8Array,
  index: number,
  start: number,
  end: number,
  proof: readonly Uint8Array[],
  subtreeHash: Uint8Array,
): void {
  checkVerifierCount(index, 'index');
  checkVerifierCount(start, 'start');
  checkVerifierCount(end, 'end');
  checkHash(subtreeHash, 'subtreeHash');
  if (!isValidSubtree(start, end)) {
    throw merkleError('PROOF_MALFORMED', `[${start}, ${end}) is not a valid subtree`);
  }
  if (index < start || index >= end) {
    throw merkleError('PROOF_MALFORMED', 'index is outside the subtree');
  }
  const r = rootFromInclusionProof(leafHash, index - start, end - start, proof);
  if (!bytesEqual(r, subtreeHash)) {
    throw merkleError('PROOF_INVALID', 'inclusion proof does not lead to the subtree hash');
  }
}

/**
 * Verifies that the subtree [start, end) with hash `subtreeHash` is part of the tree of `size`
 * leaves with root `root` (MTC draft §4.4.3).
 * @throws {MerkleError} PROOF_MALFORMED when an argument is malformed, the subtree is not valid
 *   or not inside the tree, or the proof has the wrong length; PROOF_INVALID when the proof
 *   does not lead to both hashes
 */
export function verifySubtreeConsistency(
  start: number,
  end: number,
  size: number,
  proof: readonly Uint8Array[],
  subtreeHash: Uint8Array,
  root: Uint8Array,
): void {
  checkVerifierCount(start, 'start');
  checkVerifierCount(end, 'end');
  const n = checkVerifierCount(size, 'size');
  checkHash(subtreeHash, 'subtreeHash');
  checkHash(root, 'root');
  const path = checkProof(proof);
  if (end > n) throw merkleError('PROOF_MALFORMED', 'subtree ends beyond the tree');
  if (start === end) {
    // The empty subtree: vacuously consistent with every tree, with no proof.
    if (path.length !== 0) {
      throw merkleError('PROOF_MALFORMED', 'the empty subtree needs an empty proof');
    }
    if (!bytesEqual(subtreeHash, emptyRoot())) {
      throw merkleError('PROOF_INVALID', 'the empty subtree hash must be MTH({})');
    }
    return;
  }
  // The subtree must be valid (end ≤ n was checked above).
  if (!isValidSubtree(start, end)) {
    throw merkleError('PROOF_MALFORMED', `[${start}, ${end}) is not a valid subtree`);
  }
  // fn, sn and tn track the subtree's first leaf, its last leaf and the tree's last leaf;
  // right-shifting them climbs one level.
  let fn = start;
  let sn = end - 1;
  let tn = n - 1;
  const shift = () => {
    fn = half(fn);
    sn = half(sn);
    tn = half(tn);
  };
  if (sn === tn) {
    // The subtree ends at the tree's right edge: climb to the node that covers it.
    while (fn !== sn) shift();
  } else {
    // Otherwise climb while the last leaf's node is a right child inside the subtree.
    while (fn !== sn && isOdd(sn)) shift();
  }
  // If fn is sn, fr and sr start at the subtree hash; otherwise at the first proof hash (the
  // rightmost complete subtree inside [start, end)), which is consumed.
  let rest = path;
  let fr: Uint8Array;
  let sr: Uint8Array;
  if (fn === sn) {
    fr = subtreeHash;
    sr = subtreeHash;
  } else {
    if (path.length === 0) throw merkleError('PROOF_MALFORMED', 'subtree proof is empty');
    fr = path[0]!;
    sr = path[0]!;
    rest = path.slice(1);
  }
  // For each remaining proof hash c:
  for (const c of rest) {
    // Past the root: the proof is too long.
    if (tn === 0) throw merkleError('PROOF_MALFORMED', 'subtree proof is too long');
    // If LSB(sn) is set, or sn is tn, c is a left sibling.
    if (isOdd(sn) || sn === tn) {
      // Only left siblings inside the subtree (fn < sn) contribute to its hash.
      if (fn < sn) fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // On the right edge, climb the levels where the node has no sibling.
      while (!isOdd(sn) && sn !== 0) shift();
    } else {
      // Otherwise c is a right sibling, outside the subtree.
      sr = hashChildren(sr, c);
    }
    // Climb one level.
    shift();
  }
  // At the root (tn = 0), fr must be the subtree hash and sr the tree root.
  if (tn !== 0) throw merkleError('PROOF_MALFORMED', 'subtree proof is too short');
  if (!bytesEqual(fr, subtreeHash)) {
    throw merkleError('PROOF_INVALID', 'subtree proof does not lead to the subtree hash');
  }
  if (!bytesEqual(sr, root)) {
    throw merkleError('PROOF_INVALID', 'subtree proof does not lead to the tree root');
  }
}

/**
 * The subtree consistency proof SUBTREE_PROOF(start, end, D[size]) over the first `size` of
 * `leaves` (leaf hashes), MTC draft §4.4.1. For tests and small trees.
 * @throws {MerkleError} MERKLE_RANGE when the subtree is not valid, size < end or
 *   leaves.length < size
 */
export function subtreeConsistencyProof(
  start: number,
  end: number,
  size: number,
  leaves: readonly Uint8Array[],
): Uint8Array[] {
  checkRange(start, 'start');
  checkRange(end, 'end');
  checkRange(size, 'size');
  if (!isValidSubtree(start, end) || end > size || leaves.length < size) {
    throw merkleError('MERKLE_RANGE', `[${start}, ${end}) is not a valid subtree of ${size}`);
  }
  const mth = (lo: number, hi: number) => rootFromLeafHashes(leaves.slice(lo, hi));
  // SUBTREE_SUBPROOF(start, end, D[lo:lo+n], known)
  const sub = (s: number, e: number, lo: number, n: number, known: boolean): Uint8Array[] => {
    if (s === 0 && e === n) return known ? [] : [mth(lo, lo + n)];
    const k = splitPoint(n);
    if (e <= k) return [...sub(s, e, lo, k, known), mth(lo + k, lo + n)];
    if (s >= k) return [...sub(s - k, e - k, lo + k, n - k, known), mth(lo, lo + k)];
    // s < k < e: only possible with s = 0; the left half is complete and inside the subtree.
    return [...sub(0, e - k, lo + k, n - k, false), mth(lo, lo + k)];
  };
  return sub(start, end, 0, size, true);
}
