/**
 * The verifier's pure core: given the trust policy, the verified view of the log (statements
 * with their leaf indexes and hashes, the checkpoints observed with their witness times) and a
 * question — is lab L's pause P respected over [from, to)? — run the seven checks of DESIGN §6
 * and produce the verdict. No I/O, no clock (the time the verdict speaks for is an input), no
 * randomness: the same inputs give the same verdict, which is what lets an evidence bundle be
 * re-checked offline to the same answer.
 *
 * The rules, check by check, are in docs/verifier.md. In short:
 *   1 authenticity   ./authenticity.ts (SPEC rule 20, re-derived from the log's registrations)
 *   2 log integrity  fork evidence; every statement used covered by a checkpoint with quorum
 *   3 completeness   every node of the inventory in effect, in the pause's scope, reports every
 *                    interval of the cadence (aligned to the pause start) once it is due; per node
 *                    `seq` contiguous and `prev` chained
 *   4 timeliness     ./timeline.ts: witnessed before interval end + maxDelaySeconds
 *   5 limits         FLOP per UTC day (summed over the scope, reports split pro rata across
 *                    midnight and the pause bounds) and allowed workloads
 *   6 physics        ./physics.ts per metered facility wholly in scope, α split across facilities
 *   7 audit          disclosed bodies and samples checked with checkAuditResponse
 */
import { checkAuditResponse } from '../../nodes/daemon/audit/check.js';
import {
  type AuditChallenge,
  auditChallengeSchema,
  auditResponseSchema,
} from '../../nodes/daemon/audit/protocol.js';
import {
  type InventoryPayload,
  PAYLOAD_TYPE,
  type UsagePayload,
} from '../../protocol/src/schemas.js';
import { formatTime, isTime, parseTime } from '../../protocol/src/time.js';
import {
  type BundleAudit,
  type Detection,
  type FacilityDetection,
  type Finding,
  type Verdict,
  verdictOf,
} from '../../protocol/src/verdict.js';
import { checkForkEvidence } from '../monitor/evidence.js';
import { parseNote } from '../note/note.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import { KeyTable, labRootKeys, signedBy } from './authenticity.js';
import { VerifierError } from './errors.js';
import { type Cited, checkpointRef, cmp, FindingSet, type UsedStatements } from './findings.js';
import {
  chainsTo,
  energyOf,
  flopOf,
  type InventoryRecord,
  type LabStatements,
  type LogIndex,
  type MeterRecord,
  meterOf,
  nodeId,
  type PauseRecord,
  prevIsZero,
  type StatementRecord,
  samePayload,
  seqOf,
  type UsageRecord,
  usageNode,
  workloadOf,
} from './log-index.js';
import { type PhysicsInterval, type PhysicsResult, physicsCheck } from './physics.js';
import type { ObservedCheckpoint, WitnessTimeline } from './timeline.js';

/** Is lab `lab`'s pause `pause` respected over [from, to)? */
export interface Question {
  lab: string;
  pause: string;
  /** default: the pause's start */
  from?: string;
  /** default: the pause's end, or `asOf` for an open pause (never beyond `asOf`) */
  to?: string;
}

export interface EvaluationInput {
  policy: VPausePolicy;
  index: LogIndex;
  timeline: WitnessTimeline;
  /** the checkpoint the verdict relies on (the latest observed) */
  anchor: ObservedCheckpoint | undefined;
  /** fork evidence documents (vpause.fork-evidence/v1) held against the log */
  forks?: readonly unknown[];
  /** audits run (challenge and answer), checked again here */
  audits?: readonly BundleAudit[];
  question: Question;
  /** the time the verdict speaks for, POSIX seconds */
  asOf: number;
}

export interface Evaluation {
  verdict: Verdict;
  /** every statement the verdict rests on, by leaf index */
  used: UsedStatements;
  /** the checkpoints the verdict rests on (anchor and the witnessed times of the statements) */
  checkpoints: ObservedCheckpoint[];
  /** authentic usage reports in the window (what an audit samples) */
  reports: UsageRecord[];
  pause: PauseRecord;
}

/**
 * @internal For tests: check every chain the general way (by a seq map), not the way a chain of
 * reports that run on by one seq is checked; the two must give the same verdict.
 */
export const evaluateTesting = { generalChains: false };

/** Most intervals × nodes one evaluation walks (a year of 5-minute reports from 100 nodes). */
export const MAX_EXPECTED_REPORTS = 12_000_000;
/** How many intervals a finding lists in `data` before counting the rest. */
const LIST_CAP = 50;
const DAY = 86_400;

const EMPTY_LAB: LabStatements = {
  registrations: [],
  inventories: [],
  pauses: [],
  usage: new Map(),
};

interface Interval {
  start: number;
  end: number;
}

interface NodeView {
  id: string;
  facility: string;
  cluster: string;
  node: string;
  scoped: boolean;
  /** authentic reports, one per distinct payload, in log order */
  authentic: UsageRecord[];
  /** the intervals of the question (by number) the node has an authentic aligned report for */
  aligned: IntervalFlags;
  /** authentic reports by seq */
  bySeq: SeqIndex;
}

/**
 * Which intervals of a question (numbered k from the pause start, kFirst ≤ k < kEnd) a node has
 * a report aligned to, a bit each. The evaluation asks once per node and interval (completeness
 * and physics: 200,000 questions for 100 nodes over a week), where a Set of start times cost a
 * hash lookup each. Bits are allocated up to the highest interval set, so a node costs at most
 * (kEnd − kFirst) / 8 bytes; intervals outside the question are not kept.
 */
class IntervalFlags {
  private bits = new Uint8Array(0);
  constructor(
    private readonly first: number,
    private readonly end: number,
  ) {}

