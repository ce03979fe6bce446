/**
 * Check 6, physics: does the energy the facility meter saw fit the GPU energy the lab reported?
 *
 * Model (docs/physics.md derives every line):
 *
 *   true facility energy   Eᵢ = p·Gᵢ + b·dᵢ + Hᵢ           p ∈ [pmin, pmax], Hᵢ = hidden load
 *   meter reading          Mᵢ = Eᵢ·(1 + s·εᵢ),  εᵢ ~ N(0, 1) independent
 *
 *   expected at the PUE most favourable to the lab   Êᵢ = pmax·Gᵢ + b·dᵢ
 *   residual                                         rᵢ = Mᵢ − Êᵢ
 *   standard deviation of rᵢ (honest, p = pmax)      σᵢ = s·Êᵢ
 *   standardised residual                            zᵢ = rᵢ / σᵢ
 *
 * pmax is the most favourable end because it explains the most meter energy: an honest facility
 * at p ≤ pmax has E[rᵢ] = (p − pmax)·Gᵢ ≤ 0, and its zᵢ is stochastically no larger than N(0, 1).
 * At p = pmax, zᵢ ~ N(0, 1) exactly, which is what the thresholds below are set for; since both
 * tests alarm on events that increase with every zᵢ, the false-alarm rate at any PUE sequence in
 * the range is at most its value at pmax.
 *
 * Two tests share the policy's family-wise false-alarm rate α (Bonferroni, α/2 each, so that
 * P(any alarm | honest) ≤ α):
 *
 * - Page's one-sided CUSUM Sᵢ = max(0, Sᵢ₋₁ + zᵢ − k), k = δ/2 for a design shift of δ
 *   standard deviations per interval; threshold h with P(any alarm in n honest intervals) = α/2,
 *   computed from the CUSUM run-length distribution (stats.ts, Nyström method).
 * - the cumulative material balance Z = Σrᵢ / √(Σσᵢ²) against z₁₋α/₂.
 *
 * Detection bound (material-balance practice: a goal quantity is detected with probability 1 − β
 * iff it is at least (z₁₋α + z₁₋β)·σ): the smallest hidden facility energy that the balance test
 * detects with probability ≥ 1 − β at every PUE in the range, then converted to H100-equivalent
 * GPU-hours and FLOP.
 *
 * Pure: no I/O, no randomness.
 */
import { VPauseError } from '../core/errors.js';
import {
  cusumAlarmProbability,
  cusumArl,
  cusumThreshold,
  normalSf,
  normalUpperQuantile,
} from './stats.js';

export type PhysicsErrorCode = 'PHYSICS_INPUT';

/** One metered interval, aligned with the usage reports that cover it. */
export interface PhysicsInterval {
  /** RFC 3339 UTC start, inclusive */
  start: string;
  /** RFC 3339 UTC end, exclusive */
  end: string;
  /** energy the facility meter(s) recorded over [start, end), J */
  meterJ: number;
  /** GPU energy the lab reported for the facility over [start, end), J */
  gpuJ: number;
  /** what the numbers rest on (leaf indices, hashes); passed through to `perInterval` */
  evidence?: unknown;
}

/** The facility's physical parameters, from the verifier's policy (`facility` line). */
export interface FacilityPhysics {
  /** lowest plausible power usage effectiveness, ≥ 1 */
  pueMin: number;
  /** highest plausible PUE, ≥ pueMin */
  pueMax: number;
  /** non-GPU draw seen at the meter (networking, storage, CPUs, lighting), W, > 0 */
  baselineW: number;
  /** relative standard uncertainty of one interval's meter energy, in (0, 1) */
  meterSigma: number;
}

/** How hidden energy is expressed as compute. Defaults in {@link DEFAULT_CONVERSION}. */
export interface ComputeConversion {
  /** average electrical power of one H100 running the hidden workload, W */
  gpuWatts: number;
  /** dense BF16 peak of one H100 SXM, FLOP/s */
  peakFlops: number;
  /** fraction of peak the hidden workload achieves (model FLOP utilisation) */
  utilisation: number;
}

export interface PhysicsInput {
  intervals: readonly PhysicsInterval[];
  facility: FacilityPhysics;
  /** family-wise false-alarm rate of check 6 over this window (the policy's `alpha`) */
  alpha: number;
  /** miss probability for the detection bound; default 0.05 (detected with probability 0.95) */
  beta?: number;
  /** CUSUM reference value k in standard deviations; default 0.5 (design shift δ = 1σ) */
  cusumK?: number;
  /** how hidden energy is expressed as compute; defaults in {@link DEFAULT_CONVERSION} */
  conversion?: Partial<ComputeConversion>;
}

