/**
 * The RFC 9162 §2.1 Merkle tree (= RFC 6962 §2.1) with SHA-256: leaf and node hashing, the
 * Merkle Tree Hash, inclusion and consistency proofs (generation and verification).
 *
 * Verification follows the numbered steps of RFC 9162 §2.1.3.2 and §2.1.4.2, and the names in
 * the code are the RFC's (`fn`, `sn`, `r`, `fr`, `sr`). Indexes and sizes are JavaScript numbers
 * and must be non-negative safe integers (≤ 2^53 − 1); every hash must be exactly 32 bytes. All
 * arithmetic on indexes avoids 32-bit bitwise operators.
 *
 * Proof generation comes in two shapes:
 * - over an in-memory list of leaf hashes (`inclusionProof`, `consistencyProof`), for tests and
 *   small trees (sample commitments);
 * - as a plan of complete subtrees to read (`inclusionProofNodes`, `consistencyProofNodes`),
 *   which `buildInclusionProof` / `buildConsistencyProof` turn into a proof given any reader of
 *   stored nodes, e.g. one backed by tlog-tiles (see tiles.ts).
 *
 * Pure: no I/O.
 */
import { bytesEqual } from '../core/bytes.js';
import {
  sha256,
  sha256Pair,
  sha256PairAtInto,
  sha256PairInto,
  sha256Prefixed,
  sha256PrefixedInPlaceInto,
  sha256PrefixedInto,
} from '../crypto/sha256.js';
import { merkleError } from './errors.js';
import {
  bitCeil,
  checkHash,
  checkProof,
  checkRange,
  checkVerifierCount,
  HASH_BYTES,
  half,
  isOdd,
  isPowerOfTwo,
  splitPoint,
} from './internal.js';

export type { MerkleError, MerkleErrorCode } from './errors.js';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = HASH_BYTES;

const EMPTY_ROOT = sha256();

// ---------------------------------------------------------------------------------------------
// Hashing (RFC 9162 §2.1.1)

/** The leaf hash of a log entry: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256Prefixed(0x00, data);
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Pair(0x01, left, right);
}

/** `hashLeaf(data)` written at out[at…at+32) (packed leaf-hash columns). */
export function hashLeafInto(data: Uint8Array, out: Uint8Array, at: number): void {
  sha256PrefixedInto(0x00, data, out, at);
}

/** `hashChildren(left, right)` written at out[at…at+32); `out` may overlap the children. */
export function hashChildrenInto(
  left: Uint8Array,
  right: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  sha256PairInto(0x01, left, right, out, at);
}

/**
 * `hashChildren` of the two hashes side by side at buf[from, from + 64), written at
 * out[at…at+32) (`out` may be `buf`: a level of a tree folds in place).
 */
export function hashChildrenAtInto(
  buf: Uint8Array,
  from: number,
  out: Uint8Array,
  at: number,
): void {
  sha256PairAtInto(0x01, buf, from, out, at);
}

/**
 * `hashLeaf` of buf[from, to), written at out[at…at+32), hashed in place: the byte before
 * `from` is borrowed for the leaf prefix and restored (`sha256PrefixedInPlaceInto`).
 */
export function hashLeafInPlaceInto(
  buf: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): void {
  sha256PrefixedInPlaceInto(0x00, buf, from, to, out, at);
}

/** MTH({}) = SHA-256(""), the root of the empty tree. A fresh copy on each call. */
export function emptyRoot(): Uint8Array {
  return EMPTY_ROOT.slice();
}

/**
 * The Merkle Tree Hash of a list of leaf hashes (RFC 9162 §2.1.1). Computed bottom-up,
 * pairing neighbours and carrying an odd last node up unchanged, which gives the same tree
 * as the RFC's "largest power of two smaller than n" split.
 * @throws {MerkleError} PROOF_MALFORMED when a leaf hash is not 32 bytes
 */
