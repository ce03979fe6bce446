/**
 * Metrics over the runs of one scenario (or one sweep point), per strategy group:
 *
 * - detection: the share of runs whose final verdict (when every report is due) holds a
 *   violation finding against one of the group's labs — or, for strategies that act on the log,
 *   against the log — with a Wilson score interval (95 %);
 * - detection at any look: the same at any of the verifier's evaluations during the run
 *   (continuous monitoring; more looks mean more chances, and more false alarms);
 * - false-alarm rate: the same for honest labs (one trial per honest lab and run);
 * - time to detection: from the first interval the strategy touched to the first look with a
 *   violation, hours, over the runs detected at any look;
 * - compute gained before detection: hidden FLOP up to that look (all of it when never detected);
 * - ROC: detection against the honest false-alarm rate at each of the policy alphas swept;
 * - the inspection-game deterrence condition (see {@link deterrence}).
 * Pure functions of the run results: the same runs give the same metrics, byte for byte.
 */
import type { Scenario } from '../../protocol/src/scenario.js';
import { FINDING_SEVERITY, type FindingCode } from '../../protocol/src/verdict.js';
import { type LabRun, LOG_LEVEL_CODES, type RunResult } from './engine.js';
import { type Group, HONEST } from './model.js';

/** A proportion with its Wilson score interval. */
export interface Proportion {
  k: number;
  n: number;
  p: number | null;
  lo: number | null;
  hi: number | null;
}

const round = (x: number, d = 6) => Number(x.toPrecision(d));

/**
 * The Wilson score interval of k successes in n trials at normal quantile z (1.96: 95 %).
 * @throws {RangeError} unless 0 ≤ k ≤ n are integers
 */
export function wilson(k: number, n: number, z = 1.959963984540054): Proportion {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > n) {
    throw new RangeError(`wilson: need integers 0 ≤ k ≤ n, got ${k}/${n}`);
  }
  if (n === 0) return { k, n, p: null, lo: null, hi: null };
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const mid = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return {
    k,
    n,
    p: round(p),
    // At k = 0 (k = n) the bound is exactly 0 (1); computed, it carries rounding residue.
    lo: k === 0 ? 0 : round(Math.max(0, mid - half)),
    hi: k === n ? 1 : round(Math.min(1, mid + half)),
  };
}

/** The inspection-game deterrence condition for one strategy. */
export interface Deterrence {
  /** value of the cheating when never detected: gainPerFlop × mean hidden FLOP */
  gain: number;
  /** value kept when detected: gainPerFlop × mean FLOP gained before detection (detected runs) */
  gainBeforeDetection: number;
  penalty: number;
  falseAlarmCost: number;
  /** the honest false-alarm rate f */
  falseAlarm: number | null;
  /** p* = (G + f·C) / (G − G_d + P): the detection probability that deters */
  required: number | null;
  /** detection ≥ p* at the Wilson lower bound (null when it cannot be said) */
  deterred: boolean | null;
}

/**
 * The deterrence condition of an inspection game with false alarms. A lab choosing between
 * complying and cheating: complying costs f·C in expectation (a false accusation, probability f,
 * costs it C); cheating yields G if never detected, and G_d − P if detected (it keeps what it
 * computed before detection and pays the penalty P). Cheating does not pay iff
 *     (1 − p)·G + p·(G_d − P) ≤ −f·C   ⟺   p ≥ p* = (G + f·C) / (G − G_d + P).
 * With G_d = 0 this is the classic (G + f·C)/(G + P). p* > 1 means no detection rate deters.
 */
export function deterrence(
  gain: number,
  gainBeforeDetection: number,
  e: Scenario['economics'],
  falseAlarm: number | null,
  detectionLo: number | null,
): Deterrence {
  const f = falseAlarm ?? 0;
  const den = gain - gainBeforeDetection + e.penalty;
  const required = den > 0 ? round((gain + f * e.falseAlarmCost) / den) : null;
  return {
    gain: round(gain),
    gainBeforeDetection: round(gainBeforeDetection),
    penalty: e.penalty,
    falseAlarmCost: e.falseAlarmCost,
    falseAlarm,
    required,
    deterred: required === null || detectionLo === null ? null : detectionLo >= required,
  };
}

export interface Distribution {
  n: number;
  mean: number | null;
  median: number | null;
  p90: number | null;
  min: number | null;
  max: number | null;
}

