/**
 * Fork evidence: two checkpoints signed by one log that cannot both be true (DESIGN §5: "a
 * verifier that sees two checkpoints of one origin at the same size with different roots, or
 * that fail a consistency proof, has proof of log misbehaviour"), in a JSON file anyone holding
 * the tlog-policy can re-check offline with {@link checkForkEvidence}.
 *
 *   {"type":"vpause.fork-evidence/v1", "kind": ..., "origin": ..., "logKey": <vkey>,
 *    "detectedAt": <RFC 3339>, "reason": ...,
 *    "a": {"source": ..., "checkpoint": <signed note as served>},
 *    "b": {"source": ..., "checkpoint": <signed note as served>},
 *    "proof": [<base64>...], "oldRootInB": <base64>}
 *
 * Kinds:
 * - `same-size`: a and b have one size and two roots.
 * - `inconsistent`: a.size < b.size, and `proof` (the RFC 9162 consistency path from a.size to
 *   b.size, read from the log's tiles) leads to b's signed root but to an old root other than
 *   a's. A path that hashes up to b's root is made of b's tree's own nodes (finding another
 *   would break SHA-256), so the root it gives for the first a.size leaves is the one the log
 *   committed to in b, and it differs from the one the log signed in a. When a.size is a power
 *   of two, RFC 9162 leaves the old root out of the path; `oldRootInB` then carries it (the node
 *   of b's tree over the first a.size leaves, read from the tiles) and is checked the same way.
 * - `tiles-mismatch`: the log served tiles that do not give its own signed root. The monitor
 *   records it, but it is not offline-checkable proof of a fork (tiles are not signed), and
 *   {@link checkForkEvidence} says so (EVIDENCE_UNPROVABLE).
 *
 * Pure: no I/O.
 */
import { z } from 'zod';
import { bytesEqual, fromBase64, toBase64 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { emptyRoot, hashChildren } from '../merkle/rfc9162.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { TlogPolicy } from '../policy/tlog-policy.js';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../tlog/checkpoint.js';

export const FORK_EVIDENCE_TYPE = 'vpause.fork-evidence/v1';

const SignedCheckpointSchema = z.object({
  /** where it came from: "log <url>", "witness <url>", "state <file>" */
  source: z.string(),
  /** the signed note, as served */
  checkpoint: z.string(),
});

/** The JSON schema of an evidence file. */
export const ForkEvidenceSchema = z.object({
  type: z.literal(FORK_EVIDENCE_TYPE),
  kind: z.enum(['same-size', 'inconsistent', 'tiles-mismatch']),
  origin: z.string(),
  logKey: z.string(),
  detectedAt: z.string(),
  reason: z.string(),
  a: SignedCheckpointSchema,
  b: SignedCheckpointSchema,
  proof: z.array(z.string()).max(64).optional(),
  oldRootInB: z.string().optional(),
});

export type ForkEvidence = z.infer<typeof ForkEvidenceSchema>;

/**
 * Outcome codes of {@link checkForkEvidence} (closed set).
 * - FORK_CONFIRMED: the evidence proves the log signed two inconsistent checkpoints
 * - EVIDENCE_MALFORMED: not an evidence document, or a checkpoint/proof in it does not parse
 * - EVIDENCE_UNKNOWN_LOG: no log of the policy signed the checkpoints
 * - EVIDENCE_ORIGIN_MISMATCH: the two checkpoints are of different origins
 * - EVIDENCE_CONSISTENT: the two checkpoints are consistent (no fork shown)
 * - EVIDENCE_PROOF_INVALID: the proof does not lead to b's signed root
 * - EVIDENCE_UNPROVABLE: a kind that is not offline-checkable proof (tiles-mismatch)
 */
export type ForkEvidenceCode =
  | 'FORK_CONFIRMED'
  | 'EVIDENCE_MALFORMED'
  | 'EVIDENCE_UNKNOWN_LOG'
  | 'EVIDENCE_ORIGIN_MISMATCH'
  | 'EVIDENCE_CONSISTENT'
  | 'EVIDENCE_PROOF_INVALID'
  | 'EVIDENCE_UNPROVABLE';

export interface ForkEvidenceVerdict {
  confirmed: boolean;
  code: ForkEvidenceCode;
  reason: string;
  /** The log key that signed both checkpoints, when found. */
  logKey?: string;
}

/**
 * The RFC 9162 §2.1.4.2 computation run without its final comparisons: the old root and the new
 * root that a consistency path from `first` to `second` leads to. `oldRootNode` is the old root
 * when `first` is a power of two (RFC 9162 then leaves it out of the path); ignored otherwise.
 * @throws {VPauseError<'EVIDENCE_MALFORMED'>} for sizes with 0 < first < second not holding, a
 *   hash that is not 32 bytes, a missing oldRootNode, or a path of the wrong length
 */
export function rootsFromConsistencyProof(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  oldRootNode?: Uint8Array,
): { oldRoot: Uint8Array; newRoot: Uint8Array } {
  const bad = (m: string): never => {
    throw new VPauseError<ForkEvidenceCode>('EVIDENCE_MALFORMED', m);
  };
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1) {
    bad('sizes must be safe integers with 0 < first');
  }
  if (first >= second) bad('first must be below second');
  for (const h of proof) if (h.length !== 32) bad('proof hashes are 32 bytes');
  let path: readonly Uint8Array[] = proof;
  if (isPowerOfTwo(first)) {
    if (oldRootNode === undefined || oldRootNode.length !== 32) {
      bad('an old size that is a power of two needs the old root node');
    }
    path = [oldRootNode!, ...proof];
  }
  if (path.length === 0) bad('consistency path is empty');
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) bad('consistency path is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) bad('consistency path is too short');
  return { oldRoot: fr, newRoot: sr };
}

