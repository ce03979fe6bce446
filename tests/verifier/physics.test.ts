import { describe, expect, it } from 'vitest';
import { isVPauseError } from '../../src/core/errors.js';
import {
  DEFAULT_CONVERSION,
  type FacilityPhysics,
  type PhysicsInterval,
  physicsCheck,
} from '../../src/verifier/physics.js';
import { cusumThreshold, normalSf, normalUpperQuantile } from '../../src/verifier/stats.js';

const FACILITY: FacilityPhysics = {
  pueMin: 1.1,
  pueMax: 1.4,
  baselineW: 100_000,
  meterSigma: 0.01,
};

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** n five-minute intervals from 2026-11-27T00:00:00Z with the given GPU and meter energies. */
function intervals(gpuJ: number[], meterJ: number[]): PhysicsInterval[] {
  const t0 = Date.parse('2026-11-27T00:00:00Z');
  return gpuJ.map((g, i) => ({
    start: iso(t0 + i * 300_000),
    end: iso(t0 + (i + 1) * 300_000),
    gpuJ: g,
    meterJ: meterJ[i]!,
    evidence: { leaf: 100 + i },
  }));
}

describe('a two-interval worked example', () => {
  // Interval 0: G = 1e7 J, d = 300 s → Ê = 1.4·1e7 + 1e5·300 = 4.4e7 J; σ = 4.4e5 J.
  // Interval 1: G = 2e7 J → Ê = 5.8e7 J; σ = 5.8e5 J.
  // Meter: 4.4e7 + 2·4.4e5 (z = 2), 5.8e7 − 5.8e5 (z = −1).
  const r = physicsCheck({
    intervals: intervals([1e7, 2e7], [4.4e7 + 8.8e5, 5.8e7 - 5.8e5]),
    facility: FACILITY,
    alpha: 0.01,
  });

  it('takes the residual at the top of the PUE range and σ as meter-sigma × expected energy', () => {
    const [a, b] = r.perInterval;
    expect(a!.expectedJ).toBeCloseTo(4.4e7, 0);
    expect(a!.sigmaJ).toBeCloseTo(4.4e5, 3);
    expect(a!.residualJ).toBeCloseTo(8.8e5, 0);
    expect(a!.z).toBeCloseTo(2, 12);
    expect(b!.z).toBeCloseTo(-1, 12);
    expect(a!.durationS).toBe(300);
    expect(a!.evidence).toEqual({ leaf: 100 });
  });

  it('runs the CUSUM as max(0, S + z − k) with k = 0.5', () => {
    expect(r.cusum[0]).toBeCloseTo(1.5, 12);
    expect(r.cusum[1]).toBeCloseTo(0, 12);
    expect(r.cusumTest.k).toBe(0.5);
    expect(r.cusumTest.h).toBeCloseTo(cusumThreshold(2, 0.5, 0.005), 12);
  });

  it('computes the balance Z = Σr / √(Σσ²) and its one-sided p-value', () => {
    const z = (8.8e5 - 5.8e5) / Math.sqrt(4.4e5 ** 2 + 5.8e5 ** 2);
    expect(r.balance.z).toBeCloseTo(z, 12);
    expect(r.balance.p).toBeCloseTo(normalSf(z), 12);
    expect(r.balance.threshold).toBeCloseTo(normalUpperQuantile(0.005), 12);
    expect(r.balance.alarm).toBe(false);
    expect(r.alarm).toBe(false);
    expect(r.alarmAt).toBeUndefined();
  });

  it('splits alpha between the CUSUM and the balance test', () => {
    expect(r.cusumTest.alpha).toBe(0.005);
    expect(r.balance.alpha).toBe(0.005);
    expect(r.detection.alpha).toBe(0.01);
    expect(r.detection.testAlpha).toBe(0.005);
  });
});

