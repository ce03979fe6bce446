/**
 * Argument checks and 53-bit index arithmetic shared by the Merkle modules. Not public API.
 * Indexes and sizes are numbers ≤ 2^53 − 1, so no 32-bit bitwise operator is used on them.
 * @internal
 */
import { merkleError } from './errors.js';

export const HASH_BYTES = 32;

/** Longest proof possible for a tree whose size is a safe integer (with room to spare). */
export const MAX_PROOF_LENGTH = 64;

export function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** @throws {MerkleError} PROOF_MALFORMED when `h` is not a 32-byte Uint8Array */
export function checkHash(h: unknown, label: string): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) {
    throw merkleError('PROOF_MALFORMED', `${label} must be a ${HASH_BYTES}-byte hash`);
  }
  return h;
}

/** @throws {MerkleError} PROOF_MALFORMED when not an array of ≤ 64 32-byte hashes */
export function checkProof(proof: unknown, label = 'proof'): readonly Uint8Array[] {
  if (!Array.isArray(proof)) throw merkleError('PROOF_MALFORMED', `${label} must be an array`);
  if (proof.length > MAX_PROOF_LENGTH) {
    throw merkleError('PROOF_MALFORMED', `${label} has more than ${MAX_PROOF_LENGTH} hashes`);
  }
  for (const [i, h] of proof.entries()) checkHash(h, `${label}[${i}]`);
  return proof as readonly Uint8Array[];
}

/** @throws {MerkleError} PROOF_MALFORMED when not a non-negative safe integer */
export function checkVerifierCount(x: unknown, label: string): number {
  if (!isCount(x)) {
    throw merkleError('PROOF_MALFORMED', `${label} must be a non-negative safe integer`);
  }
  return x;
}

/** @throws {MerkleError} MERKLE_RANGE when not a non-negative safe integer */
export function checkRange(x: unknown, label: string): number {
  if (!isCount(x))
    throw merkleError('MERKLE_RANGE', `${label} must be a non-negative safe integer`);
  return x;
}

export const isOdd = (x: number): boolean => x % 2 === 1;
export const half = (x: number): number => Math.floor(x / 2);

/** Largest power of two strictly smaller than n (n ≥ 2): the RFC 9162 split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Smallest power of two ≥ n (n ≥ 1). */
export function bitCeil(n: number): number {
  let k = 1;
  while (k < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  return n >= 1 && bitCeil(n) === n;
}
