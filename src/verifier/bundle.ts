/**
 * Evidence bundles: everything a verdict rests on, in one JSON file anyone holding the trust
 * policy can re-check offline (DESIGN §6):
 *
 * - `anchor`: the checkpoint the verdict relies on (signed note with cosignatures);
 * - `statements`: every statement used, as the log entry (base64) with a C2SP tlog-proof of
 *   inclusion against the anchor;
 * - `checkpoints`: the other checkpoints the verdict rests on (the witness times of timeliness,
 *   the first checkpoint with quorum of each statement), each with an RFC 9162 consistency proof
 *   to the anchor;
 * - `forks`: fork evidence held against the log; `audits`: challenges sent and answers received;
 * - `verdict`: the verdict as the verifier reached it.
 *
 * `checkBundle` verifies every signature, proof, cosignature and quorum again, rebuilds the index
 * from the statements and runs the same evaluation (./evaluate.ts), which is deterministic: an
 * untampered bundle gives the same verdict. A bundle proves what is in it; a statement left out
 * would show as missing, never as compliant. Pure: no I/O.
 */
import { jcs } from '../../protocol/src/jcs.js';
import { parseTime } from '../../protocol/src/time.js';
import {
  BUNDLE_TYPE,
  type BundleAudit,
  type EvidenceBundle,
  evidenceBundleSchema,
  type Verdict,
} from '../../protocol/src/verdict.js';
import { bytesEqual, fromBase64, toBase64, toHex } from '../core/bytes.js';
import { emptyRoot, hashLeaf, verifyConsistency } from '../merkle/rfc9162.js';
import type { ForkEvidence } from '../monitor/evidence.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { openCheckpoint, parseCheckpoint } from '../tlog/checkpoint.js';
import { formatTlogProof, parseTlogProof, verifyTlogProofInclusion } from '../tlog/proof.js';
import { decodeEntry } from './decode.js';
import { VerifierError } from './errors.js';
import { type Evaluation, evaluatePause, type Question } from './evaluate.js';
import { LogIndex, type StatementRecord, toRecord } from './log-index.js';
import { type ObservedCheckpoint, observeCheckpoint, WitnessTimeline } from './timeline.js';

/** Where a bundle's entries and proofs come from (the log follower, or an in-memory log). */
export interface BundleSource {
  entriesOf(
    records: readonly { index: number; leafHash: string }[],
  ): Promise<Map<number, Uint8Array>>;
  inclusionProof(
    index: number,
    leafHash: Uint8Array,
    cp: ObservedCheckpoint,
  ): Promise<Uint8Array[]>;
  consistencyProof(a: ObservedCheckpoint, b: ObservedCheckpoint): Promise<Uint8Array[]>;
}

/**
 * Builds the evidence bundle of an evaluation.
 * @throws {VerifierError} BUNDLE_INVALID when the evaluation has no anchor checkpoint
 * @throws {VPauseError} the source's errors (LOG_BAD_RESPONSE, LOG_UNREACHABLE)
 */
export async function buildBundle(
  source: BundleSource,
  ev: Evaluation,
  anchor: ObservedCheckpoint | undefined,
  question: Question,
  extra: { forks?: readonly ForkEvidence[]; audits?: readonly BundleAudit[] } = {},
): Promise<EvidenceBundle> {
  if (anchor === undefined)
    throw new VerifierError('BUNDLE_INVALID', 'no checkpoint to anchor the bundle to');
  const records = [...ev.used.records].sort((a, b) => a.index - b.index);
  const entries = await source.entriesOf(records);
  const statements: EvidenceBundle['statements'] = [];
  for (const r of records) {
    const entry = entries.get(r.index)!;
    const hashes = await source.inclusionProof(r.index, hashLeaf(entry), anchor);
    statements.push({
      entry: toBase64(entry),
      proof: formatTlogProof({ index: r.index, hashes, checkpoint: anchor.note }),
    });
  }
  const checkpoints: EvidenceBundle['checkpoints'] = [];
  for (const c of ev.checkpoints) {
    if (c.note === anchor.note) continue;
    const proof =
      c.size === 0 || c.size === anchor.size ? [] : await source.consistencyProof(c, anchor);
    checkpoints.push({ note: c.note, consistency: proof.map(toBase64) });
  }
  const q: EvidenceBundle['question'] = {
    lab: question.lab,
    pause: question.pause,
    asOf: ev.verdict.asOf,
  };
  if (question.from !== undefined) q.from = question.from;
  if (question.to !== undefined) q.to = question.to;
  return {
    v: 1,
    type: BUNDLE_TYPE,
    question: q,
    anchor: anchor.note,
    checkpoints,
    statements,
    forks: [...(extra.forks ?? [])] as unknown as Record<string, unknown>[],
    audits: [...(extra.audits ?? [])],
    verdict: ev.verdict,
  };
}

/** The outcome of re-checking a bundle. */
export interface BundleCheck {
  /** the verdict the bundle's evidence gives */
  verdict: Verdict;
  /** the verdict written in the bundle */
  claimed: Verdict;
  /** whether the two are identical */
  same: boolean;
}