export interface PhysicsIntervalResult {
  index: number;
  start: string;
  end: string;
  durationS: number;
  meterJ: number;
  gpuJ: number;
  /** Êᵢ = pmax·Gᵢ + b·dᵢ, J */
  expectedJ: number;
  /** rᵢ = Mᵢ − Êᵢ, J: energy the reports cannot explain even at the highest PUE */
  residualJ: number;
  /** σᵢ = s·Êᵢ, J */
  sigmaJ: number;
  /** zᵢ = rᵢ/σᵢ */
  z: number;
  /** Sᵢ after this interval */
  cusum: number;
  evidence?: unknown;
}

export interface PhysicsResult {
  /** true when the CUSUM or the balance test alarmed */
  alarm: boolean;
  /** index of the first interval at which the CUSUM reached h (absent if it never did) */
  alarmAt?: number;
  /** Sᵢ per interval */
  cusum: number[];
  cusumTest: {
    k: number;
    h: number;
    /** false-alarm rate of this test over the window: alpha/2 */
    alpha: number;
    alarm: boolean;
    /** in-control average run length, intervals */
    arl0: number;
    /** design shift δ = 2k, in standard deviations per interval */
    designShift: number;
    /** average run length under a sustained shift of δ per interval, intervals */
    arl1: number;
    /** probability of an alarm within this window under a sustained shift of δ */
    powerAtDesignShift: number;
  };
  balance: {
    /** Z = Σrᵢ / √(Σσᵢ²) */
    z: number;
    /** one-sided p-value P(N(0,1) ≥ Z) */
    p: number;
    alarm: boolean;
    /** false-alarm rate of this test: alpha/2 */
    alpha: number;
    /** z₁₋α/₂ */
    threshold: number;
    /** Σrᵢ, J */
    residualJ: number;
    /** √(Σσᵢ²), J */
    sigmaJ: number;
  };
  detection: {
    /** smallest hidden facility energy over the window detected with `probability` at any PUE in range, J */
    minHiddenJ: number;
    /** the same as GPU energy: minHiddenJ / pueMin, J */
    minHiddenGpuJ: number;
    /** minHiddenGpuJ in H100-hours at `conversion.gpuWatts` */
    minHiddenGpuHoursH100: number;
    /** minHiddenGpuHoursH100 × 3600 × peakFlops × utilisation */
    minHiddenFlop: number;
    /** 1 − beta */
    probability: number;
    /** the policy's family-wise alpha */
    alpha: number;
    /** the level the balance test runs at (alpha/2) */
    testAlpha: number;
    beta: number;
    /** the part of minHiddenJ due to measurement noise alone (the bound if the PUE were pmax), J */
    statisticalJ: number;
    /** (pmax − pmin)·ΣGᵢ: energy a facility at pmin could hide with no statistical signal, J */
    pueSlackJ: number;
    conversion: ComputeConversion;
    assumptions: string[];
  };
  perInterval: PhysicsIntervalResult[];
}

/**
 * H100 SXM: 632 W is the measured full-load draw in the project's nvidia-smi fixture (gpu-burn,
 * 631.95 W, rounded); the 700 W TDP would give fewer GPU-hours per joule and so a less
 * conservative bound. 989 TFLOP/s is NVIDIA's dense BF16 peak. 40 % utilisation is a typical
 * large-training model FLOP utilisation; higher utilisation means more FLOP per hidden joule.
 */
export const DEFAULT_CONVERSION: Readonly<ComputeConversion> = Object.freeze({
  gpuWatts: 632,
  peakFlops: 989e12,
  utilisation: 0.4,
});

export const DEFAULT_BETA = 0.05;
export const DEFAULT_CUSUM_K = 0.5;

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

function parseTime(s: unknown, what: string): number {
  if (typeof s !== 'string') throw inputError(`${what} is not a string`);
  const m = RFC3339_UTC.exec(s);
  if (m === null) throw inputError(`${what} is not an RFC 3339 UTC time: ${JSON.stringify(s)}`);
  const ms = Date.parse(s);
  const [, y, mo, d, h, mi, se] = m;
  const back = new Date(ms);
  if (
    Number.isNaN(ms) ||
    back.getUTCFullYear() !== Number(y) ||
    back.getUTCMonth() + 1 !== Number(mo) ||
    back.getUTCDate() !== Number(d) ||
    back.getUTCHours() !== Number(h) ||
    back.getUTCMinutes() !== Number(mi) ||
    back.getUTCSeconds() !== Number(se)
  ) {
    throw inputError(`${what} is not a valid time: ${JSON.stringify(s)}`);
  }
  return ms;
}

function inputError(message: string): VPauseError<PhysicsErrorCode> {
  return new VPauseError('PHYSICS_INPUT', `physics: ${message}`);
}

function finiteIn(x: unknown, what: string, ok: (v: number) => boolean, range: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) {
    throw inputError(`${what} must be ${range}, got ${String(x)}`);
  }
  return x;
}

