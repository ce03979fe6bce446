import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { integrateGpu } from '../../nodes/report/integrate.js';

const S = (t: number, powerW: number, extra: Partial<GpuSample> = {}): GpuSample => ({
  t,
  uuid: 'GPU-a',
  model: 'NVIDIA H100 80GB HBM3',
  powerW,
  ...extra,
});

describe('trapezoid integration of power (no energy counter)', () => {
  it('is exact for power linear in time: 100 → 200 → 300 W over 2 s gives 400 J', () => {
    const r = integrateGpu(
      [S(0, 100), S(1000, 200), S(2000, 300)],
      { startMs: 0, endMs: 2000 },
      15_000,
    );
    expect(r.energyJ).toBe(400);
    expect(r.trapezoidSeconds).toBe(2);
    expect(r.counterSeconds).toBe(0);
    expect(r.observedSeconds).toBe(2);
  });

  it('clips a segment at the interval edges by linear interpolation: [0.5 s, 1.5 s) gives 200 J', () => {
    const r = integrateGpu(
      [S(0, 100), S(1000, 200), S(2000, 300)],
      { startMs: 500, endMs: 1500 },
      15_000,
    );
    expect(r.energyJ).toBeCloseTo(200, 12);
    expect(r.observedSeconds).toBe(1);
  });

  it('leaves the edges unobserved when no sample lies beyond them', () => {
    const r = integrateGpu([S(1000, 100), S(2000, 100)], { startMs: 0, endMs: 3000 }, 15_000);
    expect(r.observedSeconds).toBe(1);
    expect(r.energyJ).toBe(100);
  });
});

describe('when two samples are further apart than the gap bound', () => {
  it('does not bridge the gap, integrates no power across it and reports it', () => {
    const r = integrateGpu(
      [S(0, 600), S(1000, 600), S(21_000, 600), S(22_000, 600)],
      { startMs: 0, endMs: 60_000 },
      15_000,
    );
    expect(r.gaps).toEqual([{ fromMs: 1000, toMs: 21_000 }]);
    expect(r.observedSeconds).toBe(2);
    expect(r.energyJ).toBe(1200);
  });

  it('still counts the energy an intact counter measured across the gap, separately', () => {
    const r = integrateGpu(
      [S(0, 600, { energyMJ: 0 }), S(20_000, 600, { energyMJ: 12_000_000 })],
      { startMs: 0, endMs: 60_000 },
      15_000,
    );
    expect(r.gaps).toHaveLength(1);
    expect(r.observedSeconds).toBe(0);
    expect(r.gapEnergyJ).toBe(12_000);
    expect(r.energyJ).toBe(12_000);
  });
});

describe('energy from the cumulative counter (mJ)', () => {
  it('uses counter differences where both ends have the counter', () => {
    // The power readings say 100 W, the counter says 500 J per second: the counter wins.
    const r = integrateGpu(
      [S(0, 100, { energyMJ: 1e9 }), S(1000, 100, { energyMJ: 1e9 + 500_000 })],
      { startMs: 0, endMs: 1000 },
      15_000,
    );
    expect(r.energyJ).toBe(500);
    expect(r.trapezoidJ).toBe(100);
    expect(r.counterSeconds).toBe(1);
  });

  it('treats a decrease as a reset: records it, falls back to the trapezoid, never goes negative', () => {
    const r = integrateGpu(
      [
        S(0, 300, { energyMJ: 5_000_000 }),
        S(1000, 300, { energyMJ: 5_300_000 }),
        S(2000, 300, { energyMJ: 1_000 }), // driver reload
        S(3000, 300, { energyMJ: 301_000 }),
      ],
      { startMs: 0, endMs: 3000 },
      15_000,
    );
    expect(r.counterResets).toEqual([2000]);
    expect(r.energyJ).toBe(900);
    expect(r.counterSeconds).toBe(2);
    expect(r.trapezoidSeconds).toBe(1);
  });
});

describe('busy and tensor time', () => {
  it('weights time by activity = max(util, SM, tensor), linearly between samples', () => {
    const r = integrateGpu(
      [S(0, 100, { utilGpu: 0 }), S(10_000, 100, { utilGpu: 1 })],
      { startMs: 0, endMs: 10_000 },
      15_000,
    );
    expect(r.busySeconds).toBe(5);
    // nvidia-smi has no tensor activity: its upper bound (the activity) stands in, flagged.
    expect(r.tensorSeconds).toBe(5);
    expect(r.tensorProxySeconds).toBe(10);
  });

  it('uses measured tensor activity where both ends have it', () => {
    const r = integrateGpu(
      [
        S(0, 100, { utilGpu: 1, tensorActive: 0.4, smActive: 0.9 }),
        S(10_000, 100, { utilGpu: 1, tensorActive: 0.4, smActive: 0.9 }),
      ],
      { startMs: 0, endMs: 10_000 },
      15_000,
    );
    expect(r.busySeconds).toBe(10);
    expect(r.tensorSeconds).toBeCloseTo(4, 12);
    expect(r.tensorProxySeconds).toBe(0);
    expect(r.smSeconds / r.smObservedSeconds).toBeCloseTo(0.9, 12);
  });

  it('counts time with no activity metric at all as busy (never under-reports)', () => {
    const r = integrateGpu([S(0, 100), S(4000, 100)], { startMs: 0, endMs: 4000 }, 15_000);
    expect(r.busySeconds).toBe(4);
    expect(r.activityUnknownSeconds).toBe(4);
  });
});

describe('property: splitting an interval', () => {
  const arbSeries = fc
    .array(
      fc.record({
        dt: fc.integer({ min: 1, max: 5000 }),
        p: fc.integer({ min: 0, max: 100_000 }).map((x) => x / 100),
        c: fc.integer({ min: -2_000_000, max: 5_000_000 }),
        u: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      }),
      { minLength: 2, maxLength: 40 },
    )
    .map((steps) => {
      let t = 0;
      let counter = 1e9;
      return steps.map(({ dt, p, c, u }) => {
        t += dt;
        counter = c < 0 && counter + c >= 0 ? counter + c : counter + Math.abs(c);
        return S(t, p, { energyMJ: counter, ...(u === undefined ? {} : { utilGpu: u / 100 }) });
      });
    });

  it('gives pieces whose energy, busy and observed time add up to the whole, all ≥ 0', () => {
    fc.assert(
      fc.property(arbSeries, fc.double({ min: 0, max: 1, noNaN: true }), (series, f) => {
        const start = series[0]!.t;
        const end = series[series.length - 1]!.t;
        const mid = Math.round(start + (end - start) * f);
        const whole = integrateGpu(series, { startMs: start, endMs: end }, 3000);
        const a = integrateGpu(series, { startMs: start, endMs: mid }, 3000);
        const b = integrateGpu(series, { startMs: mid, endMs: end }, 3000);
        for (const k of ['energyJ', 'busySeconds', 'observedSeconds', 'tensorSeconds'] as const) {
          expect(a[k] + b[k]).toBeCloseTo(whole[k], 6);
          expect(a[k]).toBeGreaterThanOrEqual(0);
        }
        expect(whole.busySeconds).toBeLessThanOrEqual(whole.observedSeconds + 1e-9);
        expect(whole.tensorSeconds).toBeLessThanOrEqual(whole.busySeconds + 1e-9);
      }),
    );
  });
});