export function rootFromLeafHashes(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot();
  let level: Uint8Array[] = leaves.map((h, i) => checkHash(h, `leaves[${i}]`));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

// ---------------------------------------------------------------------------------------------
// Verification: inclusion (RFC 9162 §2.1.3.2)

/**
 * Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4) without comparing
 * it to any root. Use `verifyInclusion` to check a proof.
 * @throws {MerkleError} PROOF_MALFORMED when an argument is malformed, index ≥ size, or the
 *   proof has the wrong number of hashes for (index, size)
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkVerifierCount(index, 'index');
  checkVerifierCount(size, 'size');
  checkHash(leafHash, 'leafHash');
  const path = checkProof(proof);
  // 1. Compare leaf_index against tree_size. If leaf_index >= tree_size, fail.
  if (index >= size) throw merkleError('PROOF_MALFORMED', 'index must be smaller than size');
  // 2. Set fn to leaf_index and sn to tree_size - 1.
  let fn = index;
  let sn = size - 1;
  // 3. Set r to hash.
  let r = leafHash;
  // 4. For each value p in the inclusion_path array:
  for (const p of path) {
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) throw merkleError('PROOF_MALFORMED', 'inclusion proof is too long');
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (isOdd(fn) || fn === sn) {
      // 1. Set r to HASH(0x01 || p || r).
      r = hashChildren(p, r);
      // 2. If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is
      //    set or fn is 0.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      // Otherwise: set r to HASH(0x01 || r || p).
      r = hashChildren(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Compare sn to 0 (then r against the root hash, in verifyInclusion).
  if (sn !== 0) throw merkleError('PROOF_MALFORMED', 'inclusion proof is too short');
  return r;
}

/**
 * Verifies that `leafHash` is the leaf at `index` of the tree of `size` leaves with root
 * `root` (RFC 9162 §2.1.3.2).
 * @throws {MerkleError} PROOF_MALFORMED when an argument is malformed (hash not 32 bytes, index
 *   or size not a non-negative safe integer, index ≥ size, proof of the wrong length);
 *   PROOF_INVALID when the proof does not lead to `root`
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(root, 'root');
  const r = rootFromInclusionProof(leafHash, index, size, proof);
  // 6. ... compare r against the root_hash. If they are equal, the log has proven inclusion.
  if (!bytesEqual(r, root)) {
    throw merkleError('PROOF_INVALID', 'inclusion proof does not lead to the root');
  }
}

// ---------------------------------------------------------------------------------------------
// Verification: consistency (RFC 9162 §2.1.4.2)

/**
 * Verifies that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize`
 * leaves with root `oldRoot` (RFC 9162 §2.1.4.2).
 *
 * `oldSize = newSize` needs an empty proof and equal roots. `oldSize = 0` is refused (RFC 9162
 * defines no proof from the empty tree; every tree trivially extends it, so callers such as a
 * witness handle that case themselves), like transparency-dev/merkle.
 * @throws {MerkleError} PROOF_MALFORMED when an argument is malformed (hash not 32 bytes, size
 *   not a non-negative safe integer, oldSize > newSize, oldSize = 0, proof of the wrong length);
 *   PROOF_INVALID when the proof does not lead to both roots
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  const first = checkVerifierCount(oldSize, 'oldSize');
  const second = checkVerifierCount(newSize, 'newSize');
  const firstHash = checkHash(oldRoot, 'oldRoot');
  const secondHash = checkHash(newRoot, 'newRoot');
  const consistencyPath = checkProof(proof);
  if (first > second) throw merkleError('PROOF_MALFORMED', 'oldSize must not exceed newSize');
  if (first === 0) {
    throw merkleError('PROOF_MALFORMED', 'no consistency proof exists from the empty tree');
  }
  if (first === second) {
    if (consistencyPath.length !== 0) {
      throw merkleError('PROOF_MALFORMED', 'equal sizes need an empty consistency proof');
    }
    if (!bytesEqual(firstHash, secondHash)) {
      throw merkleError('PROOF_INVALID', 'equal sizes with different roots');
    }
    return;
  }
  // 1. If consistency_path is an empty array, stop and fail the proof verification.
  if (consistencyPath.length === 0) {
    throw merkleError('PROOF_MALFORMED', 'consistency proof is empty');
  }
  // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
  const path = isPowerOfTwo(first) ? [firstHash, ...consistencyPath] : consistencyPath;
  // 3. Set fn to first - 1 and sn to second - 1.
  let fn = first - 1;
  let sn = second - 1;
  // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. For each subsequent value c in the consistency_path array:
  for (const c of path.slice(1)) {
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) throw merkleError('PROOF_MALFORMED', 'consistency proof is too long');
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (isOdd(fn) || fn === sn) {
      // 1. Set fr to HASH(0x01 || c || fr). Set sr to HASH(0x01 || c || sr).
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      // 2. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn)
      //    is set or fn is 0.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      // Otherwise: set sr to HASH(0x01 || sr || c).
      sr = hashChildren(sr, c);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. After completing iterating through the consistency_path array as described above,
  //    verify that the fr calculated is equal to the first_hash supplied, that the sr
  //    calculated is equal to the second_hash supplied, and that sn is 0.
  if (sn !== 0) throw merkleError('PROOF_MALFORMED', 'consistency proof is too short');
  if (!bytesEqual(fr, firstHash)) {
    throw merkleError('PROOF_INVALID', 'consistency proof does not lead to the old root');
  }
  if (!bytesEqual(sr, secondHash)) {
    throw merkleError('PROOF_INVALID', 'consistency proof does not lead to the new root');
  }
}

// ---------------------------------------------------------------------------------------------
// In-memory generation (RFC 9162 §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF)

function checkLeaves(leaves: readonly Uint8Array[], size: number): void {
  if (leaves.length < size) {
    throw merkleError('MERKLE_RANGE', `size ${size} exceeds the ${leaves.length} leaves given`);
  }
}

/**
 * The inclusion proof PATH(index, D[size]) over the first `size` of `leaves` (leaf hashes),
 * ordered from the leaf's sibling up to the root's child. For tests and small trees.
 * @throws {MerkleError} MERKLE_RANGE when index ≥ size or size > leaves.length;
 *   PROOF_MALFORMED when a leaf hash is not 32 bytes
 */
export function inclusionProof(
  index: number,
  size: number,
  leaves: readonly Uint8Array[],
): Uint8Array[] {
  checkRange(index, 'index');
  checkRange(size, 'size');
  if (index >= size) throw merkleError('MERKLE_RANGE', 'index must be smaller than size');
  checkLeaves(leaves, size);
  const mth = (lo: number, hi: number) => rootFromLeafHashes(leaves.slice(lo, hi));
  // PATH(m, D[lo:lo+n]) = PATH(m, D[0:k]) : MTH(D[k:n])   when m < k
  //                     = PATH(m-k, D[k:n]) : MTH(D[0:k]) when m ≥ k
  const path = (m: number, lo: number, n: number): Uint8Array[] => {
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, lo, k), mth(lo + k, lo + n)];
    return [...path(m - k, lo + k, n - k), mth(lo, lo + k)];
  };
  return path(index, 0, size);
}