/** True for 1, 2, 4, 8, … (any safe integer). */
export function isPowerOfTwo(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  let x = n;
  while (x > 1) {
    if (x % 2 === 1) return false;
    x = Math.floor(x / 2);
  }
  return true;
}

function verdict(code: ForkEvidenceCode, reason: string, logKey?: string): ForkEvidenceVerdict {
  const v: ForkEvidenceVerdict = { confirmed: code === 'FORK_CONFIRMED', code, reason };
  if (logKey !== undefined) v.logKey = logKey;
  return v;
}

/** Opens a checkpoint with the first policy log key that verifies it. */
function openWithPolicy(
  note: string,
  logs: readonly VerifierKey[],
): { checkpoint: Checkpoint; key: VerifierKey } | undefined {
  let origin: string;
  try {
    origin = parseCheckpoint(parseNote(note).text).origin;
  } catch {
    return undefined;
  }
  for (const key of logs) {
    try {
      return { checkpoint: openCheckpoint(note, key, [], { origin }).checkpoint, key };
    } catch {
      // try the next key
    }
  }
  return undefined;
}

/**
 * Re-checks fork evidence against a tlog-policy, trusting nothing in the file but what the log
 * keys of the policy and SHA-256 prove. Confirmed when a log of the policy signed both
 * checkpoints, of one origin, and either their sizes are equal with different roots, or the
 * size-0 one has a non-empty root, or the consistency path leads to the larger one's root and
 * to an old root other than the smaller one's.
 */
export function checkForkEvidence(evidence: unknown, policy: TlogPolicy): ForkEvidenceVerdict {
  const parsed = ForkEvidenceSchema.safeParse(evidence);
  if (!parsed.success) {
    return verdict('EVIDENCE_MALFORMED', `not a ${FORK_EVIDENCE_TYPE} document`);
  }
  const e = parsed.data;
  const keys = policy.logs.map((l) => l.key);
  const a = openWithPolicy(e.a.checkpoint, keys);
  const b = openWithPolicy(e.b.checkpoint, keys);
  if (a === undefined || b === undefined) {
    return verdict(
      'EVIDENCE_UNKNOWN_LOG',
      `checkpoint ${a === undefined ? 'a' : 'b'} is not validly signed by a log of the policy`,
    );
  }
  if (a.checkpoint.origin !== b.checkpoint.origin) {
    return verdict('EVIDENCE_ORIGIN_MISMATCH', 'the checkpoints are of different logs');
  }
  const signer = a.key.vkey === b.key.vkey ? a.key.vkey : `${a.key.vkey} and ${b.key.vkey}`;
  if (e.kind === 'tiles-mismatch') {
    return verdict(
      'EVIDENCE_UNPROVABLE',
      'tiles that do not match a signed root are not offline-checkable proof',
      signer,
    );
  }
  const [small, large] =
    a.checkpoint.size <= b.checkpoint.size
      ? [a.checkpoint, b.checkpoint]
      : [b.checkpoint, a.checkpoint];
  if (small.size === large.size) {
    return bytesEqual(small.rootHash, large.rootHash)
      ? verdict('EVIDENCE_CONSISTENT', `both checkpoints have the same root at size ${small.size}`)
      : verdict(
          'FORK_CONFIRMED',
          `the log signed two roots for tree size ${small.size}: ${toBase64(small.rootHash)} and ${toBase64(large.rootHash)}`,
          signer,
        );
  }
  if (small.size === 0) {
    return bytesEqual(small.rootHash, emptyRoot())
      ? verdict('EVIDENCE_CONSISTENT', 'the empty tree is consistent with every tree')
      : verdict('FORK_CONFIRMED', 'the log signed size 0 with a non-empty root', signer);
  }
  let roots: { oldRoot: Uint8Array; newRoot: Uint8Array };
  try {
    const proof = (e.proof ?? []).map((h) => fromBase64(h));
    const node = e.oldRootInB === undefined ? undefined : fromBase64(e.oldRootInB);
    roots = rootsFromConsistencyProof(small.size, large.size, proof, node);
  } catch (err) {
    return verdict(
      'EVIDENCE_MALFORMED',
      `the consistency proof does not parse: ${(err as Error).message}`,
    );
  }
  if (!bytesEqual(roots.newRoot, large.rootHash)) {
    return verdict(
      'EVIDENCE_PROOF_INVALID',
      `the proof does not lead to the signed root of size ${large.size}`,
    );
  }
  if (bytesEqual(roots.oldRoot, small.rootHash)) {
    return verdict(
      'EVIDENCE_CONSISTENT',
      `the proof shows size ${small.size} is a prefix of size ${large.size}`,
    );
  }
  return verdict(
    'FORK_CONFIRMED',
    `the tree the log signed at size ${large.size} has root ${toBase64(roots.oldRoot)} at size ${small.size}, ` +
      `but the log also signed ${toBase64(small.rootHash)} for size ${small.size}`,
    signer,
  );
}