describe('which end of the PUE range is most favourable to the lab', () => {
  const G = Array.from({ length: 12 }, () => 3e7);
  const exactAt = (pue: number): number[] => G.map((g) => pue * g + FACILITY.baselineW * 300);

  it('a noiseless facility at the top of its range has zero residuals and no alarm', () => {
    const r = physicsCheck({
      intervals: intervals(G, exactAt(1.4)),
      facility: FACILITY,
      alpha: 0.01,
    });
    expect(r.perInterval.every((x) => Math.abs(x.z) < 1e-9)).toBe(true);
    expect(r.alarm).toBe(false);
  });

  it('a noiseless facility at the bottom of its range has negative residuals and no alarm', () => {
    const r = physicsCheck({
      intervals: intervals(G, exactAt(1.1)),
      facility: FACILITY,
      alpha: 0.01,
    });
    expect(r.perInterval.every((x) => x.z < -10)).toBe(true);
    expect(r.cusum.every((s) => s === 0)).toBe(true);
    expect(r.balance.z).toBeLessThan(0);
    expect(r.alarm).toBe(false);
  });

  it('a facility drawing just above the top of its range raises the balance alarm', () => {
    // 1 % above expected in every interval: Z = 0.01·ΣÊ / (0.01·√(ΣÊ²)) = √12 ≈ 3.46 > z₀.₉₉₅
    const r = physicsCheck({
      intervals: intervals(
        G,
        exactAt(1.4).map((e) => e * 1.01),
      ),
      facility: FACILITY,
      alpha: 0.01,
    });
    expect(r.balance.z).toBeCloseTo(Math.sqrt(12), 9);
    expect(r.balance.alarm).toBe(true);
    expect(r.alarm).toBe(true);
  });
});

describe('a hidden load that starts mid-window', () => {
  it('raises the CUSUM alarm at the interval where S first reaches h, a few intervals after the start', () => {
    const n = 96;
    const G = Array.from({ length: n }, () => 3e7);
    const meter = G.map((g, i) => {
      const e = 1.4 * g + FACILITY.baselineW * 300;
      return i >= 40 ? e * 1.03 : e; // 3σ per interval from interval 40 on
    });
    const r = physicsCheck({ intervals: intervals(G, meter), facility: FACILITY, alpha: 0.01 });
    const h = r.cusumTest.h;
    // noiseless: S grows by 3 − 0.5 = 2.5 per interval from interval 40
    const expected = 40 + Math.ceil(h / 2.5) - 1;
    expect(r.alarmAt).toBe(expected);
    expect(r.cusum[expected]!).toBeGreaterThanOrEqual(h);
    expect(r.cusum[expected - 1]!).toBeLessThan(h);
    expect(r.cusumTest.alarm).toBe(true);
  });
});

describe('the detection bound', () => {
  const G = Array.from({ length: 48 }, (_, i) => 2e7 + 1e6 * (i % 7));
  const meter = G.map((g) => 1.4 * g + FACILITY.baselineW * 300);

  it('is (z₁₋α/₂ + z₁₋β)·σ_total to within the extra noise of the hidden load, when the PUE is known', () => {
    const fixed = { ...FACILITY, pueMin: 1.4 };
    const r = physicsCheck({ intervals: intervals(G, meter), facility: fixed, alpha: 0.01 });
    const plain = (normalUpperQuantile(0.005) + normalUpperQuantile(0.05)) * r.balance.sigmaJ;
    expect(r.detection.pueSlackJ).toBe(0);
    expect(r.detection.minHiddenJ).toBeCloseTo(r.detection.statisticalJ, 3);
    expect(r.detection.minHiddenJ).toBeGreaterThan(plain);
    expect(r.detection.minHiddenJ / plain).toBeLessThan(1.01);
  });

  it('adds the PUE slack (pmax − pmin)·ΣG when the PUE is a range', () => {
    const r = physicsCheck({ intervals: intervals(G, meter), facility: FACILITY, alpha: 0.01 });
    const sumG = G.reduce((a, b) => a + b, 0);
    expect(r.detection.pueSlackJ).toBeCloseTo(0.3 * sumG, 0);
    expect(r.detection.minHiddenJ).toBeGreaterThan(r.detection.pueSlackJ);
    // the statistical part at pmin is a little smaller than at pmax (less energy, less noise)
    expect(r.detection.minHiddenJ - r.detection.pueSlackJ).toBeLessThan(r.detection.statisticalJ);
    expect(r.detection.minHiddenJ - r.detection.pueSlackJ).toBeGreaterThan(
      0.9 * r.detection.statisticalJ,
    );
  });

  it('converts hidden facility energy to H100-hours at 632 W and FLOP at 989 TFLOP/s × 40 %', () => {
    const r = physicsCheck({ intervals: intervals(G, meter), facility: FACILITY, alpha: 0.01 });
    const d = r.detection;
    expect(d.minHiddenGpuJ).toBeCloseTo(d.minHiddenJ / 1.1, 0);
    expect(d.minHiddenGpuHoursH100).toBeCloseTo(d.minHiddenGpuJ / 632 / 3600, 9);
    expect(d.minHiddenFlop / (d.minHiddenGpuHoursH100 * 3600 * 989e12 * 0.4)).toBeCloseTo(1, 12);
    expect(d.conversion).toEqual(DEFAULT_CONVERSION);
    expect(d.probability).toBe(0.95);
    expect(d.assumptions.length).toBeGreaterThanOrEqual(6);
  });

  it('honours a conversion override and a different beta', () => {
    const base = physicsCheck({ intervals: intervals(G, meter), facility: FACILITY, alpha: 0.01 });
    const r = physicsCheck({
      intervals: intervals(G, meter),
      facility: FACILITY,
      alpha: 0.01,
      beta: 0.2,
      conversion: { gpuWatts: 700, utilisation: 0.5 },
    });
    expect(r.detection.probability).toBeCloseTo(0.8, 12);
    expect(r.detection.minHiddenJ).toBeLessThan(base.detection.minHiddenJ);
    expect(r.detection.minHiddenGpuHoursH100).toBeCloseTo(
      r.detection.minHiddenGpuJ / 700 / 3600,
      9,
    );
    expect(r.detection.conversion).toEqual({ gpuWatts: 700, peakFlops: 989e12, utilisation: 0.5 });
  });
});