/**
 * The consistency proof PROOF(oldSize, D[newSize]) over the first `newSize` of `leaves`. Empty
 * when oldSize = newSize. For tests and small trees.
 * @throws {MerkleError} MERKLE_RANGE when oldSize = 0, oldSize > newSize or newSize >
 *   leaves.length; PROOF_MALFORMED when a leaf hash is not 32 bytes
 */
export function consistencyProof(
  oldSize: number,
  newSize: number,
  leaves: readonly Uint8Array[],
): Uint8Array[] {
  checkConsistencySizes(oldSize, newSize);
  checkLeaves(leaves, newSize);
  const mth = (lo: number, hi: number) => rootFromLeafHashes(leaves.slice(lo, hi));
  // SUBPROOF(m, D[n], b): [] if m = n and b; [MTH(D[n])] if m = n and not b; otherwise with k:
  //   m ≤ k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]);  m > k: SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k])
  const subproof = (m: number, lo: number, n: number, b: boolean): Uint8Array[] => {
    if (m === n) return b ? [] : [mth(lo, lo + n)];
    const k = splitPoint(n);
    if (m <= k) return [...subproof(m, lo, k, b), mth(lo + k, lo + n)];
    return [...subproof(m - k, lo + k, n - k, false), mth(lo, lo + k)];
  };
  return subproof(oldSize, 0, newSize, true);
}

function checkConsistencySizes(oldSize: number, newSize: number): void {
  checkRange(oldSize, 'oldSize');
  checkRange(newSize, 'newSize');
  if (oldSize === 0) throw merkleError('MERKLE_RANGE', 'no consistency proof from the empty tree');
  if (oldSize > newSize) throw merkleError('MERKLE_RANGE', 'oldSize must not exceed newSize');
}

// ---------------------------------------------------------------------------------------------
// Generation from stored nodes

/**
 * A complete (perfect) subtree: the 2^level leaves [index·2^level, (index+1)·2^level).
 * Level 0 nodes are leaf hashes.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/**
 * One hash of a proof: MTH(D[start:end]). `nodes` are the complete subtrees that cover the
 * range, largest (leftmost) first; the hash is their right fold
 * `H(n0, H(n1, … H(n_{k-2}, n_{k-1})))`, or `n0` itself when the range is one complete subtree.
 * Only a range that ends at the tree's right edge can need more than one node, and a proof has
 * at most one such range.
 */
export interface ProofElement {
  readonly start: number;
  readonly end: number;
  readonly nodes: readonly NodeId[];
}

/** Reads the hash of a complete subtree of the tree being proven. */
export type NodeReader = (level: number, index: number) => Promise<Uint8Array>;

