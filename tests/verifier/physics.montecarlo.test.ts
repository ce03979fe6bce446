/**
 * Monte Carlo validation of check 6 against its own statistical model (docs/physics.md §7).
 *
 * Every run simulates one 4-hour window of 48 five-minute intervals at one facility: the reported
 * GPU energy is fixed (a paused fleet of 1024 GPUs drawing 70–270 W each), the true facility
 * energy is p·G + b·d + H (p the true PUE, H a planted hidden load), and the meter reads it with a
 * relative normal error of meter-sigma. The generator is seeded, so every number below is
 * reproducible; the assertions are 99.9 % Wilson intervals (or 4 standard errors for means), so
 * a correct implementation passes them for almost any seed and a wrong threshold does not.
 */
import { describe, expect, it } from 'vitest';
import {
  type FacilityPhysics,
  type PhysicsInterval,
  physicsCheck,
} from '../../src/verifier/physics.js';
import { type Prng, xoshiro128 } from '../../src/verifier/prng.js';
import {
  cusumAlarmProbability,
  cusumArl,
  normalCdf,
  normalUpperQuantile,
  wilsonInterval,
} from '../../src/verifier/stats.js';

const FACILITY: FacilityPhysics = {
  pueMin: 1.1,
  pueMax: 1.4,
  baselineW: 150_000,
  meterSigma: 0.01,
};
const ALPHA = 0.05; // large enough for false alarms to be counted in a few thousand runs
const N_INTERVALS = 48;
const D = 300;
const CONFIDENCE = 0.999;

const setup = xoshiro128(20261127);
const GPU_J = Array.from({ length: N_INTERVALS }, () => D * 1024 * (70 + 200 * setup.nextFloat()));
const T0 = Date.parse('2026-11-27T00:00:00Z');
const TEMPLATE: PhysicsInterval[] = GPU_J.map((g, i) => ({
  start: new Date(T0 + i * D * 1000).toISOString().replace('.000Z', 'Z'),
  end: new Date(T0 + (i + 1) * D * 1000).toISOString().replace('.000Z', 'Z'),
  gpuJ: g,
  meterJ: 0,
}));

/** The verdict on noiseless data at pmax: carries h, σ_total and the detection bound. */
const DESIGN = physicsCheck({
  intervals: TEMPLATE.map((t) => ({
    ...t,
    meterJ: FACILITY.pueMax * t.gpuJ + FACILITY.baselineW * D,
  })),
  facility: FACILITY,
  alpha: ALPHA,
});

interface Tally {
  runs: number;
  cusum: number;
  balance: number;
  any: number;
}

/**
 * Runs the real check on simulated meter data. `pue(rng, i)` gives the true PUE of interval i;
 * `hiddenJ` is spread at constant power over the window.
 */
function simulate(
  runs: number,
  seed: number,
  pue: (rng: Prng, i: number) => number,
  hiddenJ = 0,
): Tally {
  const rng = xoshiro128(seed);
  const t: Tally = { runs, cusum: 0, balance: 0, any: 0 };
  for (let r = 0; r < runs; r++) {
    const ivs = TEMPLATE.map((iv, i) => {
      const e = pue(rng, i) * iv.gpuJ + FACILITY.baselineW * D + hiddenJ / N_INTERVALS;
      return { ...iv, meterJ: e * (1 + FACILITY.meterSigma * rng.nextNormal()) };
    });
    const v = physicsCheck({ intervals: ivs, facility: FACILITY, alpha: ALPHA });
    if (v.cusumTest.alarm) t.cusum++;
    if (v.balance.alarm) t.balance++;
    if (v.alarm) t.any++;
  }
  return t;
}

function ci(successes: number, trials: number): { low: number; high: number } {
  return wilsonInterval(successes, trials, CONFIDENCE);
}