  set(k: number): void {
    if (!(k >= this.first && k < this.end)) return;
    const i = k - this.first;
    const byte = i >>> 3;
    if (byte >= this.bits.length) {
      const most = (this.end - this.first + 7) >>> 3;
      const grown = new Uint8Array(Math.min(most, Math.max(byte + 1, this.bits.length * 2, 64)));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (i & 7);
  }

  has(k: number): boolean {
    const i = k - this.first;
    const byte = i >>> 3;
    return i >= 0 && byte < this.bits.length && (this.bits[byte]! & (1 << (i & 7))) !== 0;
  }
}

/**
 * A node's authentic reports by seq (one per distinct payload, in log order). While their seqs
 * run on by one from the first, as a chain's do, the list itself is the index (no map, and no
 * duplicate payload is possible: each has a seq of its own); the first report out of that order
 * turns it into a map.
 */
class SeqIndex {
  private base = 0;
  private map: Map<number, UsageRecord[]> | undefined;

  /** @param list the node's authentic reports, which `add` decides and the caller appends to */
  constructor(readonly list: UsageRecord[]) {}

  /** While true, the report of seq s is list[s - first] and there is no other. */
  get contiguous(): boolean {
    return this.map === undefined;
  }

  get first(): number {
    return this.base;
  }

  /**
   * Takes an authentic report (the caller then appends it to the list), unless one with the same
   * payload is there already (false: it counts once). The same payload has the same seq.
   */
  add(r: UsageRecord, seq: number): boolean {
    if (this.map === undefined) {
      const n = this.list.length;
      if (n === 0) this.base = seq;
      if (seq === this.base + n) return true;
      this.map = new Map();
      for (let k = 0; k < n; k++) this.map.set(this.base + k, [this.list[k]!]);
    }
    const same = this.map.get(seq);
    if (same === undefined) this.map.set(seq, [r]);
    else if (same.some((x) => samePayload(x, r))) return false;
    else same.push(r);
    return true;
  }

