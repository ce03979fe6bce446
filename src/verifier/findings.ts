/**
 * Building findings: each cites the statements it rests on, and every statement cited or read
 * by the evaluation is recorded as used (the evidence bundle carries exactly those). Pure.
 */
import {
  type CheckpointRef,
  type EvidenceItem,
  FINDING_CODES,
  FINDING_SEVERITY,
  type Finding,
  type FindingCode,
} from '../../protocol/src/verdict.js';
import { toBase64 } from '../core/bytes.js';
import type { StatementRecord } from './log-index.js';
import type { ObservedCheckpoint } from './timeline.js';

/** Most evidence items listed in one finding; the rest are counted in `evidenceOmitted`. */
export const EVIDENCE_CAP = 100;

/** A statement cited by a finding, with what it is to the finding. */
export type Cited = readonly [StatementRecord, string];

export function checkpointRef(c: ObservedCheckpoint): CheckpointRef {
  return { origin: c.origin, size: c.size, rootHash: toBase64(c.rootHash) };
}

/** Code-unit string order (locale-independent, so verdicts are identical everywhere). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const MAX_BIT_INDEX = 2 ** 26;

/**
 * The statements an evaluation used, by leaf index, in the order first used. A list with one bit
 * per leaf index below 2^26 (most statements are used several times, and a bit costs less than a
 * map lookup; an evaluation has one record per index): a Map of 200,000 reports cost ~10 % of an
 * evaluation in hash inserts. Indexes from 2^26 on are deduplicated by a set.
 */
export class UsedStatements {
  private readonly list: StatementRecord[] = [];
  /** their leaf indexes, in the same order (loops over indexes need not touch the records) */
  private readonly indexList: number[] = [];
  private bits = new Uint8Array(0);
  /** the indexes from 2^26 on */
  private readonly high = new Set<number>();

  /** Adds a statement unless its leaf index is already in. */
  add(r: StatementRecord): void {
    const i = r.index;
    if (i >= MAX_BIT_INDEX) {
      if (this.high.has(i)) return;
      this.high.add(i);
    } else {
      const byte = i >>> 3;
      const bit = 1 << (i & 7);
      if (byte < this.bits.length) {
        if ((this.bits[byte]! & bit) !== 0) return;
      } else {
        const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2, 1024));
        grown.set(this.bits);
        this.bits = grown;
      }
      this.bits[byte]! |= bit;
    }
    this.list.push(r);
    this.indexList.push(i);
  }

  get size(): number {
    return this.list.length;
  }

  /** The leaf indexes as a list, in the order first used (live: it grows with `add`). */
  get indexes(): readonly number[] {
    return this.indexList;
  }

  /** The statements as a list, in the same order as `indexes` (live). */
  get records(): readonly StatementRecord[] {
    return this.list;
  }
}

/** Collects findings and the statements the evaluation used. */
export class FindingSet {
  private readonly list: Finding[] = [];
  /** every statement the evaluation read or cited */
  readonly used = new UsedStatements();

  /** Records statements as used without citing them. */
  use(...records: readonly (StatementRecord | undefined)[]): void {
    for (const r of records) if (r !== undefined) this.used.add(r);
  }

  /** Records one statement as used. */
  useOne(r: StatementRecord): void {
    this.used.add(r);
  }

  /** Records every statement of a list as used. */
  useAll(records: readonly StatementRecord[]): void {
    for (const r of records) this.used.add(r);
  }

  add(
    code: FindingCode,
    message: string,
    opts: {
      subject?: Finding['subject'];
      evidence?: readonly Cited[];
      checkpoints?: readonly ObservedCheckpoint[];
      data?: Record<string, unknown>;
    } = {},
  ): void {
    const seen = new Set<number>();
    const items: EvidenceItem[] = [];
    const sorted = [...(opts.evidence ?? [])].sort((a, b) => a[0].index - b[0].index);
    for (const [r, role] of sorted) {
      this.useOne(r);
      if (seen.has(r.index)) continue;
      seen.add(r.index);
      items.push({ index: r.index, leafHash: r.leafHash, role });
    }
    const f: Finding = {
      code,
      severity: FINDING_SEVERITY[code],
      message,
      evidence: items.slice(0, EVIDENCE_CAP),
    };
    if (items.length > EVIDENCE_CAP) f.evidenceOmitted = items.length - EVIDENCE_CAP;
    if (opts.subject !== undefined) f.subject = opts.subject;
    if (opts.checkpoints !== undefined && opts.checkpoints.length > 0) {
      f.checkpoints = opts.checkpoints.map(checkpointRef);
    }
    if (opts.data !== undefined) f.data = opts.data;
    this.list.push(f);
  }

  /** The findings in a stable order: by check (code order), then subject, then message. */
  findings(): Finding[] {
    const order = new Map<string, number>(FINDING_CODES.map((c, i) => [c, i]));
    const key = (f: Finding) =>
      f.subject === undefined
        ? ''
        : [f.subject.facility, f.subject.cluster, f.subject.node, f.subject.meter, f.subject.day]
            .map((x) => x ?? '')
            .join('/');
    return [...this.list].sort(
      (a, b) =>
        order.get(a.code)! - order.get(b.code)! ||
        cmp(key(a), key(b)) ||
        cmp(a.message, b.message) ||
        (a.evidence[0]?.index ?? -1) - (b.evidence[0]?.index ?? -1),
    );
  }
}