describe('malformed input', () => {
  const ok = intervals([1e7, 1e7], [4.4e7, 4.4e7]);
  const cases: [string, () => unknown][] = [
    ['no intervals', () => physicsCheck({ intervals: [], facility: FACILITY, alpha: 0.01 })],
    [
      'a start that is not RFC 3339 UTC',
      () =>
        physicsCheck({
          intervals: [{ ...ok[0]!, start: '2026-11-27 00:00:00' }],
          facility: FACILITY,
          alpha: 0.01,
        }),
    ],
    [
      'an impossible date',
      () =>
        physicsCheck({
          intervals: [{ ...ok[0]!, start: '2026-02-30T00:00:00Z' }],
          facility: FACILITY,
          alpha: 0.01,
        }),
    ],
    [
      'an empty interval',
      () =>
        physicsCheck({
          intervals: [{ ...ok[0]!, end: ok[0]!.start }],
          facility: FACILITY,
          alpha: 0.01,
        }),
    ],
    [
      'overlapping intervals',
      () => physicsCheck({ intervals: [ok[0]!, ok[0]!], facility: FACILITY, alpha: 0.01 }),
    ],
    [
      'intervals out of order',
      () => physicsCheck({ intervals: [ok[1]!, ok[0]!], facility: FACILITY, alpha: 0.01 }),
    ],
    [
      'a negative meter energy',
      () =>
        physicsCheck({ intervals: [{ ...ok[0]!, meterJ: -1 }], facility: FACILITY, alpha: 0.01 }),
    ],
    [
      'a NaN GPU energy',
      () =>
        physicsCheck({
          intervals: [{ ...ok[0]!, gpuJ: Number.NaN }],
          facility: FACILITY,
          alpha: 0.01,
        }),
    ],
    [
      'a PUE below 1',
      () => physicsCheck({ intervals: ok, facility: { ...FACILITY, pueMin: 0.9 }, alpha: 0.01 }),
    ],
    [
      'pueMax below pueMin',
      () => physicsCheck({ intervals: ok, facility: { ...FACILITY, pueMax: 1.05 }, alpha: 0.01 }),
    ],
    [
      'a zero baseline',
      () => physicsCheck({ intervals: ok, facility: { ...FACILITY, baselineW: 0 }, alpha: 0.01 }),
    ],
    [
      'a meter-sigma of 0',
      () => physicsCheck({ intervals: ok, facility: { ...FACILITY, meterSigma: 0 }, alpha: 0.01 }),
    ],
    ['an alpha of 1', () => physicsCheck({ intervals: ok, facility: FACILITY, alpha: 1 })],
    [
      'a beta of 0',
      () => physicsCheck({ intervals: ok, facility: FACILITY, alpha: 0.01, beta: 0 }),
    ],
    [
      'a negative k',
      () => physicsCheck({ intervals: ok, facility: FACILITY, alpha: 0.01, cusumK: -1 }),
    ],
    [
      'a utilisation above 1',
      () =>
        physicsCheck({
          intervals: ok,
          facility: FACILITY,
          alpha: 0.01,
          conversion: { utilisation: 1.5 },
        }),
    ],
  ];
  it.each(cases)('refuses %s with PHYSICS_INPUT', (_what, run) => {
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(isVPauseError(err, 'PHYSICS_INPUT')).toBe(true);
  });

  it('accepts intervals with gaps between them', () => {
    const gap = [ok[0]!, { ...ok[1]!, start: '2026-11-27T01:00:00Z', end: '2026-11-27T01:05:00Z' }];
    expect(
      physicsCheck({ intervals: gap, facility: FACILITY, alpha: 0.01 }).perInterval,
    ).toHaveLength(2);
  });
});
