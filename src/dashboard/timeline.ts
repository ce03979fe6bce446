/**
 * The series behind a lab's timeline: per reporting interval of one pause, the compute and GPU
 * energy the lab reported and the energy each facility meter recorded, with the band the reports
 * explain at the facility's PUE range (pueMin·G + baseline·d … pueMax·G + baseline·d, the model
 * of docs/physics.md) and the pause's FLOP limit spread over one interval.
 *
 * Read from the verifier's index of the log; only authentic statements count (the lab's root key
 * for its declarations, registered node keys for reports, the policy's meter keys for readings),
 * the same rule the verdict applies. A statement is spread pro rata over the intervals it
 * overlaps. The chart is descriptive: the verdict's statistical test (CUSUM and material balance
 * at the most favourable PUE) decides, not this picture. Pure: no I/O, no clock.
 */
import type { PausePayload } from '../../protocol/src/schemas.js';
import { parseTime } from '../../protocol/src/time.js';
import type { FacilityParams, VPausePolicy } from '../policy/vpause-policy.js';
import { checkMeter, KeyTable, labRootKeys, signedBy } from '../verifier/authenticity.js';
import type { LogIndex, MeterRecord, UsageRecord } from '../verifier/log-index.js';

/** Most intervals one timeline plots (the latest ones); earlier ones are counted, not drawn. */
export const MAX_TIMELINE_INTERVALS = 360;

export interface TimelineInput {
  lab: string;
  index: LogIndex;
  pause: PausePayload;
  /** the verifier's trust policy: authenticity and the facilities' PUE range and baseline */
  policy?: VPausePolicy;
  /** POSIX seconds: only intervals that have ended by then are plotted */
  now: number;
  maxIntervals?: number;
}

export interface FacilityTotals {
  /** intervals with both reports and complete meter readings */
  intervals: number;
  meterJ: number;
  gpuJ: number;
  /** Σ (pueMax·G + baseline·d) over those intervals (absent without facility parameters) */
  expectedMaxJ?: number;
  /**
   * Σ (meter − pueMax·G − baseline·d): the energy the reports cannot explain even at the PUE most
   * favourable to the lab (negative when the meter saw less), the verifier's balance residual
   */
  residualJ?: number;
  /** the residual over its standard deviation √Σ(meterSigma·expected)² (balance Z) */
  balanceZ?: number;
  /** intervals whose meter energy lies more than 3 meter standard deviations above the band */
  intervalsAbove?: number;
}

export interface FacilityTimeline {
  facility: string;
  /** the policy's physical parameters for it (absent: the band cannot be drawn) */
  params?: Pick<FacilityParams, 'pueMin' | 'pueMax' | 'baselineW' | 'meterSigma'>;
  /** meter feeds seen in the window */
  meters: string[];
  /** reported GPU energy, J (null: no report overlaps the interval) */
  gpuJ: (number | null)[];
  /** meter energy, J (null: the feeds do not cover the whole interval) */
  meterJ: (number | null)[];
  expectedMinJ: (number | null)[];
  expectedMaxJ: (number | null)[];
  totals: FacilityTotals;
}

export interface LabTimeline {
  lab: string;
  pause: string;
  intervalSeconds: number;
  /** start of each plotted interval, POSIX seconds */
  starts: number[];
  /** earlier intervals of the pause that are not plotted */
  omitted: number;
  /** reported FLOP summed over the lab's nodes (null: no report overlaps) */
  flop: (number | null)[];
  /** the pause's maxFlopPerDay spread evenly over one interval */
  flopLimitPerInterval: number;
  facilities: FacilityTimeline[];
  /** whether statements were checked against a policy (false: everything logged counts) */
  authenticated: boolean;
  /** statements in the window left out as not authentic */
  inauthentic: number;
}

interface Window {
  S: number;
  I: number;
  kFirst: number;
  kEnd: number;
}

/** Adds `value` spread over [s, e) to the intervals of `w` it overlaps. */
function spread(
  w: Window,
  s: number,
  e: number,
  value: number,
  into: (number | null)[],
  covered?: number[],
): boolean {
  if (!(e > s)) return false;
  const lo = w.S + w.kFirst * w.I;
  const hi = w.S + w.kEnd * w.I;
  if (e <= lo || s >= hi) return false;
  let k = Math.max(w.kFirst, Math.floor((s - w.S) / w.I));
  let hit = false;
  for (; k < w.kEnd && w.S + k * w.I < e; k++) {
    const a = w.S + k * w.I;
    const o = Math.min(e, a + w.I) - Math.max(s, a);
    if (o <= 0) continue;
    const j = k - w.kFirst;
    into[j] = (into[j] ?? 0) + (value * o) / (e - s);
    if (covered !== undefined) covered[j] = (covered[j] ?? 0) + o;
    hit = true;
  }
  return hit;
}