describe('false alarms on honest data', () => {
  const atTop = simulate(4000, 1, () => FACILITY.pueMax);

  it('at the top of the PUE range, the CUSUM alarms at its analytic rate α/2 (4000 runs)', () => {
    const analytic = cusumAlarmProbability(DESIGN.cusumTest.h, 0.5, N_INTERVALS);
    expect(analytic).toBeCloseTo(ALPHA / 2, 9);
    const { low, high } = ci(atTop.cusum, atTop.runs);
    expect(low).toBeLessThanOrEqual(analytic);
    expect(high).toBeGreaterThanOrEqual(analytic);
  });

  it('at the top of the PUE range, the balance test alarms at its analytic rate α/2 (4000 runs)', () => {
    const { low, high } = ci(atTop.balance, atTop.runs);
    expect(low).toBeLessThanOrEqual(ALPHA / 2);
    expect(high).toBeGreaterThanOrEqual(ALPHA / 2);
  });

  it('at the top of the PUE range, any alarm happens at a rate not above α (4000 runs)', () => {
    expect(ci(atTop.any, atTop.runs).low).toBeLessThanOrEqual(ALPHA);
    expect(atTop.any).toBeGreaterThanOrEqual(Math.max(atTop.cusum, atTop.balance));
  });

  it('anywhere in the PUE range (PUE drawn independently for every interval), alarms stay below α (4000 runs)', () => {
    const anywhere = simulate(
      4000,
      2,
      (rng) => FACILITY.pueMin + (FACILITY.pueMax - FACILITY.pueMin) * rng.nextFloat(),
    );
    expect(ci(anywhere.any, anywhere.runs).low).toBeLessThanOrEqual(ALPHA);
    expect(anywhere.any).toBeLessThanOrEqual(atTop.any);
  });

  it('just below the top of the range (PUE in [1.39, 1.40]), alarms stay below α (4000 runs)', () => {
    const nearTop = simulate(4000, 3, (rng) => 1.39 + 0.01 * rng.nextFloat());
    expect(ci(nearTop.any, nearTop.runs).low).toBeLessThanOrEqual(ALPHA);
    expect(nearTop.any).toBeLessThanOrEqual(atTop.any);
  });
});

describe('detection of a planted hidden load', () => {
  const zA = normalUpperQuantile(ALPHA / 2);
  const s = FACILITY.meterSigma;
  /** Analytic balance detection probability for hidden load H at true PUE p. */
  const analytic = (p: number, H: number): number => {
    let var2 = 0;
    let sumG = 0;
    for (const g of GPU_J) {
      const e = p * g + FACILITY.baselineW * D + H / N_INTERVALS;
      var2 += (s * e) ** 2;
      sumG += g;
    }
    const mean = H - (FACILITY.pueMax - p) * sumG;
    return normalCdf((mean - zA * DESIGN.balance.sigmaJ) / Math.sqrt(var2));
  };

  it('of the size of the detection bound, at the worst-case PUE (the bottom), is detected by the balance test with probability 0.95 (2000 runs)', () => {
    const H = DESIGN.detection.minHiddenJ;
    expect(analytic(FACILITY.pueMin, H)).toBeCloseTo(0.95, 9);
    const t = simulate(2000, 4, () => FACILITY.pueMin, H);
    const { low, high } = ci(t.balance, t.runs);
    expect(low).toBeLessThanOrEqual(0.95);
    expect(high).toBeGreaterThanOrEqual(0.95);
  });

  it('of the size of the detection bound, at any other PUE in the range, is detected with probability ≥ 0.95', () => {
    for (const p of [1.1, 1.2, 1.3, 1.4]) {
      expect(analytic(p, DESIGN.detection.minHiddenJ)).toBeGreaterThanOrEqual(0.95 - 1e-9);
    }
    const t = simulate(2000, 5, () => 1.25, DESIGN.detection.minHiddenJ);
    expect(ci(t.balance, t.runs).high).toBeGreaterThanOrEqual(0.95);
  });

  it('of the statistical bound, at the top of the PUE range, is detected with probability 0.95 (2000 runs)', () => {
    const H = DESIGN.detection.statisticalJ;
    expect(analytic(FACILITY.pueMax, H)).toBeCloseTo(0.95, 9);
    const t = simulate(2000, 6, () => FACILITY.pueMax, H);
    const { low, high } = ci(t.balance, t.runs);
    expect(low).toBeLessThanOrEqual(0.95);
    expect(high).toBeGreaterThanOrEqual(0.95);
  });

  it('of half the statistical bound is detected at its (lower) analytic rate, well under 0.95 (2000 runs)', () => {
    const H = DESIGN.detection.statisticalJ / 2;
    const expected = analytic(FACILITY.pueMax, H);
    expect(expected).toBeLessThan(0.6);
    const t = simulate(2000, 7, () => FACILITY.pueMax, H);
    const { low, high } = ci(t.balance, t.runs);
    expect(low).toBeLessThanOrEqual(expected);
    expect(high).toBeGreaterThanOrEqual(expected);
  });
});