function distribution(xs: number[]): Distribution {
  if (xs.length === 0) return { n: 0, mean: null, median: null, p90: null, min: null, max: null };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return {
    n: s.length,
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    median: round(q(0.5)),
    p90: round(q(0.9)),
    min: round(s[0]!),
    max: round(s[s.length - 1]!),
  };
}

/** Metrics of one group at one sweep point. */
export interface GroupMetrics {
  group: string;
  strategy: string;
  labs: string[];
  expectation: string;
  /** whether findings about the log count as detecting it */
  logLevel: boolean;
  runs: number;
  detection: Proportion;
  /**
   * Whether detection is told apart from false alarms: its Wilson lower bound is above the
   * honest false-alarm rate's upper bound (the policy alpha when there is no honest lab).
   * A strategy the regime cannot catch is still "detected" at the false-alarm rate of the lab's
   * other facilities; this says it is not.
   */
  beyondFalseAlarms: boolean | null;
  detectionAnyLook: Proportion;
  /** final verdict with a violation or a gap (inconclusive) */
  flagged: Proportion;
  /** hours from the first touched interval to the first look with a violation */
  timeToDetectionHours: Distribution;
  /** share of runs detected within h hours of the cheat's start, at each look */
  detectedWithin: { hours: number; share: number }[];
  hiddenFlop: Distribution;
  /** hidden FLOP up to the first look with a violation (all of it when never detected) */
  gainedBeforeDetectionFlop: Distribution;
  /** hidden FLOP of the runs the final verdict missed */
  undetectedFlop: Distribution;
  hiddenEnergyJ: Distribution;
  /** the physics check's detection bound at the final look (FLOP) */
  minHiddenFlop: Distribution;
  /** share of runs in which each finding code appeared at some look */
  codes: Record<string, number>;
  roc: { alpha: number; detection: number | null }[];
  deterrence: Deterrence;
}

/** The honest labs' false alarms at one sweep point. */
export interface HonestMetrics {
  labRuns: number;
  alpha: number;
  falseAlarm: Proportion;
  falseAlarmAnyLook: Proportion;
  /** honest verdicts with a violation about the log (a forking operator accuses everyone) */
  logAlarm: Proportion;
  codes: Record<string, number>;
  roc: { alpha: number; falseAlarm: number | null }[];
}

export interface PointMetrics {
  honest: HonestMetrics;
  groups: GroupMetrics[];
}

function gainedBefore(l: LabRun, interval: number, at: number | null): number {
  if (at === null) return l.truth.hiddenFlop;
  let sum = 0;
  l.truth.perInterval.forEach((f, k) => {
    const share = Math.min(1, Math.max(0, (at - k * interval) / interval));
    sum += f * share;
  });
  return sum;
}