/** The timeline of `lab` over the reporting intervals of `pause`. */
export function labTimeline(input: TimelineInput): LabTimeline {
  const { lab, index, pause: P, policy, now } = input;
  const I = P.reporting.intervalSeconds;
  const S = parseTime(P.start);
  const end = P.end === null ? now : Math.min(parseTime(P.end), now);
  const count = end > S ? Math.floor((end - S) / I) : 0;
  const max = input.maxIntervals ?? MAX_TIMELINE_INTERVALS;
  const kFirst = Math.max(0, count - max);
  const w: Window = { S, I, kFirst, kEnd: count };
  const n = count - kFirst;
  const starts = Array.from({ length: n }, (_, j) => S + (kFirst + j) * I);
  const empty = () => new Array<number | null>(n).fill(null);
  const L = index.labs.get(lab);
  let inauthentic = 0;

  // Usage reports by facility (authentic ones when there is a policy).
  let keys: KeyTable | undefined;
  if (policy !== undefined && L !== undefined) {
    const roots = labRootKeys(policy, lab);
    keys = new KeyTable(L.registrations.filter((r) => signedBy(r, roots).ok));
  }
  const usageBy = new Map<string, UsageRecord[]>();
  const facilities = new Set<string>();
  for (const inv of L?.inventories ?? [])
    for (const x of inv.payload.nodes) facilities.add(x.facility);
  for (const records of L?.usage.values() ?? []) {
    for (const r of records) {
      facilities.add(r.payload.facility);
      const list = usageBy.get(r.payload.facility);
      if (list === undefined) usageBy.set(r.payload.facility, [r]);
      else list.push(r);
    }
  }

  const flop = empty();
  const seen = new Set<string>(); // one report per distinct payload (a resubmission is one report)
  const out: FacilityTimeline[] = [];
  for (const f of [...facilities].sort()) {
    const gpuJ = empty();
    for (const r of usageBy.get(f) ?? []) {
      if (seen.has(r.payloadHash)) continue;
      seen.add(r.payloadHash);
      const s = parseTime(r.payload.start);
      const e = parseTime(r.payload.end);
      if (e <= S + kFirst * I || s >= S + count * I) continue;
      if (keys !== undefined && !keys.check(r).ok) {
        inauthentic++;
        continue;
      }
      spread(w, s, e, r.payload.energyJ, gpuJ);
      spread(w, s, e, r.payload.flop, flop);
    }

    // Meter readings, per feed; an interval counts only when every feed covers all of it.
    const feeds = new Map<string, { energy: (number | null)[]; covered: number[] }>();
    const meterSeen = new Set<string>();
    for (const m of index.meters.get(f) ?? ([] as MeterRecord[])) {
      if (meterSeen.has(m.payloadHash)) continue;
      meterSeen.add(m.payloadHash);
      const s = parseTime(m.payload.start);
      const e = parseTime(m.payload.end);
      if (e <= S + kFirst * I || s >= S + count * I) continue;
      if (policy !== undefined && !checkMeter(policy, m).ok) {
        inauthentic++;
        continue;
      }
      let feed = feeds.get(m.payload.meter);
      if (feed === undefined) {
        feed = { energy: empty(), covered: new Array<number>(n).fill(0) };
        feeds.set(m.payload.meter, feed);
      }
      spread(w, s, e, m.payload.energyJ, feed.energy, feed.covered);
    }
    const meterJ = empty();
    if (feeds.size > 0) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let complete = true;
        for (const feed of feeds.values()) {
          if (feed.covered[j]! < I) complete = false;
          sum += feed.energy[j] ?? 0;
        }
        meterJ[j] = complete ? sum : null;
      }
    }

    const fp = policy?.facilities.get(f);
    const params =
      fp === undefined
        ? undefined
        : {
            pueMin: fp.pueMin,
            pueMax: fp.pueMax,
            baselineW: fp.baselineW,
            meterSigma: fp.meterSigma,
          };
    const band = (pue: number) =>
      gpuJ.map((g) => (g === null || params === undefined ? null : pue * g + params.baselineW * I));
    const expectedMinJ = params === undefined ? empty() : band(params.pueMin);
    const expectedMaxJ = params === undefined ? empty() : band(params.pueMax);
    const totals: FacilityTotals = { intervals: 0, meterJ: 0, gpuJ: 0 };
    let variance = 0;
    for (let j = 0; j < n; j++) {
      const m = meterJ[j];
      const g = gpuJ[j];
      if (m === null || m === undefined || g === null || g === undefined) continue;
      totals.intervals++;
      totals.meterJ += m;
      totals.gpuJ += g;
      const hi = expectedMaxJ[j];
      if (params !== undefined && hi !== null && hi !== undefined) {
        const sigma = params.meterSigma * hi;
        totals.expectedMaxJ = (totals.expectedMaxJ ?? 0) + hi;
        totals.residualJ = (totals.residualJ ?? 0) + (m - hi);
        variance += sigma * sigma;
        totals.intervalsAbove = (totals.intervalsAbove ?? 0) + (m - hi > 3 * sigma ? 1 : 0);
      }
    }
    if (totals.residualJ !== undefined && variance > 0) {
      totals.balanceZ = totals.residualJ / Math.sqrt(variance);
    }
    out.push({
      facility: f,
      ...(params !== undefined ? { params } : {}),
      meters: [...feeds.keys()].sort(),
      gpuJ,
      meterJ,
      expectedMinJ,
      expectedMaxJ,
      totals,
    });
  }

  return {
    lab,
    pause: P.id,
    intervalSeconds: I,
    starts,
    omitted: kFirst,
    flop,
    flopLimitPerInterval: (P.limits.maxFlopPerDay * I) / 86_400,
    facilities: out,
    authenticated: policy !== undefined,
    inauthentic,
  };
}