describe('CUSUM speed of detection', () => {
  const h = DESIGN.cusumTest.h;
  const k = DESIGN.cusumTest.k;

  /** Run lengths of the CUSUM on zᵢ ~ N(shift, 1), simulated directly. */
  function runLengths(runs: number, seed: number, shift: number): number[] {
    const rng = xoshiro128(seed);
    const out: number[] = [];
    for (let r = 0; r < runs; r++) {
      let S = 0;
      let i = 0;
      while (S < h) {
        S = Math.max(0, S + rng.nextNormal() + shift - k);
        i++;
      }
      out.push(i);
    }
    return out;
  }

  function meanAndSe(xs: number[]): { mean: number; se: number } {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
    return { mean, se: Math.sqrt(v / xs.length) };
  }

  it('detects a sustained 1σ-per-interval hidden load in ARL₁ ≈ 11.5 intervals (under an hour), as the analytic value says (4000 runs)', () => {
    const arl1 = cusumArl(h, k, 1);
    expect(arl1).toBeCloseTo(DESIGN.cusumTest.arl1, 9);
    expect(arl1).toBeGreaterThan(10);
    expect(arl1).toBeLessThan(12);
    const { mean, se } = meanAndSe(runLengths(4000, 8, 1));
    expect(Math.abs(mean - arl1)).toBeLessThan(4 * se);
  });

  it('detects a sustained 3σ-per-interval hidden load in ARL ≈ 2.8 intervals (4000 runs)', () => {
    const arl = cusumArl(h, k, 3);
    expect(arl).toBeLessThan(3);
    const { mean, se } = meanAndSe(runLengths(4000, 9, 3));
    expect(Math.abs(mean - arl)).toBeLessThan(4 * se);
  });

  it('runs ARL₀ ≈ 1600 intervals between false alarms on honest data, as the analytic value says (600 runs)', () => {
    const arl0 = DESIGN.cusumTest.arl0;
    expect(arl0).toBeGreaterThan(1500);
    const { mean, se } = meanAndSe(runLengths(600, 10, 0));
    expect(Math.abs(mean - arl0)).toBeLessThan(4 * se);
  });

  it('raises an alarm within the 48-interval window at its analytic power when every interval hides 1σ (2000 runs)', () => {
    const rng = xoshiro128(11);
    let alarms = 0;
    const runs = 2000;
    for (let r = 0; r < runs; r++) {
      const ivs = TEMPLATE.map((iv) => {
        const e = FACILITY.pueMax * iv.gpuJ + FACILITY.baselineW * D;
        return { ...iv, meterJ: e + FACILITY.meterSigma * e * (1 + rng.nextNormal()) };
      });
      if (physicsCheck({ intervals: ivs, facility: FACILITY, alpha: ALPHA }).cusumTest.alarm)
        alarms++;
    }
    const expected = DESIGN.cusumTest.powerAtDesignShift;
    expect(expected).toBeGreaterThan(0.99);
    const { low, high } = ci(alarms, runs);
    expect(low).toBeLessThanOrEqual(expected);
    expect(high).toBeGreaterThanOrEqual(expected);
  });
});
