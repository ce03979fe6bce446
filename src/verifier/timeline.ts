/**
 * When did an entry exist? Witness cosignature timestamps, never the lab's clock (DESIGN §6,
 * check 4).
 *
 * A witness cosigning a checkpoint at time t attests that the checkpoint, and so every entry
 * below its size, existed at t. A witness never cosigns a checkpoint smaller than one it has
 * cosigned (C2SP tlog-witness answers 409), so a cosignature at time t on a checkpoint that does
 * not contain entry i also shows that this witness had not cosigned any checkpoint containing i
 * before t. From the checkpoints a verifier has observed, for entry i and each witness w:
 *
 *   first_w(i)   = earliest time w cosigned an observed checkpoint of size > i
 *   absent_w(i)  = latest time w cosigned an observed checkpoint of size ≤ i
 *
 * and, with Q the policy's quorum rule over witness names:
 *
 *   witnessedAt(i) = min t such that Q({w : first_w(i) ≤ t}) holds: the entry reached a
 *                    checkpoint witnessed to quorum by then;
 *   absentUntil(i) = min t such that Q({w : absent_w(i) ≤ t or absent_w(i) unknown}) holds: before
 *                    it, too many witnesses provably had not seen the entry for any quorum to.
 *
 * A report due by deadline D (its interval end plus the pause's maximum delay) is on time iff
 * witnessedAt ≤ D, provably late iff D < absentUntil, and otherwise of unknown timeliness: a
 * verifier that was not watching the log around D cannot say (docs/verifier.md). With `quorum
 * none` the time rule is "any one witness of the policy", and without witnesses nothing can be
 * said. Pure: no I/O.
 */
import { bytesEqual } from '../core/bytes.js';
import type { VerifierKey } from '../note/keys.js';
import {
  evaluateQuorum,
  findWitness,
  QUORUM_NONE,
  type TlogPolicy,
} from '../policy/tlog-policy.js';
import { openCheckpoint } from '../tlog/checkpoint.js';
import { verifiedCosignatures } from '../tlog/cosignature.js';

/** A checkpoint the verifier has seen and checked against its policy. */
export interface ObservedCheckpoint {
  /** The signed note as served (checkpoint body, log signature, cosignatures). */
  note: string;
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Verified cosignatures of policy witnesses: witness name and signed time (POSIX seconds). */
  cosignatures: { witness: string; time: number }[];
  /** Whether the cosignatures satisfy the policy's quorum. */
  quorum: boolean;
}

/**
 * Opens a checkpoint note with the log key and the policy's witness keys.
 * @throws {VPauseError} the note and checkpoint codes of openCheckpoint
 */
export function observeCheckpoint(
  note: string,
  policy: TlogPolicy,
  logKey: VerifierKey,
): ObservedCheckpoint {
  const witnessKeys = [...policy.witnesses.values()].map((w) => w.key);
  const opened = openCheckpoint(note, logKey, witnessKeys);
  const cos = verifiedCosignatures(opened.note, opened.note.text, witnessKeys);
  const cosignatures: { witness: string; time: number }[] = [];
  for (const c of cos) {
    const w = findWitness(policy, c.key.name, c.key.keyId);
    if (w !== undefined) cosignatures.push({ witness: w.name, time: c.time });
  }
  return {
    note,
    origin: opened.checkpoint.origin,
    size: opened.checkpoint.size,
    rootHash: opened.checkpoint.rootHash,
    cosignatures,
    quorum: evaluateQuorum(policy, new Set(cosignatures.map((c) => c.witness))),
  };
}

/** The time-quorum rule: the policy's quorum, or any one witness under `quorum none`. */
export function timeQuorum(policy: TlogPolicy): (cosignedBy: ReadonlySet<string>) => boolean {
  if (policy.quorum !== QUORUM_NONE) return (s) => evaluateQuorum(policy, s);
  const names = [...policy.witnesses.keys()];
  return (s) => names.some((n) => s.has(n));
}

/** How a report's arrival compares with its deadline. */
export type Timeliness = 'on-time' | 'late' | 'unknown';

interface Segment {
  witnessedAt: number | undefined;
  absentUntil: number;
  /** the checkpoints that set first_w and absent_w: what a bundle must carry */
  evidence: ObservedCheckpoint[];
  /** the smallest checkpoint with quorum containing the segment's entries */
  quorumCheckpoint: ObservedCheckpoint | undefined;
}

/** Earliest time at which the witnesses, joining at their times, satisfy `q`. */
function quorumTime(
  joins: { witness: string; time: number }[],
  always: string[],
  q: (s: ReadonlySet<string>) => boolean,
): number | undefined {
  const set = new Set(always);
  if (q(set)) return Number.NEGATIVE_INFINITY;
  for (const j of [...joins].sort((a, b) => a.time - b.time)) {
    set.add(j.witness);
    if (q(set)) return j.time;
  }
  return undefined;
}

/** Per-entry witnessed times over a set of observed checkpoints. */
export class WitnessTimeline {
  private readonly sizes: number[];
  private readonly bySize: ObservedCheckpoint[][];
  private readonly segments = new Map<number, Segment>();
  private readonly q: (s: ReadonlySet<string>) => boolean;
  private readonly witnessNames: string[];
  private cache:
    | {
        first: Map<string, { time: number; cp: ObservedCheckpoint }>[];
        absent: Map<string, { time: number; cp: ObservedCheckpoint }>[];
        quorum: (ObservedCheckpoint | undefined)[];
      }
    | undefined;

