/**
 * C2SP tlog-proof (`c2sp.org/tlog-proof@v1`): an offline-verifiable proof that an entry is in a
 * log, made of an optional `extra` line, the entry's index, the RFC 9162 inclusion proof and the
 * checkpoint (verbatim, with its signatures and cosignatures).
 *
 * This module formats, parses (strictly) and checks the inclusion part. Checking the
 * checkpoint's signatures and cosignatures against a policy is the caller's job
 * (src/tlog/checkpoint.ts); `verifyTlogProofInclusion` then takes the size and root hash that
 * checkpoint states.
 *
 * Pure: no I/O.
 */
import { fromBase64, fromUtf8, toBase64 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { HASH_SIZE, verifyInclusion } from '../merkle/rfc9162.js';

export type TlogProofErrorCode =
  /** Not a well-formed tlog-proof. */
  | 'TLOG_PROOF_MALFORMED'
  /** The checkpoint given to the verifier is not the one inside the proof. */
  | 'TLOG_PROOF_CHECKPOINT_MISMATCH';

/** First line of every tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** Most inclusion-proof hashes a proof can carry (a tree of fewer than 2^63 entries). */
export const MAX_TLOG_PROOF_HASHES = 63;

/** A tlog-proof, parsed. */
export interface TlogProof {
  /** Opaque, unauthenticated application data from the `extra` line, when present. */
  extraData?: Uint8Array;
  /** Zero-based index of the entry in the log. */
  index: number;
  /** RFC 9162 inclusion proof, from the leaf's sibling up to the root's child. */
  hashes: Uint8Array[];
  /** The checkpoint (signed note text), verbatim, ending with a newline. */
  checkpoint: string;
}

function malformed(message: string): VPauseError<TlogProofErrorCode> {
  return new VPauseError('TLOG_PROOF_MALFORMED', message);
}

const INDEX_RE = /^(?:0|[1-9][0-9]*)$/;

function checkCheckpointText(checkpoint: unknown): string {
  if (typeof checkpoint !== 'string' || checkpoint.length === 0 || !checkpoint.endsWith('\n')) {
    throw malformed('the checkpoint must be non-empty text ending with a newline');
  }
  if (checkpoint.startsWith('\n')) throw malformed('the checkpoint has an empty first line');
  return checkpoint;
}

/**
 * Writes a tlog-proof. The `extra` line is written whenever `extraData` is given.
 * @throws {VPauseError<TlogProofErrorCode>} TLOG_PROOF_MALFORMED for an index that is not a
 *   non-negative safe integer, a hash that is not 32 bytes, more than 63 hashes, or a checkpoint
 *   that is empty or does not end with a newline
 */
export function formatTlogProof(proof: {
  extraData?: Uint8Array;
  index: number;
  hashes: readonly Uint8Array[];
  checkpoint: string;
}): string {
  const { extraData, index, hashes } = proof;
  if (!Number.isSafeInteger(index) || index < 0) {
    throw malformed('index must be a non-negative safe integer');
  }
  if (hashes.length > MAX_TLOG_PROOF_HASHES) throw malformed('too many proof hashes');
  for (const h of hashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw malformed('proof hashes must be 32 bytes');
    }
  }
  const checkpoint = checkCheckpointText(proof.checkpoint);
  const lines = [TLOG_PROOF_HEADER];
  if (extraData !== undefined) lines.push(`extra ${toBase64(extraData)}`);
  lines.push(`index ${index}`);
  for (const h of hashes) lines.push(toBase64(h));
  return `${lines.join('\n')}\n\n${checkpoint}`;
}

/**
 * Parses a tlog-proof strictly: the exact header line; an optional `extra <base64>` line;
 * `index <decimal>` without leading zeros (a safe integer); at most 63 lines of canonical
 * padded base64, each a 32-byte hash; an empty line; then the checkpoint, non-empty and ending
 * with a newline. Bytes are decoded as strict UTF-8. The checkpoint itself is not parsed here.
 * @throws {VPauseError<TlogProofErrorCode>} TLOG_PROOF_MALFORMED
 */
export function parseTlogProof(input: string | Uint8Array): TlogProof {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = fromUtf8(input);
    } catch {
      throw malformed('not UTF-8');
    }
  }
  const sep = text.indexOf('\n\n');
  if (sep < 0) throw malformed('no empty line before the checkpoint');
  const head = text.slice(0, sep).split('\n');
  const checkpoint = checkCheckpointText(text.slice(sep + 2));

  let i = 0;
  if (head[i++] !== TLOG_PROOF_HEADER) throw malformed(`first line must be ${TLOG_PROOF_HEADER}`);
  let extraData: Uint8Array | undefined;
  if (head[i]?.startsWith('extra ')) {
    try {
      extraData = fromBase64(head[i]!.slice('extra '.length));
    } catch {
      throw malformed('extra data is not canonical base64');
    }
    i++;
  }
  const indexLine = head[i++];
  if (indexLine === undefined || !indexLine.startsWith('index ')) {
    throw malformed('missing index line');
  }
  const indexText = indexLine.slice('index '.length);
  const index = Number(indexText);
  if (!INDEX_RE.test(indexText) || !Number.isSafeInteger(index)) {
    throw malformed('index must be a decimal safe integer without leading zeros');
  }
  const hashLines = head.slice(i);
  if (hashLines.length > MAX_TLOG_PROOF_HASHES) throw malformed('too many proof hashes');
  const hashes = hashLines.map((line) => {
    let h: Uint8Array;
    try {
      h = fromBase64(line);
    } catch {
      throw malformed('proof hash is not canonical base64');
    }
    if (h.length !== HASH_SIZE) throw malformed('proof hash is not 32 bytes');
    return h;
  });
  const out: TlogProof = { index, hashes, checkpoint };
  if (extraData !== undefined) out.extraData = extraData;
  return out;
}

/**
 * Checks the inclusion part of a parsed tlog-proof (step 4 of the tlog-proof verification):
 * `leafHash` is at `parsed.index` in the tree that `checkpoint` describes. `checkpoint` is the
 * size and root hash of the proof's checkpoint, as its verified parse gave them; they must
 * also be the ones written in `parsed.checkpoint` (lines 2 and 3 of its body).
 * @throws {VPauseError<TlogProofErrorCode>} TLOG_PROOF_MALFORMED when the embedded checkpoint
 *   has no size and root hash lines; TLOG_PROOF_CHECKPOINT_MISMATCH when they differ from
 *   `checkpoint`
 * @throws {MerkleError} PROOF_MALFORMED (e.g. index ≥ size, wrong proof length) or
 *   PROOF_INVALID, as `verifyInclusion`
 */
export function verifyTlogProofInclusion(
  parsed: TlogProof,
  leafHash: Uint8Array,
  checkpoint: { size: number; rootHash: Uint8Array },
): void {
  const lines = parsed.checkpoint.split('\n');
  if (lines.length < 4 || lines[0] === '') throw malformed('checkpoint body is incomplete');
  if (lines[1] !== String(checkpoint.size) || lines[2] !== toBase64(checkpoint.rootHash)) {
    throw new VPauseError<TlogProofErrorCode>(
      'TLOG_PROOF_CHECKPOINT_MISMATCH',
      'the checkpoint given is not the one in the proof',
    );
  }
  verifyInclusion(leafHash, parsed.index, checkpoint.size, parsed.hashes, checkpoint.rootHash);
}
