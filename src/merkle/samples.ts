/**
 * The per-report sample commitment: the raw telemetry samples of one usage report are
 * committed in a Merkle tree whose root goes into the public statement
 * (`samples: {count, root}`), so that a verifier can ask for any sample on audit and get it
 * with an inclusion proof, without the lab disclosing the others.
 *
 * The tree is built with merkletreejs, configured so that its root is the RFC 9162 Merkle Tree
 * Hash of the samples and its proofs are RFC 9162 inclusion proofs, checked with our own
 * `verifyInclusion` (never with merkletreejs's `verify`, which ignores the leaf index):
 * - leaves are passed already hashed with `hashLeaf` (SHA-256(0x00 || sample)), and
 *   `hashLeaves` stays false;
 * - the hash function is plain SHA-256, and the `concatenator` option prepends the interior-node
 *   prefix 0x01 to the two children, so a node is SHA-256(0x01 || left || right);
 * - the other options keep their defaults: no sorting, no duplication of an odd last node (it
 *   is carried up unchanged, which yields the RFC's left-balanced tree), not a Bitcoin tree,
 *   not "complete".
 * Why merkletreejs here and not for the log: docs/decisions/0002-merkletreejs-for-sample-commitments.md.
 *
 * Pure: no I/O.
 */
import { MerkleTree } from 'merkletreejs';
import { sha256 } from '../crypto/sha256.js';
import { merkleError } from './errors.js';
import { checkRange } from './internal.js';
import { emptyRoot, hashLeaf, verifyInclusion } from './rfc9162.js';

/** A commitment to an ordered list of samples. */
export interface SampleCommitment {
  /** Number of samples committed. */
  readonly count: number;
  /** RFC 9162 Merkle Tree Hash of the samples' leaf hashes (MTH({}) for no samples). */
  readonly root: Uint8Array;
  /** The leaf hash of sample i: SHA-256(0x00 || sample). */
  leafHash(i: number): Uint8Array;
  /**
   * The RFC 9162 inclusion proof of sample i in the tree of `count` samples.
   * @throws {MerkleError} MERKLE_RANGE when i is not an index of a sample
   */
  proof(i: number): Uint8Array[];
}

const NODE_PREFIX = Buffer.from([0x01]);

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function toBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Commits to `samples` (each sample's bytes as the application encodes them).
 * @throws {MerkleError} MERKLE_RANGE when asked for a proof outside the samples
 */
export function commitSamples(samples: readonly Uint8Array[]): SampleCommitment {
  const leaves = samples.map((s) => toBuffer(hashLeaf(s)));
  const count = leaves.length;
  const tree =
    count === 0
      ? undefined
      : new MerkleTree(leaves, (data: Buffer) => toBuffer(sha256(data)), {
          concatenator: (inputs: Buffer[]) => Buffer.concat([NODE_PREFIX, ...inputs]),
        });
  const root = tree === undefined ? emptyRoot() : toBytes(tree.getRoot());
  const checkIndex = (i: number): number => {
    checkRange(i, 'sample index');
    if (i >= count) throw merkleError('MERKLE_RANGE', `sample index ${i} ≥ count ${count}`);
    return i;
  };
  return {
    count,
    root,
    leafHash: (i) => toBytes(leaves[checkIndex(i)]!),
    proof: (i) => {
      checkIndex(i);
      // getProof walks the layers from the leaf up, skipping layers where the node was carried
      // up without a sibling: exactly RFC 9162's PATH order. The index is passed explicitly so
      // that duplicate samples get their own proof.
      return tree!.getProof(leaves[i]!, i).map((step) => toBytes(step.data));
    },
  };
}

/**
 * Verifies a disclosed sample against a sample commitment (`count`, `root`).
 * @throws {MerkleError} PROOF_MALFORMED / PROOF_INVALID as `verifyInclusion`
 */
export function verifySample(
  sample: Uint8Array,
  index: number,
  count: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  verifyInclusion(hashLeaf(sample), index, count, proof, root);
}