  constructor(
    policy: TlogPolicy,
    readonly checkpoints: readonly ObservedCheckpoint[],
  ) {
    this.q = timeQuorum(policy);
    this.witnessNames = [...policy.witnesses.keys()];
    const m = new Map<number, ObservedCheckpoint[]>();
    for (const c of checkpoints) m.set(c.size, [...(m.get(c.size) ?? []), c]);
    this.sizes = [...m.keys()].sort((a, b) => a - b);
    this.bySize = this.sizes.map((s) => m.get(s)!);
  }

  /** Index of the first distinct size > i (the checkpoints from there on contain entry i). */
  private segmentOf(i: number): number {
    let lo = 0;
    let hi = this.sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sizes[mid]! > i) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Per-witness earliest cosignature over sizes ≥ j and latest over sizes < j, for every j. */
  private extremes():
    | {
        first: Map<string, { time: number; cp: ObservedCheckpoint }>[];
        absent: Map<string, { time: number; cp: ObservedCheckpoint }>[];
        quorum: (ObservedCheckpoint | undefined)[];
      }
    | undefined {
    if (this.cache !== undefined) return this.cache;
    const m = this.sizes.length;
    const first: Map<string, { time: number; cp: ObservedCheckpoint }>[] = new Array(m + 1);
    const absent: Map<string, { time: number; cp: ObservedCheckpoint }>[] = new Array(m + 1);
    const quorum: (ObservedCheckpoint | undefined)[] = new Array(m + 1);
    first[m] = new Map();
    quorum[m] = undefined;
    for (let k = m - 1; k >= 0; k--) {
      const f = new Map(first[k + 1]);
      let qc = quorum[k + 1];
      for (const cp of this.bySize[k]!) {
        if (cp.quorum) qc = cp;
        for (const c of cp.cosignatures) {
          const cur = f.get(c.witness);
          if (cur === undefined || c.time < cur.time) f.set(c.witness, { time: c.time, cp });
        }
      }
      first[k] = f;
      quorum[k] = qc;
    }
    absent[0] = new Map();
    for (let k = 0; k < m; k++) {
      const a = new Map(absent[k]);
      for (const cp of this.bySize[k]!) {
        for (const c of cp.cosignatures) {
          const cur = a.get(c.witness);
          if (cur === undefined || c.time > cur.time) a.set(c.witness, { time: c.time, cp });
        }
      }
      absent[k + 1] = a;
    }
    this.cache = { first, absent, quorum };
    return this.cache;
  }

  private segment(j: number): Segment {
    const hit = this.segments.get(j);
    if (hit !== undefined) return hit;
    const x = this.extremes()!;
    const first = x.first[j]!;
    const absent = x.absent[j]!;
    const quorumCheckpoint = x.quorum[j];
    const witnessedAt = quorumTime(
      [...first].map(([witness, v]) => ({ witness, time: v.time })),
      [],
      this.q,
    );
    const unknownAbsent = this.witnessNames.filter((n) => !absent.has(n));
    const absentUntil =
      quorumTime(
        [...absent].map(([witness, v]) => ({ witness, time: v.time })),
        unknownAbsent,
        this.q,
      ) ?? Number.POSITIVE_INFINITY;
    const evidence = new Set<ObservedCheckpoint>();
    for (const v of first.values()) evidence.add(v.cp);
    for (const v of absent.values()) evidence.add(v.cp);
    if (quorumCheckpoint !== undefined) evidence.add(quorumCheckpoint);
    const s: Segment = {
      witnessedAt: witnessedAt === Number.NEGATIVE_INFINITY ? undefined : witnessedAt,
      absentUntil,
      evidence: [...evidence],
      quorumCheckpoint,
    };
    this.segments.set(j, s);
    return s;
  }

  /** When entry i is known to have reached a checkpoint witnessed to quorum (POSIX seconds). */
  witnessedAt(i: number): number | undefined {
    return this.segment(this.segmentOf(i)).witnessedAt;
  }

  /** Before this time (POSIX seconds), entry i provably had not reached a quorum. */
  absentUntil(i: number): number {
    return this.segment(this.segmentOf(i)).absentUntil;
  }

  /** Classifies entry i against a deadline (POSIX seconds). */
  classify(i: number, deadline: number): Timeliness {
    const s = this.segment(this.segmentOf(i));
    if (s.witnessedAt !== undefined && s.witnessedAt <= deadline) return 'on-time';
    if (deadline < s.absentUntil) return 'late';
    return 'unknown';
  }

  /** The smallest observed checkpoint with quorum that contains entry i. */
  quorumCheckpoint(i: number): ObservedCheckpoint | undefined {
    return this.segment(this.segmentOf(i)).quorumCheckpoint;
  }

  /** The checkpoints that decide entry i's witnessed times (what an evidence bundle carries). */
  evidenceFor(i: number): readonly ObservedCheckpoint[] {
    return this.segment(this.segmentOf(i)).evidence;
  }
}

/** True when two observed checkpoints are the same tree head. */
export function sameTreeHead(a: ObservedCheckpoint, b: ObservedCheckpoint): boolean {
  return a.size === b.size && bytesEqual(a.rootHash, b.rootHash);
}