/**
 * Solves H = a + c·√(Σ(Eᵢ + H·wᵢ)²) for H (a hidden load spread with weights wᵢ raises the meter
 * noise a little). The map is a contraction when c·‖w‖ < 1, which holds for any meter-sigma < 1/z.
 */
function solveHidden(a: number, c: number, base: readonly number[], w: readonly number[]): number {
  const noise = (h: number): number => {
    let s2 = 0;
    for (let i = 0; i < base.length; i++) {
      const e = base[i]! + h * w[i]!;
      s2 += e * e;
    }
    return Math.sqrt(s2);
  };
  let h = a + c * noise(0);
  for (let it = 0; it < 200; it++) {
    const next = a + c * noise(h);
    if (Math.abs(next - h) <= 1e-12 * Math.abs(next)) return next;
    h = next;
  }
  return h;
}

const designCache = new Map<string, CusumDesign>();
interface CusumDesign {
  arl0: number;
  designShift: number;
  arl1: number;
  powerAtDesignShift: number;
}

/** Operating characteristics of the CUSUM for one (n, k, h), cached (a verifier reuses them). */
function cusumDesign(n: number, k: number, h: number): CusumDesign {
  const key = `${n}|${k}|${h}`;
  let d = designCache.get(key);
  if (d === undefined) {
    const designShift = 2 * k;
    const arl0 = cusumArl(h, k, 0);
    d = {
      arl0,
      designShift,
      arl1: designShift > 0 ? cusumArl(h, k, designShift) : arl0,
      powerAtDesignShift: cusumAlarmProbability(h, k, n, designShift),
    };
    if (designCache.size >= 256) designCache.clear();
    designCache.set(key, d);
  }
  return d;
}

/**
 * Runs check 6 on one facility over one window of aligned intervals.
 *
 * @throws {VPauseError} code `PHYSICS_INPUT` when an interval's times are not RFC 3339 UTC, an
 *   interval is empty, intervals overlap or are out of order, an energy is negative or not finite,
 *   there are no intervals, or a facility parameter, alpha, beta, k or conversion is out of range
 */