  /** The map view (made on demand in the contiguous case). */
  byMap(): Map<number, UsageRecord[]> {
    if (this.map !== undefined) return this.map;
    const m = new Map<number, UsageRecord[]>();
    for (let k = 0; k < this.list.length; k++) m.set(this.base + k, [this.list[k]!]);
    return m;
  }
}

// Loops over every report stay out of `evaluatePause` itself (here, or in closures): a hot loop
// in a function of ~900 lines had V8 compile the whole rest of it for on-stack replacement, nine
// times a verification (~190 ms of TurboFan for the bench log, 147 ms of it for two loops); in a
// small function only the loop is compiled.

/** Calls `fn` on each element of `list`, in order. */
function eachOf<T>(list: readonly T[], fn: (x: T) => void): void {
  for (let j = 0; j < list.length; j++) fn(list[j]!);
}

/** The in-scope reports that declare FLOP, in view order. */
function reportsWithFlop(views: readonly NodeView[]): UsageRecord[] {
  const out: UsageRecord[] = [];
  for (const v of views) {
    if (!v.scoped) continue;
    for (let j = 0, list = v.authentic; j < list.length; j++) {
      if (flopOf(list[j]!) !== 0) out.push(list[j]!);
    }
  }
  return out;
}

/** How many of `list` pass `keep`, and the least and greatest seq among those (∞, -1: none). */
function seqSpan(
  list: readonly UsageRecord[],
  keep: (r: UsageRecord) => boolean,
): { n: number; min: number; max: number } {
  let n = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = -1;
  for (let j = 0; j < list.length; j++) {
    const r = list[j]!;
    if (!keep(r)) continue;
    n++;
    const seq = seqOf(r);
    min = Math.min(min, seq);
    max = Math.max(max, seq);
  }
  return { n, min, max };
}

/** Fills in `t0`/`t1` (POSIX seconds of `start`/`end`) when a record lacks them. */
function timed(r: StatementRecord): StatementRecord & { t0: number; t1: number } {
  if (r.t0 === undefined || r.t1 === undefined) {
    const p = r.payload as { start: string; end: string };
    r.t0 = parseTime(p.start);
    r.t1 = parseTime(p.end);
  }
  return r as StatementRecord & { t0: number; t1: number };
}

function timesOf(r: StatementRecord): Interval {
  const x = timed(r);
  return { start: x.t0, end: x.t1 };
}

/** Seconds of [s0, s1) inside [b.start, b.end). */
function overlapOf(s0: number, s1: number, b: Interval): number {
  return Math.max(0, Math.min(s1, b.end) - Math.max(s0, b.start));
}

function overlap(a: Interval, b: Interval): number {
  return overlapOf(a.start, a.end, b);
}

const t = (s: number) => formatTime(s);
const ivText = (iv: Interval) => `[${t(iv.start)}, ${t(iv.end)})`;

function nodeSubject(v: { facility: string; cluster: string; node: string }): Finding['subject'] {
  return { facility: v.facility, cluster: v.cluster, node: v.node };
}

function parseQuestionTime(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  if (!isTime(s))
    throw new VerifierError(
      'QUESTION_INVALID',
      `${what} ${JSON.stringify(s)} is not an RFC 3339 UTC time`,
    );
  return parseTime(s);
}

function fmtNum(x: number): string {
  return x >= 1e6 || (x > 0 && x < 1e-3) ? x.toExponential(3) : String(Math.round(x * 1000) / 1000);
}

/**
 * Runs the seven checks and returns the verdict with the statements and checkpoints it rests on.
 * @throws {VerifierError} PAUSE_NOT_FOUND when the log has no authentic declaration of the pause;
 *   QUESTION_INVALID for a malformed time or a window with more than MAX_EXPECTED_REPORTS reports
 */
export function evaluatePause(input: EvaluationInput): Evaluation {
  const { policy, index, timeline, question: q, asOf } = input;
  const fs = new FindingSet();
  const L = input.index.labs.get(q.lab) ?? EMPTY_LAB;
  const roots = labRootKeys(policy, q.lab);

  // ---- 1. authenticity of the lab's own statements ------------------------------------------
  const labAuthentic = <R extends StatementRecord>(recs: readonly R[], role: string): R[] => {
    const out: R[] = [];
    for (const r of recs) {
      fs.use(r);
      const a = signedBy(r, roots);
      if (a.ok) out.push(r);
      else {
        fs.add(a.code, `${role} at log index ${r.index} is not authentic: ${a.reason}`, {
          evidence: [[r, role]],
        });
      }
    }
    return out;
  };
  const registrations = labAuthentic(L.registrations, 'registration');
  const inventories = labAuthentic(L.inventories, 'inventory');
  const pauses = labAuthentic(
    L.pauses.filter((r) => r.payload.id === q.pause),
    'pause',
  );
  const pause = pauses[0];
  if (pause === undefined) {
    throw new VerifierError(
      'PAUSE_NOT_FOUND',
      `the log has no authentic pause declaration ${JSON.stringify(q.pause)} of lab ${q.lab}`,
    );
  }
  const P = pause.payload;
  const keys = new KeyTable(registrations);

  // ---- the window and the reporting intervals -----------------------------------------------
  const S = parseTime(P.start);
  const E = P.end === null ? Number.POSITIVE_INFINITY : parseTime(P.end);
  const from = Math.max(S, parseQuestionTime(q.from, 'from') ?? S);
  let to = Math.min(E, parseQuestionTime(q.to, 'to') ?? asOf, asOf);
  if (to < from) to = from;
  const I = P.reporting.intervalSeconds;
  const maxDelay = P.reporting.maxDelaySeconds;
  const kFirst = Math.ceil((from - S) / I);
  const kEnd = Math.max(kFirst, Math.floor((to - S) / I));
  const intervals: Interval[] = [];
  for (let k = kFirst; k < kEnd; k++) intervals.push({ start: S + k * I, end: S + (k + 1) * I });
  const window: Interval = { start: from, end: to };
  const scopeAll = P.scope.includes('*');
  const scopeSet = new Set(P.scope);
  const inScope = (f: string, c: string) => scopeAll || scopeSet.has(`${f}/${c}`);

  // ---- inventories in effect ----------------------------------------------------------------
  const invSorted = inventories
    .map((r) => ({ r, t: parseTime(r.payload.time) }))
    .sort((a, b) => a.t - b.t || a.r.index - b.r.index);
  const inventoryAt = (time: number): InventoryRecord | undefined => {
    let best: InventoryRecord | undefined;
    for (const x of invSorted) if (x.t <= time) best = x.r;
    return best ?? invSorted[0]?.r;
  };
  type InvNode = InventoryPayload['nodes'][number];
  const expectedOf = new Map<InventoryRecord, InvNode[]>();
  const invForInterval: (InventoryRecord | undefined)[] = intervals.map((iv) =>
    inventoryAt(iv.start),
  );
  for (const inv of invForInterval) {
    if (inv === undefined || expectedOf.has(inv)) continue;
    expectedOf.set(
      inv,
      inv.payload.nodes.filter((n) => inScope(n.facility, n.cluster)),
    );
  }
  let expectedTotal = 0;
  for (const inv of invForInterval)
    expectedTotal += inv === undefined ? 0 : expectedOf.get(inv)!.length;
  /** the node ids of `expectedOf`, computed once per inventory */
  const expectedIds = new Map<InventoryRecord, string[]>();
  for (const [inv, nodes] of expectedOf) expectedIds.set(inv, nodes.map(nodeId));
  if (expectedTotal > MAX_EXPECTED_REPORTS) {
    throw new VerifierError(
      'QUESTION_INVALID',
      `the window asks for ${expectedTotal} reports (more than ${MAX_EXPECTED_REPORTS}): narrow it with from/to`,
    );
  }
  if (inventories.length === 0 && intervals.length > 0) {
    fs.add(
      'inventory-missing',
      `lab ${q.lab} has logged no authentic inventory: the nodes expected to report are unknown`,
      {
        evidence: [[pause, 'pause']],
      },
    );
  }

  // ---- facilities: which the physics check covers --------------------------------------------
  const scopeFacilities = new Set<string>();
  const partlyOutside = new Set<string>();
  for (const inv of expectedOf.keys()) {
    fs.use(inv);
    for (const n of inv.payload.nodes) {
      if (inScope(n.facility, n.cluster)) scopeFacilities.add(n.facility);
      else partlyOutside.add(n.facility);
    }
  }

  // ---- usage reports: authenticity, de-duplication, selection --------------------------------
  const dayStart = Math.floor(from / DAY) * DAY;
  const dayEnd = Math.max(dayStart + DAY, Math.ceil(to / DAY) * DAY);
  const range: Interval = { start: Math.max(dayStart, S), end: Math.min(dayEnd, E) };
  const inRange = (r: UsageRecord) => {
    const x = timed(r);
    return overlapOf(x.t0, x.t1, range) > 0;
  };
  const inWindow = (r: UsageRecord) => {
    const x = timed(r);
    return overlapOf(x.t0, x.t1, window) > 0;
  };
  const views: NodeView[] = [];
  const inauthentic = new Map<
    string,
    { view: NodeView; code: string; reason: string; cited: Cited[] }
  >();
  /** A node's authentic reports, de-duplicated, into its view (inauthentic ones selected: cited). */
  const selectReports = (v: NodeView, id: string, recs: readonly UsageRecord[]) => {
    for (let j = 0; j < recs.length; j++) {
      const r = recs[j]!;
      const a = keys.check(r, id);
      const selected = v.scoped ? inRange(r) : inWindow(r);
      if (!a.ok) {
        if (!selected) continue;
        const key = `${id}\u0000${a.code}`;
        let agg = inauthentic.get(key);
        if (agg === undefined) {
          agg = { view: v, code: a.code, reason: a.reason, cited: [] };
          inauthentic.set(key, agg);
        }
        agg.cited.push([r, 'report']);
        for (const reg of a.registrations)
          agg.cited.push([reg, reg.payload.action === 'revoke' ? 'revocation' : 'registration']);
        continue;
      }
      // One payload logged twice counts once (the same payload has the same seq).
      if (!v.bySeq.add(r, seqOf(r))) continue;
      v.authentic.push(r);
      const ts = timed(r);
      if ((ts.t0 - S) % I === 0 && ts.t1 - ts.t0 === I) v.aligned.set((ts.t0 - S) / I);
    }
  };
  for (const [id, recs] of [...L.usage].sort((a, b) => cmp(a[0], b[0]))) {
    const p0 = recs[0]!.payload;
    const v: NodeView = {
      id,
      facility: p0.facility,
      cluster: p0.cluster,
      node: p0.node,
      scoped: inScope(p0.facility, p0.cluster),
      authentic: [],
      aligned: new IntervalFlags(kFirst, kEnd),
      bySeq: undefined as unknown as SeqIndex,
    };
    v.bySeq = new SeqIndex(v.authentic);
    if (!v.scoped && !scopeFacilities.has(v.facility)) continue;
    selectReports(v, id, recs);
    views.push(v);
  }
  for (const agg of inauthentic.values()) {
    const n = agg.cited.filter((c) => c[1] === 'report').length;
    fs.add(
      agg.code as 'bad-signature',
      `${n} report(s) of ${agg.view.id} are not authentic: ${agg.reason}`,
      { subject: nodeSubject(agg.view), evidence: agg.cited },
    );
  }
  const byId = new Map(views.map((v) => [v.id, v]));
  const windowReports: UsageRecord[] = [];
  for (const v of views) {
    if (!v.scoped) continue;
    eachOf(v.authentic, (r) => {
      if (inRange(r)) fs.useOne(r);
      if (inWindow(r)) windowReports.push(r);
    });
  }

  // ---- 3. completeness: chains ---------------------------------------------------------------
  /** A chain's seq 0 links to 64 zeros. */
  const checkFirstPrev = (v: NodeView, r: UsageRecord) => {
    if (!prevIsZero(r)) {
      fs.add('chain-break', `${v.id}: seq 0 has prev ${r.payload.prev}, not 64 zeros`, {
        subject: nodeSubject(v),
        evidence: [[r, 'report']],
      });
    }
  };
  /**
   * The checks below for a node whose reports run on by one seq from the first: no
   * equivocation, no gap inside, so only a gap before the first and the `prev` links (the same
   * findings, and the same statements used in the same order, as the general case).
   */
  const contiguousChain = (v: NodeView, sMin: number, sMax: number) => {
    const list = v.bySeq.list;
    const base = v.bySeq.first;
    if (sMin > 0 && sMin === base) {
      fs.add('seq-gap', `${v.id}: seq 0…${sMin - 1} not in the log (before seq ${sMin})`, {
        subject: nodeSubject(v),
        evidence: [[list[0]!, 'next']],
        data: { missingFrom: 0, missingTo: sMin - 1 },
      });
    }
    for (let s = sMin; s <= sMax; s++) {
      const r = list[s - base]!;
      fs.useOne(r); // read by the chain check, so part of the evidence
      if (s === 0) {
        checkFirstPrev(v, r);
        continue;
      }
      if (s - 1 < base) continue; // a gap, reported above
      const x = list[s - 1 - base]!;
      fs.useOne(x);
      if (!chainsTo(r, x)) {
        fs.add(
          'chain-break',
          `${v.id}: seq ${s} names prev ${r.payload.prev.slice(0, 16)}…, but the logged seq ${s - 1} hashes to ${x.payloadHash.slice(0, 16)}… (a rewritten report)`,
          {
            subject: nodeSubject(v),
            evidence: [
              [x, 'previous'],
              [r, 'report'],
            ],
          },
        );
      }
    }
  };
  for (const v of views) {
    if (!v.scoped) continue;
    const { n: inWin, min: sMin, max: sMax } = seqSpan(v.authentic, inWindow);
    if (inWin === 0) continue;
    if (v.bySeq.contiguous && !evaluateTesting.generalChains) {
      contiguousChain(v, sMin, sMax);
      continue;
    }
    const bySeq = v.bySeq.byMap();
    // Equivocation: two payloads for one seq.
    for (let s = Math.max(0, sMin - 1); s <= sMax; s++) {
      const l = bySeq.get(s);
      if (l !== undefined && l.length > 1) {
        fs.add('equivocation', `${v.id} signed ${l.length} different reports with seq ${s}`, {
          subject: nodeSubject(v),
          evidence: l.map((r) => [r, 'report'] as const),
        });
      }
    }
    // A gap before the first report of the window.
    if (sMin > 0 && !bySeq.has(sMin - 1)) {
      let p = -1;
      for (const s of bySeq.keys()) if (s < sMin && s > p) p = s;
      const first = bySeq.get(sMin)!;
      const cited: Cited[] = first.map((r) => [r, 'next'] as const);
      if (p >= 0) for (const r of bySeq.get(p)!) cited.push([r, 'previous']);
      fs.add('seq-gap', `${v.id}: seq ${p + 1}…${sMin - 1} not in the log (before seq ${sMin})`, {
        subject: nodeSubject(v),
        evidence: cited,
        data: { missingFrom: p + 1, missingTo: sMin - 1 },
      });
    }
    for (let s = sMin; s <= sMax; s++) {
      const here = bySeq.get(s);
      if (here === undefined) {
        let e = s;
        while (e + 1 <= sMax && !bySeq.has(e + 1)) e++;
        const before = bySeq.get(s - 1) ?? [];
        const after = bySeq.get(e + 1) ?? [];
        fs.add('seq-gap', `${v.id}: seq ${s === e ? s : `${s}…${e}`} not in the log`, {
          subject: nodeSubject(v),
          evidence: [
            ...before.map((r) => [r, 'previous'] as const),
            ...after.map((r) => [r, 'next'] as const),
          ],
          data: { missingFrom: s, missingTo: e },
        });
        s = e;
        continue;
      }
      const prevs = s === 0 ? undefined : bySeq.get(s - 1);
      fs.useAll(here); // read by the chain check, so part of the evidence
      for (let j = 0; j < here.length; j++) {
        const r = here[j]!;
        if (s === 0) {
          checkFirstPrev(v, r);
          continue;
        }
        if (prevs === undefined) continue; // a gap, reported above
        fs.useAll(prevs);
        if (!prevs.some((x) => chainsTo(r, x))) {
          fs.add(
            'chain-break',
            `${v.id}: seq ${s} names prev ${r.payload.prev.slice(0, 16)}…, but the logged seq ${s - 1} hashes to ${prevs[0]!.payloadHash.slice(0, 16)}… (a rewritten report)`,
            {
              subject: nodeSubject(v),
              evidence: [...prevs.map((x) => [x, 'previous'] as const), [r, 'report']],
            },
          );
        }
      }
    }
  }

  // ---- 3. completeness: every expected node, every due interval ------------------------------
  const expectedNodes = new Set<string>();
  let expectedReports = 0;
  let pendingReports = 0;
  let alignedReports = 0;
  const missingAt = new Map<string, Set<number>>(); // node → interval starts missing (due)
  intervals.forEach((iv, k) => {
    const inv = invForInterval[k];
    if (inv === undefined) return;
    const due = iv.end + maxDelay <= asOf;
    for (const id of expectedIds.get(inv)!) {
      expectedNodes.add(id);
      if (byId.get(id)?.aligned.has(kFirst + k) === true) {
        alignedReports++;
        if (due) expectedReports++;
        else pendingReports++;
        continue;
      }
      if (!due) {
        pendingReports++;
        continue;
      }
      expectedReports++;
      let set = missingAt.get(id);
      if (set === undefined) {
        set = new Set();
        missingAt.set(id, set);
      }
      set.add(iv.start);
    }
  });
  for (const [id, starts] of [...missingAt].sort((a, b) => cmp(a[0], b[0]))) {
    const [facility, cluster, node] = id.split('/') as [string, string, string];
    const list = [...starts].sort((a, b) => a - b);
    const v = byId.get(id);
    const cited: Cited[] = [[pause, 'pause']];
    const invs = new Set<InventoryRecord>();
    intervals.forEach((iv, k) => {
      if (starts.has(iv.start) && invForInterval[k] !== undefined) invs.add(invForInterval[k]!);
    });
    for (const inv of invs) cited.push([inv, 'inventory']);
    if (v !== undefined) {
      const sel = v.authentic.filter(inRange);
      const before = sel.filter((r) => timesOf(r).start < list[0]!).pop();
      const after = sel.find((r) => timesOf(r).start > list[list.length - 1]!);
      if (before !== undefined) cited.push([before, 'previous']);
      if (after !== undefined) cited.push([after, 'next']);
    }
    fs.add(
      'missing-report',
      `${id} did not report ${list.length} interval(s) that are due, from ${ivText({ start: list[0]!, end: list[0]! + I })}`,
      {
        subject: { facility, cluster, node },
        evidence: cited,
        data: {
          count: list.length,
          intervals: list.slice(0, LIST_CAP).map((s) => ({ start: t(s), end: t(s + I) })),
        },
      },
    );
  }

  // ---- 4. timeliness --------------------------------------------------------------------------
  const late = new Map<
    string,
    { v: NodeView; rows: { r: UsageRecord; deadline: number; at?: number }[] }
  >();
  const unknown = new Map<string, { v: NodeView; rows: UsageRecord[] }>();
  for (let j = 0; j < windowReports.length; j++) {
    const r = windowReports[j]!;
    const deadline = timed(r).t1 + maxDelay;
    const c = timeline.classify(r.index, deadline);
    if (c === 'on-time') continue;
    const v = byId.get(usageNode(r))!;
    if (c === 'late') {
      const e = late.get(v.id) ?? { v, rows: [] };
      const at = timeline.witnessedAt(r.index);
      e.rows.push(at === undefined ? { r, deadline } : { r, deadline, at });
      late.set(v.id, e);
    } else if (deadline <= asOf) {
      const e = unknown.get(v.id) ?? { v, rows: [] };
      e.rows.push(r);
      unknown.set(v.id, e);
    }
  }
  for (const { v, rows } of late.values()) {
    const w = rows[0]!;
    fs.add(
      'late-report',
      `${rows.length} report(s) of ${v.id} reached no witnessed checkpoint within ${maxDelay} s of their interval's end (first: seq ${w.r.payload.seq}, due ${t(w.deadline)}${w.at !== undefined ? `, witnessed ${t(w.at)}` : ', not witnessed yet'})`,
      {
        subject: nodeSubject(v),
        evidence: rows.map((x) => [x.r, 'report'] as const),
        checkpoints: [...new Set(rows.flatMap((x) => timeline.evidenceFor(x.r.index)))],
        data: {
          reports: rows.slice(0, LIST_CAP).map((x) => ({
            seq: x.r.payload.seq,
            deadline: t(x.deadline),
            witnessedAt: x.at === undefined ? null : t(x.at),
            absentUntil: Number.isFinite(timeline.absentUntil(x.r.index))
              ? t(timeline.absentUntil(x.r.index))
              : null,
          })),
        },
      },
    );
  }
  for (const { v, rows } of unknown.values()) {
    fs.add(
      'timeliness-unknown',
      `${rows.length} report(s) of ${v.id}: the checkpoints observed neither show them witnessed by their deadline nor prove them late (the verifier was not following the log then)`,
      { subject: nodeSubject(v), evidence: rows.map((r) => [r, 'report'] as const) },
    );
  }

  // ---- 5. limits ------------------------------------------------------------------------------
  const allowed = new Set<string>(P.limits.allowedWorkloads);
  const badWorkload = new Map<string, { v: NodeView; rows: UsageRecord[] }>();
  for (let j = 0; j < windowReports.length; j++) {
    const r = windowReports[j]!;
    if (allowed.has(workloadOf(r))) continue;
    const v = byId.get(usageNode(r))!;
    const e = badWorkload.get(v.id) ?? { v, rows: [] };
    e.rows.push(r);
    badWorkload.set(v.id, e);
  }
  for (const { v, rows } of badWorkload.values()) {
    const kinds = [...new Set(rows.map((r) => r.payload.workload))].sort();
    fs.add(
      'workload-not-allowed',
      `${rows.length} report(s) of ${v.id} declare workload ${kinds.join(', ')}, which the pause does not allow (${[...allowed].join(', ') || 'none'})`,
      { subject: nodeSubject(v), evidence: rows.map((r) => [r, 'report'] as const) },
    );
  }
  if (intervals.length > 0) {
    // The reports with FLOP, in the order the sums below take them.
    const withFlop = reportsWithFlop(views);
    for (let d = dayStart; d < dayEnd; d += DAY) {
      const day: Interval = { start: Math.max(d, S), end: Math.min(d + DAY, E) };
      if (day.end <= day.start) continue;
      let flop = 0;
      const contributors: { r: UsageRecord; flop: number }[] = [];
      for (const r of withFlop) {
        const rf = flopOf(r);
        const ts = timed(r);
        const o = overlapOf(ts.t0, ts.t1, day);
        if (o <= 0) continue;
        const share = (rf * o) / (ts.t1 - ts.t0);
        flop += share;
        contributors.push({ r, flop: share });
      }
      if (flop > P.limits.maxFlopPerDay) {
        contributors.sort((a, b) => b.flop - a.flop || a.r.index - b.r.index);
        const dayName = t(d).slice(0, 10);
        fs.add(
          'limit-exceeded',
          `${fmtNum(flop)} FLOP reported on ${dayName} across the pause's scope, above the limit of ${fmtNum(P.limits.maxFlopPerDay)} per day`,
          {
            subject: { day: dayName },
            evidence: [[pause, 'pause'], ...contributors.map((c) => [c.r, 'report'] as const)],
            data: { day: dayName, flop, maxFlopPerDay: P.limits.maxFlopPerDay },
          },
        );
      }
    }
  }

  // ---- 6. physics -----------------------------------------------------------------------------
  const facilities = [...scopeFacilities].sort(cmp);
  const unmetered: string[] = [];
  const checked: { facility: string; result: PhysicsResult; intervals: number }[] = [];
  const plans: {
    facility: string;
    rows: PhysicsInterval[];
    cited: Map<number, StatementRecord[]>;
  }[] = [];
  let meterReadings = 0;
  for (const f of facilities) {
    const params = policy.facilities.get(f);
    const mkeys = policy.meters.filter((m) => m.facility === f);
    if (params === undefined || mkeys.length === 0 || partlyOutside.has(f)) {
      unmetered.push(f);
      fs.add(
        'facility-unmetered',
        partlyOutside.has(f)
          ? `facility ${f} is only partly in the pause's scope: its meter cannot be balanced against the reports`
          : `the policy has no ${params === undefined ? 'facility line' : 'meter key'} for facility ${f}: hidden compute there is not bounded`,
        { subject: { facility: f } },
      );
      continue;
    }
    // Authentic meter readings of f overlapping the window, one per distinct payload, by feed.
    const feeds = new Map<string, MeterRecord[]>();
    const seen = new Set<string>();
    const badMeter: Cited[] = [];
    const keysSeen = new Set<string>();
    for (const m of index.meters.get(f) ?? []) {
      if (overlap(timesOf(m), window) <= 0) continue;
      const a = signedBy(
        m,
        mkeys.map((k) => k.key),
      );
      if (!a.ok) {
        if (a.code === 'bad-signature') badMeter.push([m, 'meter']);
        continue;
      }
      for (const k of a.keys) keysSeen.add(k.vkey);
      fs.useOne(m); // which feeds and keys report is itself evidence
      if (seen.has(m.payloadHash)) continue;
      seen.add(m.payloadHash);
      meterReadings++;
      const feed = meterOf(m);
      const l = feeds.get(feed);
      if (l === undefined) feeds.set(feed, [m]);
      else l.push(m);
    }
    if (badMeter.length > 0) {
      fs.add(
        'bad-signature',
        `${badMeter.length} meter reading(s) of facility ${f} do not verify`,
        {
          subject: { facility: f },
          evidence: badMeter,
        },
      );
    }
    const silentKeys = mkeys.filter((k) => !keysSeen.has(k.key.vkey));
    const rows: PhysicsInterval[] = [];
    const cited = new Map<number, StatementRecord[]>();
    const meterMissing: number[] = [];
    // Spread each report's and each reading's energy over the intervals it overlaps (pro rata),
    // in one pass over the statements.
    const nI = intervals.length;
    const gpuAt = new Float64Array(nI);
    // The statements of each interval: reports cited as 'report', readings as 'meter'.
    const citedAt: StatementRecord[][] = intervals.map(() => []);
    // Each statement's share of each interval it overlaps, in one pass (no closure per statement).
    const spread = (
      r: StatementRecord,
      energyJ: number,
      into: Float64Array,
      covered?: Float64Array,
    ) => {
      const ts = timed(r);
      const k0 = Math.max(0, Math.floor((ts.t0 - S) / I) - kFirst);
      const k1 = Math.min(nI - 1, Math.ceil((ts.t1 - S) / I) - 1 - kFirst);
      for (let k = k0; k <= k1; k++) {
        const o = overlapOf(ts.t0, ts.t1, intervals[k]!);
        if (o > 0) {
          into[k]! += (energyJ * o) / (ts.t1 - ts.t0);
          if (covered !== undefined) covered[k]! += o;
          citedAt[k]!.push(r);
        }
      }
    };
    for (const v of views) {
      if (v.facility === f) eachOf(v.authentic, (r) => spread(r, energyOf(r), gpuAt));
    }
    const meterAt = new Float64Array(nI);
    const complete = new Array<boolean>(nI).fill(feeds.size > 0 && silentKeys.length === 0);
    for (const readings of feeds.values()) {
      const covered = new Float64Array(nI);
      eachOf(readings, (m) => spread(m, energyOf(m), meterAt, covered));
      for (let k = 0; k < nI; k++) if (covered[k] !== I) complete[k] = false;
    }
    // The views of the nodes expected at f, per inventory (computed once each).
    const expectedAt = new Map<InventoryRecord, (NodeView | undefined)[]>();
    intervals.forEach((iv, k) => {
      const inv = invForInterval[k];
      let expectedHere: (NodeView | undefined)[] = [];
      if (inv !== undefined) {
        let e = expectedAt.get(inv);
        if (e === undefined) {
          e = expectedOf
            .get(inv)!
            .filter((n) => n.facility === f)
            .map((n) => byId.get(nodeId(n)));
          expectedAt.set(inv, e);
        }
        expectedHere = e;
      }
      // Every expected node at f must have reported the interval (a missing report is a
      // finding of its own; the interval cannot be balanced).
      if (expectedHere.some((v) => v?.aligned.has(kFirst + k) !== true)) return;
      if (!complete[k]) {
        meterMissing.push(iv.start);
        return;
      }
      rows.push({ start: t(iv.start), end: t(iv.end), meterJ: meterAt[k]!, gpuJ: gpuAt[k]! });
      cited.set(rows.length - 1, citedAt[k]!);
    });
    if (meterMissing.length > 0) {
      const why =
        silentKeys.length > 0
          ? `meter key(s) ${silentKeys.map((k) => k.key.name).join(', ')} signed no reading in the window`
          : feeds.size === 0
            ? 'no meter reading in the window'
            : 'the meter readings do not cover these intervals';
      fs.add(
        'meter-missing',
        `facility ${f}: ${meterMissing.length} interval(s) without complete meter readings (${why}); the physics check skipped them`,
        {
          subject: { facility: f },
          data: {
            count: meterMissing.length,
            intervals: meterMissing.slice(0, LIST_CAP).map((s) => ({ start: t(s), end: t(s + I) })),
          },
        },
      );
    }
    plans.push({ facility: f, rows, cited });
  }
  const alphaShare = plans.filter((p) => p.rows.length > 0).length;
  const detections: FacilityDetection[] = [];
  let assumptions: string[] = [];
  let worstFlop = Number.NEGATIVE_INFINITY;
  for (const plan of plans) {
    if (plan.rows.length === 0) {
      unmetered.push(plan.facility);
      continue;
    }
    const params = policy.facilities.get(plan.facility)!;
    const alpha = policy.alpha / alphaShare;
    const result = physicsCheck({
      intervals: plan.rows,
      facility: params,
      alpha,
    });
    for (const c of plan.cited.values()) fs.useAll(c);
    checked.push({ facility: plan.facility, result, intervals: plan.rows.length });
    const d = result.detection;
    detections.push({
      facility: plan.facility,
      intervals: plan.rows.length,
      alpha,
      alarm: result.alarm,
      minHiddenJ: d.minHiddenJ,
      minHiddenGpuJ: d.minHiddenGpuJ,
      minHiddenGpuHoursH100: d.minHiddenGpuHoursH100,
      minHiddenFlop: d.minHiddenFlop,
      statisticalJ: d.statisticalJ,
      pueSlackJ: d.pueSlackJ,
    });
    if (d.minHiddenFlop >= worstFlop) {
      worstFlop = d.minHiddenFlop;
      assumptions = d.assumptions;
    }
    if (result.alarm) {
      // Cite the statements of the intervals with the largest standardised residuals.
      const top = [...result.perInterval].sort((a, b) => b.z - a.z).slice(0, 5);
      const cited: Cited[] = [];
      for (const row of top) {
        for (const r of plan.cited.get(row.index) ?? []) {
          cited.push([r, r.payloadType === PAYLOAD_TYPE.meter ? 'meter' : 'report']);
        }
      }
      const b = result.balance;
      const alarmRow =
        result.alarmAt !== undefined ? result.perInterval[result.alarmAt] : undefined;
      fs.add(
        'energy-unexplained',
        `facility ${plan.facility}: the meters recorded ${fmtNum(b.residualJ)} J more than the reports explain at PUE ${params.pueMax} ` +
          `(balance Z = ${b.z.toFixed(2)}, p = ${b.p.toExponential(2)}${alarmRow ? `; CUSUM alarm at ${alarmRow.start}` : ''}); ` +
          `the check detects ≥ ${fmtNum(d.minHiddenFlop)} FLOP (${fmtNum(d.minHiddenGpuHoursH100)} H100-hours) of hidden compute with probability ${d.probability}`,
        {
          subject: { facility: plan.facility },
          evidence: cited,
          data: {
            residualJ: b.residualJ,
            sigmaJ: b.sigmaJ,
            balanceZ: b.z,
            balanceP: b.p,
            balanceAlarm: b.alarm,
            cusumAlarm: result.cusumTest.alarm,
            cusumH: result.cusumTest.h,
            alarmAt: alarmRow?.start ?? null,
            minHiddenFlop: d.minHiddenFlop,
            minHiddenGpuHoursH100: d.minHiddenGpuHoursH100,
          },
        },
      );
    }
  }
  let detection: Detection | null = null;
  if (facilities.length > 0) {
    const worst =
      detections.length > 0
        ? detections.reduce((a, b) => (b.minHiddenFlop > a.minHiddenFlop ? b : a))
        : undefined;
    detection = {
      probability: 0.95,
      alpha: policy.alpha,
      minHiddenFlop: worst?.minHiddenFlop ?? null,
      minHiddenGpuHoursH100: worst?.minHiddenGpuHoursH100 ?? null,
      facilities: detections,
      unmetered: [...new Set(unmetered)].sort(cmp),
      assumptions: [
        ...assumptions,
        ...(detections.length > 1
          ? [
              `the policy's alpha ${policy.alpha} is split evenly over the ${detections.length} facilities checked (Bonferroni)`,
            ]
          : []),
        'the bound is the largest over the facilities checked: hidden compute is assumed to sit where it is hardest to see',
        ...(unmetered.length > 0
          ? [
              `hidden compute at ${[...new Set(unmetered)].sort(cmp).join(', ')} (no meter balance possible) is not bounded`,
            ]
          : []),
      ],
    };
  }

  // ---- 7. audit -------------------------------------------------------------------------------
  for (const a of input.audits ?? []) {
    const id = nodeId(a);
    const v = byId.get(id);
    const subject = nodeSubject(a);
    const ch = auditChallengeSchema.safeParse(a.challenge);
    if (!ch.success) {
      fs.add('audit-incomplete', `audit of ${id}: the recorded challenge is malformed`, {
        subject,
      });
      continue;
    }
    const challenge: AuditChallenge = ch.data;
    const seqs = new Set(challenge.reports.flatMap((r) => (r.seq === undefined ? [] : [r.seq])));
    const usage = (v?.authentic ?? []).filter((r) => seqs.has(r.payload.seq));
    const cited: Cited[] = usage.map((r) => [r, 'audited report'] as const);
    if (a.response === null) {
      fs.add('audit-incomplete', `audit of ${id}: no answer (${a.error ?? 'unknown reason'})`, {
        subject,
        evidence: cited,
      });
      continue;
    }
    const resp = auditResponseSchema.safeParse(a.response);
    if (!resp.success) {
      fs.add('audit-mismatch', `audit of ${id}: the answer is not a valid audit response`, {
        subject,
        evidence: cited,
      });
      continue;
    }
    const found = checkAuditResponse(
      resp.data,
      usage.map((r) => r.payload as UsagePayload),
      { challenge },
    );
    const withheld = found.filter(
      (x) => x.code === 'AUDIT_REPORT_WITHHELD' || x.code === 'AUDIT_SAMPLE_WITHHELD',
    );
    const wrong = found.filter((x) => !withheld.includes(x));
    const citeFor = (xs: typeof found) => {
      const s = new Set(xs.map((x) => x.seq));
      const c = cited.filter(([r]) => s.has((r.payload as UsagePayload).seq));
      return c.length > 0 ? c : cited;
    };
    if (wrong.length > 0) {
      fs.add(
        'audit-mismatch',
        `audit of ${id}: ${wrong.length} disclosure(s) contradict the logged reports (${[...new Set(wrong.map((x) => x.code))].join(', ')}): ${wrong[0]!.message}`,
        { subject, evidence: citeFor(wrong), data: { findings: wrong.slice(0, LIST_CAP) } },
      );
    }
    if (withheld.length > 0) {
      fs.add(
        'audit-incomplete',
        `audit of ${id}: ${withheld.length} item(s) not disclosed: ${withheld[0]!.message}`,
        {
          subject,
          evidence: citeFor(withheld),
          data: { findings: withheld.slice(0, LIST_CAP) },
        },
      );
    }
  }

  // ---- 2. log integrity ----------------------------------------------------------------------
  const forkFindings: Finding[] = [];
  for (const doc of input.forks ?? []) {
    const r = checkForkEvidence(doc, policy.tlog);
    if (!r.confirmed) continue;
    const e = doc as {
      a: { checkpoint: string };
      b: { checkpoint: string };
      kind: string;
      reason: string;
    };
    const refs = [e.a.checkpoint, e.b.checkpoint].map((n) => {
      const c = parseCheckpoint(parseNote(n).text);
      return {
        origin: c.origin,
        size: c.size,
        rootHash: Buffer.from(c.rootHash).toString('base64'),
      };
    });
    const f: Finding = {
      code: 'log-inconsistent',
      severity: 'violation',
      message: `the log signed two inconsistent checkpoints (${e.kind}): ${e.reason}`,
      evidence: [],
      checkpoints: refs,
      data: { kind: e.kind },
    };
    forkFindings.push(f);
  }
  const uncovered: Cited[] = [];
  const { indexes: usedIndexes, records: usedRecords } = fs.used;
  for (let j = 0, n = usedIndexes.length; j < n; j++) {
    if (timeline.quorumCheckpoint(usedIndexes[j]!) === undefined) {
      uncovered.push([usedRecords[j]!, 'unwitnessed']);
    }
  }
  if (uncovered.length > 0) {
    fs.add(
      'quorum-not-met',
      `${uncovered.length} statement(s) the verdict rests on are in no checkpoint cosigned to the policy's quorum (latest checkpoint: size ${input.anchor?.size ?? 0}, cosigned by ${input.anchor?.cosignatures.map((c) => c.witness).join(', ') || 'no witness'})`,
      { evidence: uncovered, ...(input.anchor ? { checkpoints: [input.anchor] } : {}) },
    );
  }

  // ---- the verdict ---------------------------------------------------------------------------
  const findings = [...forkFindings, ...fs.findings()];
  const checkpoints = new Set<ObservedCheckpoint>();
  if (input.anchor !== undefined) checkpoints.add(input.anchor);
  // Statements of one segment of the timeline share its evidence (the same list): add it once.
  let lastEvidence: readonly ObservedCheckpoint[] | undefined;
  for (let u = 0; u < usedIndexes.length; u++) {
    const i = usedIndexes[u]!;
    const evidence = timeline.evidenceFor(i);
    if (evidence === lastEvidence) continue;
    lastEvidence = evidence;
    for (const c of evidence) checkpoints.add(c);
  }
  const anchor = input.anchor;
  const verdict: Verdict = {
    v: 1,
    type: 'vpause-verdict',
    verdict: verdictOf(findings),
    lab: q.lab,
    pause: q.pause,
    window: { from: t(from), to: t(to) },
    asOf: t(asOf),
    checkpoint:
      anchor === undefined
        ? null
        : {
            ...checkpointRef(anchor),
            quorum: anchor.quorum,
            cosignedBy: anchor.cosignatures.map((c) => c.witness).sort(cmp),
          },
    findings,
    detection,
    summary: {
      nodes: expectedNodes.size,
      intervals: intervals.length,
      expectedReports,
      reports: alignedReports,
      pendingReports,
      meterReadings,
      statements: fs.used.size,
    },
  };
  return {
    verdict,
    used: fs.used,
    checkpoints: [...checkpoints].sort((a, b) => a.size - b.size),
    reports: windowReports,
    pause,
  };
}