/**
 * The complete subtrees covering [start, end), largest first, when start is a multiple of the
 * smallest power of two ≥ end − start (every range a proof uses has that shape).
 * @throws {MerkleError} MERKLE_RANGE when the range does not have that shape
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  checkRange(start, 'start');
  checkRange(end, 'end');
  if (end <= start || start % bitCeil(end - start) !== 0) {
    throw merkleError('MERKLE_RANGE', `[${start}, ${end}) is not an aligned range`);
  }
  const nodes: NodeId[] = [];
  let lo = start;
  while (lo < end) {
    let size = 1;
    let level = 0;
    while (size * 2 <= end - lo) {
      size *= 2;
      level++;
    }
    nodes.push({ level, index: lo / size });
    lo += size;
  }
  return nodes;
}

function element(start: number, end: number): ProofElement {
  return { start, end, nodes: rangeNodes(start, end) };
}

/**
 * What to read to build the inclusion proof for `index` in the tree of `size` leaves: one
 * element per proof hash, in proof order (same recursion as RFC 9162 §2.1.3.1 PATH).
 * @throws {MerkleError} MERKLE_RANGE when index ≥ size or either is not a non-negative safe
 *   integer
 */
export function inclusionProofNodes(index: number, size: number): ProofElement[] {
  checkRange(index, 'index');
  checkRange(size, 'size');
  if (index >= size) throw merkleError('MERKLE_RANGE', 'index must be smaller than size');
  const out: ProofElement[] = [];
  const path = (m: number, lo: number, n: number): void => {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, lo, k);
      out.push(element(lo + k, lo + n));
    } else {
      path(m - k, lo + k, n - k);
      out.push(element(lo, lo + k));
    }
  };
  path(index, 0, size);
  return out;
}

/**
 * What to read to build the consistency proof from `oldSize` to `newSize` (same recursion as
 * RFC 9162 §2.1.4.1 SUBPROOF). Empty when the sizes are equal.
 * @throws {MerkleError} MERKLE_RANGE when oldSize = 0, oldSize > newSize, or either is not a
 *   non-negative safe integer
 */
export function consistencyProofNodes(oldSize: number, newSize: number): ProofElement[] {
  checkConsistencySizes(oldSize, newSize);
  const out: ProofElement[] = [];
  const subproof = (m: number, lo: number, n: number, b: boolean): void => {
    if (m === n) {
      if (!b) out.push(element(lo, lo + n));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, lo, k, b);
      out.push(element(lo + k, lo + n));
    } else {
      subproof(m - k, lo + k, n - k, false);
      out.push(element(lo, lo + k));
    }
  };
  subproof(oldSize, 0, newSize, true);
  return out;
}

/**
 * Hashes one proof element from the hashes of its nodes (same order as `element.nodes`).
 * @throws {MerkleError} PROOF_MALFORMED when the count or a hash length is wrong
 */
export function hashProofElement(el: ProofElement, nodeHashes: readonly Uint8Array[]): Uint8Array {
  if (nodeHashes.length !== el.nodes.length || nodeHashes.length === 0) {
    throw merkleError('PROOF_MALFORMED', 'wrong number of node hashes for the proof element');
  }
  for (const [i, h] of nodeHashes.entries()) checkHash(h, `node hash ${i}`);
  let acc = nodeHashes[nodeHashes.length - 1]!;
  for (let i = nodeHashes.length - 2; i >= 0; i--) acc = hashChildren(nodeHashes[i]!, acc);
  return acc;
}

async function buildFromPlan(plan: ProofElement[], getNode: NodeReader): Promise<Uint8Array[]> {
  const hashes = await Promise.all(
    plan.map((el) => Promise.all(el.nodes.map((n) => getNode(n.level, n.index)))),
  );
  return plan.map((el, i) => hashProofElement(el, hashes[i]!));
}

/**
 * Builds the inclusion proof for `index` in the tree of `size` leaves from stored complete
 * subtrees. `getNode` is only asked for complete subtrees of that tree.
 * @throws {MerkleError} MERKLE_RANGE as `inclusionProofNodes`; PROOF_MALFORMED when `getNode`
 *   returns a hash that is not 32 bytes; whatever `getNode` throws
 */
export async function buildInclusionProof(
  index: number,
  size: number,
  getNode: NodeReader,
): Promise<Uint8Array[]> {
  return buildFromPlan(inclusionProofNodes(index, size), getNode);
}

/**
 * Builds the consistency proof from `oldSize` to `newSize` from stored complete subtrees.
 * @throws {MerkleError} MERKLE_RANGE as `consistencyProofNodes`; PROOF_MALFORMED when `getNode`
 *   returns a hash that is not 32 bytes; whatever `getNode` throws
 */
export async function buildConsistencyProof(
  oldSize: number,
  newSize: number,
  getNode: NodeReader,
): Promise<Uint8Array[]> {
  return buildFromPlan(consistencyProofNodes(oldSize, newSize), getNode);
}