export function physicsCheck(input: PhysicsInput): PhysicsResult {
  const { facility } = input;
  const intervals = input.intervals;
  if (!Array.isArray(intervals) || intervals.length === 0) throw inputError('no intervals');
  const pueMin = finiteIn(facility.pueMin, 'pueMin', (v) => v >= 1, '≥ 1');
  const pueMax = finiteIn(facility.pueMax, 'pueMax', (v) => v >= pueMin, '≥ pueMin');
  const b = finiteIn(facility.baselineW, 'baselineW', (v) => v > 0, '> 0');
  const s = finiteIn(facility.meterSigma, 'meterSigma', (v) => v > 0 && v < 1, 'in (0, 1)');
  const alpha = finiteIn(input.alpha, 'alpha', (v) => v > 0 && v < 1, 'in (0, 1)');
  const beta = finiteIn(input.beta ?? DEFAULT_BETA, 'beta', (v) => v > 0 && v < 1, 'in (0, 1)');
  const k = finiteIn(input.cusumK ?? DEFAULT_CUSUM_K, 'cusumK', (v) => v >= 0, '≥ 0');
  const conversion: ComputeConversion = { ...DEFAULT_CONVERSION, ...input.conversion };
  finiteIn(conversion.gpuWatts, 'conversion.gpuWatts', (v) => v > 0, '> 0');
  finiteIn(conversion.peakFlops, 'conversion.peakFlops', (v) => v > 0, '> 0');
  finiteIn(conversion.utilisation, 'conversion.utilisation', (v) => v > 0 && v <= 1, 'in (0, 1]');

  const n = intervals.length;
  const testAlpha = alpha / 2;
  const h = cusumThreshold(n, k, testAlpha);
  const zBalance = normalUpperQuantile(testAlpha);
  const zBeta = normalUpperQuantile(beta);

  const perInterval: PhysicsIntervalResult[] = [];
  const cusum: number[] = [];
  let S = 0;
  let alarmAt: number | undefined;
  let sumR = 0;
  let sumVar = 0;
  let sumG = 0;
  let sumD = 0;
  let prevEnd = Number.NEGATIVE_INFINITY;
  const eMin: number[] = [];
  const eMax: number[] = [];
  const durations: number[] = [];

  for (let i = 0; i < n; i++) {
    const iv = intervals[i]!;
    const t0 = parseTime(iv.start, `interval ${i} start`);
    const t1 = parseTime(iv.end, `interval ${i} end`);
    if (t1 <= t0) throw inputError(`interval ${i} ends at or before its start`);
    if (t0 < prevEnd) throw inputError(`interval ${i} overlaps or precedes interval ${i - 1}`);
    prevEnd = t1;
    const meterJ = finiteIn(iv.meterJ, `interval ${i} meterJ`, (v) => v >= 0, '≥ 0');
    const gpuJ = finiteIn(iv.gpuJ, `interval ${i} gpuJ`, (v) => v >= 0, '≥ 0');
    const d = (t1 - t0) / 1000;
    const expectedJ = pueMax * gpuJ + b * d;
    const residualJ = meterJ - expectedJ;
    const sigmaJ = s * expectedJ;
    const z = residualJ / sigmaJ;
    S = Math.max(0, S + z - k);
    if (alarmAt === undefined && S >= h) alarmAt = i;
    cusum.push(S);
    sumR += residualJ;
    sumVar += sigmaJ * sigmaJ;
    sumG += gpuJ;
    sumD += d;
    eMin.push(pueMin * gpuJ + b * d);
    eMax.push(expectedJ);
    durations.push(d);
    const row: PhysicsIntervalResult = {
      index: i,
      start: iv.start,
      end: iv.end,
      durationS: d,
      meterJ,
      gpuJ,
      expectedJ,
      residualJ,
      sigmaJ,
      z,
      cusum: S,
    };
    if (iv.evidence !== undefined) row.evidence = iv.evidence;
    perInterval.push(row);
  }

  const sigmaTotal = Math.sqrt(sumVar);
  const Z = sumR / sigmaTotal;
  const balanceAlarm = Z >= zBalance;

  // Detection bound. A hidden load drawing constant power over the window adds Hᵢ = H·dᵢ/Σd. At
  // true PUE p the balance statistic's mean is (H − (pmax − p)·ΣG)/σ_total and its standard
  // deviation s·√(Σ(p·Gᵢ + b·dᵢ + Hᵢ)²)/σ_total; detection with probability 1 − β needs
  //   H = z₁₋α/₂·σ_total + (pmax − p)·ΣG + z₁₋β·s·√(Σ(p·Gᵢ + b·dᵢ + Hᵢ)²),
  // whose solution is largest at p = pmin (docs/physics.md §5).
  const w = durations.map((d) => d / sumD);
  const pueSlackJ = (pueMax - pueMin) * sumG;
  const minHiddenJ = solveHidden(zBalance * sigmaTotal + pueSlackJ, zBeta * s, eMin, w);
  const statisticalJ = solveHidden(zBalance * sigmaTotal, zBeta * s, eMax, w);
  const minHiddenGpuJ = minHiddenJ / pueMin;
  const minHiddenGpuHoursH100 = minHiddenGpuJ / conversion.gpuWatts / 3600;
  const minHiddenFlop =
    minHiddenGpuHoursH100 * 3600 * conversion.peakFlops * conversion.utilisation;

  const { arl0, designShift, arl1, powerAtDesignShift } = cusumDesign(n, k, h);

  const result: PhysicsResult = {
    alarm: alarmAt !== undefined || balanceAlarm,
    cusum,
    cusumTest: {
      k,
      h,
      alpha: testAlpha,
      alarm: alarmAt !== undefined,
      arl0,
      designShift,
      arl1,
      powerAtDesignShift,
    },
    balance: {
      z: Z,
      p: normalSf(Z),
      alarm: balanceAlarm,
      alpha: testAlpha,
      threshold: zBalance,
      residualJ: sumR,
      sigmaJ: sigmaTotal,
    },
    detection: {
      minHiddenJ,
      minHiddenGpuJ,
      minHiddenGpuHoursH100,
      minHiddenFlop,
      probability: 1 - beta,
      alpha,
      testAlpha,
      beta,
      statisticalJ,
      pueSlackJ,
      conversion,
      assumptions: [
        `meter error is independent between intervals, normal, with relative standard deviation ${s}`,
        `true PUE may be anywhere in [${pueMin}, ${pueMax}]; residuals are taken at ${pueMax}, the bound holds at every PUE in the range (worst case ${pueMin})`,
        `non-GPU baseline is exactly ${b} W; reported GPU energy is exact (its error belongs in meter-sigma)`,
        `the hidden load draws constant power over the window (${n} intervals, ${sumD} s)`,
        `alpha ${alpha} is shared by the CUSUM and the balance test (${testAlpha} each, Bonferroni)`,
        `hidden GPU energy = hidden facility energy / ${pueMin} (the lowest PUE, which gives the most GPU energy)`,
        `H100-equivalent at ${conversion.gpuWatts} W per GPU (measured full load in the project's nvidia-smi fixture; TDP is 700 W)`,
        `FLOP at ${conversion.peakFlops / 1e12} TFLOP/s dense BF16 peak × ${conversion.utilisation} utilisation`,
      ],
    },
    perInterval,
  };
  if (alarmAt !== undefined) result.alarmAt = alarmAt;
  return result;
}