function invalid(msg: string, cause?: unknown): never {
  throw new VerifierError('BUNDLE_INVALID', msg, cause === undefined ? {} : { cause });
}

/** The policy log key that verifies a checkpoint note. */
function logKeyFor(policy: VPausePolicy, note: string): VerifierKey {
  let origin: string;
  try {
    origin = parseCheckpoint(parseNote(note).text).origin;
  } catch (e) {
    invalid(`the anchor is not a checkpoint: ${(e as Error).message}`, e);
  }
  for (const l of policy.tlog.logs) {
    if (l.key.name !== origin) continue;
    try {
      openCheckpoint(note, l.key);
      return l.key;
    } catch {
      // the next key
    }
  }
  invalid(`no log key of the policy verifies the anchor checkpoint of ${JSON.stringify(origin)}`);
}

/**
 * Re-checks an evidence bundle offline: the anchor and every checkpoint against the policy's log
 * and witness keys (and their consistency with the anchor), every statement's inclusion proof,
 * then every signature and check again.
 * @throws {VerifierError} BUNDLE_INVALID when the bundle does not parse, a checkpoint or proof
 *   does not verify, or an entry does not decode; PAUSE_NOT_FOUND, QUESTION_INVALID from the
 *   evaluation
 */
export function checkBundle(bundle: unknown, policy: VPausePolicy): BundleCheck {
  const parsed = evidenceBundleSchema.safeParse(bundle);
  if (!parsed.success)
    invalid(`not a ${BUNDLE_TYPE}: ${parsed.error.issues[0]?.message ?? 'schema'}`);
  const b = parsed.data;
  const key = logKeyFor(policy, b.anchor);
  let anchor: ObservedCheckpoint;
  try {
    anchor = observeCheckpoint(b.anchor, policy.tlog, key);
  } catch (e) {
    invalid(`the anchor checkpoint does not verify: ${(e as Error).message}`, e);
  }
  const checkpoints: ObservedCheckpoint[] = [anchor];
  for (const [i, c] of b.checkpoints.entries()) {
    let o: ObservedCheckpoint;
    try {
      o = observeCheckpoint(c.note, policy.tlog, key);
    } catch (e) {
      invalid(`checkpoint ${i} does not verify: ${(e as Error).message}`, e);
    }
    if (o.size > anchor.size) invalid(`checkpoint ${i} is larger than the anchor`);
    try {
      if (o.size === anchor.size) {
        if (!bytesEqual(o.rootHash, anchor.rootHash))
          invalid(`checkpoint ${i} has another root at the anchor's size`);
      } else if (o.size === 0) {
        if (!bytesEqual(o.rootHash, emptyRoot()))
          invalid(`checkpoint ${i} of size 0 has a non-empty root`);
      } else {
        verifyConsistency(
          o.size,
          anchor.size,
          c.consistency.map(fromBase64),
          o.rootHash,
          anchor.rootHash,
        );
      }
    } catch (e) {
      if (e instanceof VerifierError) throw e;
      invalid(`checkpoint ${i} is not consistent with the anchor: ${(e as Error).message}`, e);
    }
    checkpoints.push(o);
  }
  const records: StatementRecord[] = [];
  const seen = new Set<number>();
  for (const [i, s] of b.statements.entries()) {
    let entry: Uint8Array;
    let index: number;
    try {
      entry = fromBase64(s.entry);
      const proof = parseTlogProof(s.proof);
      if (proof.checkpoint !== b.anchor)
        invalid(`statement ${i}: its proof is not against the anchor`);
      verifyTlogProofInclusion(proof, hashLeaf(entry), anchor);
      index = proof.index;
    } catch (e) {
      if (e instanceof VerifierError) throw e;
      invalid(`statement ${i}: ${(e as Error).message}`, e);
    }
    if (seen.has(index)) invalid(`statement ${i}: index ${index} appears twice`);
    seen.add(index);
    let d: ReturnType<typeof decodeEntry>;
    try {
      d = decodeEntry(entry);
    } catch (e) {
      invalid(`statement ${i} (index ${index}) does not decode: ${(e as Error).message}`, e);
    }
    records.push(toRecord(index, toHex(hashLeaf(entry)), d));
  }
  const index = new LogIndex();
  for (const r of records.sort((x, y) => x.index - y.index)) index.file(r);
  const question: Question = { lab: b.question.lab, pause: b.question.pause };
  if (b.question.from !== undefined) question.from = b.question.from;
  if (b.question.to !== undefined) question.to = b.question.to;
  const ev = evaluatePause({
    policy,
    index,
    timeline: new WitnessTimeline(policy.tlog, checkpoints),
    anchor,
    forks: b.forks,
    audits: b.audits,
    question,
    asOf: parseTime(b.question.asOf),
  });
  return { verdict: ev.verdict, claimed: b.verdict, same: jcs(ev.verdict) === jcs(b.verdict) };
}
