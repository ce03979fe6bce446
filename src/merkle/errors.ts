/**
 * Error codes of the Merkle core (RFC 9162 trees, tlog-tiles, sample commitments).
 * Tests assert the code, never the message.
 */
import { VPauseError } from '../core/errors.js';

export type MerkleErrorCode =
  /** A proof, a hash or a size/index argument of a verifier is not well formed (wrong length,
   * not a non-negative safe integer, index ≥ size, a proof of the wrong length, …). */
  | 'PROOF_MALFORMED'
  /** A well-formed proof that does not lead to the expected hash(es). */
  | 'PROOF_INVALID'
  /** A generator or tree operation was asked for something outside the tree (index ≥ size,
   * old size > new size, a size that is not a non-negative safe integer, too few leaves). */
  | 'MERKLE_RANGE'
  /** A tlog-tiles path that is not in canonical form. */
  | 'TILE_PATH_MALFORMED'
  /** A stored tile that is not a whole number of 32-byte hashes, or wider than 256. */
  | 'TILE_MALFORMED'
  /** A tile needed for the operation is absent, or narrower than the tree requires. */
  | 'TILE_MISSING'
  /** An entry bundle that does not parse as uint16-length-prefixed entries. */
  | 'ENTRY_BUNDLE_MALFORMED'
  /** A log entry longer than 65,535 bytes (the entry-bundle limit). */
  | 'ENTRY_TOO_LARGE';

export type MerkleError = VPauseError<MerkleErrorCode>;

/** @internal */
export function merkleError(code: MerkleErrorCode, message: string): MerkleError {
  return new VPauseError(code, message);
}