function codeShares(sets: Set<string>[]): Record<string, number> {
  const count = new Map<string, number>();
  for (const s of sets) for (const c of s) count.set(c, (count.get(c) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const [c, k] of [...count].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    out[c] = round(k / sets.length);
  return out;
}

/**
 * Metrics of one sweep point from its runs (in any order; they are sorted by run index).
 * @throws {RangeError} never for well-formed runs
 */
export function pointMetrics(
  scenario: Scenario,
  groups: readonly Group[],
  runs: readonly RunResult[],
): PointMetrics {
  const sorted = [...runs].sort((a, b) => a.run - b.run);
  const interval = scenario.reporting.intervalSeconds;
  const alphas = scenario.verifier.rocAlphas;
  const honestLabs = sorted.flatMap((r) => r.labs.filter((l) => l.group === HONEST));
  const fa = (pick: (l: LabRun) => boolean) =>
    wilson(honestLabs.filter(pick).length, honestLabs.length);
  const rocFa = alphas.map((alpha, i) => ({
    alpha,
    falseAlarm:
      honestLabs.length === 0
        ? null
        : round(honestLabs.filter((l) => l.roc.lab[i]).length / honestLabs.length),
  }));
  const honest: HonestMetrics = {
    labRuns: honestLabs.length,
    alpha: scenario.verifier.alpha,
    falseAlarm: fa((l) => l.final.codes.some((c) => !isLogCode(c) && isViolation(c))),
    falseAlarmAnyLook: fa((l) => l.firstAt.violation !== null),
    logAlarm: fa((l) => l.firstAt.logViolation !== null),
    codes: codeShares(honestLabs.map((l) => new Set(Object.keys(l.codes)))),
    roc: rocFa,
  };
  const falseAlarm = honest.falseAlarm.p;

  const out: GroupMetrics[] = groups.map((g) => {
    const per = sorted.map((r) => r.labs.filter((l) => l.group === g.id));
    const finalHit = (ls: LabRun[]) =>
      ls.some((l) => l.final.codes.some((c) => isViolation(c) && (g.logLevel || !isLogCode(c))));
    const firstHit = (ls: LabRun[]): number | null => {
      let best: number | null = null;
      for (const l of ls) {
        for (const t of [l.firstAt.violation, g.logLevel ? l.firstAt.logViolation : null]) {
          if (t !== null && (best === null || t < best)) best = t;
        }
      }
      return best;
    };
    const flaggedHit = (ls: LabRun[]) =>
      ls.some((l) => l.final.codes.some((c) => g.logLevel || !isLogCode(c)));
    const start = (ls: LabRun[]) => {
      const s = ls.map((l) => l.truth.cheatStart).filter((x): x is number => x !== null);
      return s.length === 0 ? 0 : Math.min(...s);
    };
    const hidden = per.map((ls) => ls.reduce((a, l) => a + l.truth.hiddenFlop, 0));
    const detectedFinal = per.map(finalHit);
    const first = per.map(firstHit);
    const ttd = per.flatMap((ls, i) =>
      first[i] === null ? [] : [Math.max(0, first[i]! - start(ls)) / 3600],
    );
    const gained = per.map((ls, i) =>
      ls.reduce((a, l) => a + gainedBefore(l, interval, first[i]!), 0),
    );
    const gainedDetected = gained.filter((_, i) => first[i] !== null);
    const lookHours = [...new Set(ttd)].sort((a, b) => a - b);
    const detection = wilson(detectedFinal.filter(Boolean).length, per.length);
    const gainMean = hidden.length === 0 ? 0 : hidden.reduce((a, b) => a + b, 0) / hidden.length;
    const gdMean =
      gainedDetected.length === 0
        ? 0
        : gainedDetected.reduce((a, b) => a + b, 0) / gainedDetected.length;
    const e = scenario.economics;
    return {
      group: g.id,
      strategy: g.strategy,
      labs: [...g.labs],
      expectation: g.expectation,
      logLevel: g.logLevel,
      runs: per.length,
      detection,
      beyondFalseAlarms:
        detection.lo === null
          ? null
          : detection.lo > (honest.falseAlarm.hi ?? scenario.verifier.alpha),
      detectionAnyLook: wilson(first.filter((x) => x !== null).length, per.length),
      flagged: wilson(per.filter(flaggedHit).length, per.length),
      timeToDetectionHours: distribution(ttd),
      detectedWithin: lookHours.map((h) => ({
        hours: round(h),
        share: round(ttd.filter((x) => x <= h).length / per.length),
      })),
      hiddenFlop: distribution(hidden),
      gainedBeforeDetectionFlop: distribution(gained),
      undetectedFlop: distribution(hidden.filter((_, i) => !detectedFinal[i])),
      hiddenEnergyJ: distribution(
        per.map((ls) => ls.reduce((a, l) => a + l.truth.hiddenEnergyJ, 0)),
      ),
      minHiddenFlop: distribution(
        per.flatMap((ls) => ls.flatMap((l) => (l.minHiddenFlop === null ? [] : [l.minHiddenFlop]))),
      ),
      codes: codeShares(per.map((ls) => new Set(ls.flatMap((l) => Object.keys(l.codes))))),
      roc: alphas.map((alpha, i) => ({
        alpha,
        detection:
          per.length === 0
            ? null
            : round(
                per.filter((ls) => ls.some((l) => (g.logLevel ? l.roc.any[i] : l.roc.lab[i])))
                  .length / per.length,
              ),
      })),
      deterrence: deterrence(
        e.gainPerFlop * gainMean,
        e.gainPerFlop * gdMean,
        e,
        falseAlarm,
        detection.lo,
      ),
    };
  });
  return { honest, groups: out };
}

function isViolation(code: string): boolean {
  return FINDING_SEVERITY[code as FindingCode] === 'violation';
}
function isLogCode(code: string): boolean {
  return LOG_LEVEL_CODES.has(code);
}
