import { describe, expect, it } from 'vitest';
import { xoshiro128 } from '../../src/verifier/prng.js';
import {
  cusumAlarmProbability,
  cusumArl,
  cusumThreshold,
  normalCdf,
  normalPdf,
  normalQuantile,
  normalSf,
  normalUpperQuantile,
  wilsonInterval,
} from '../../src/verifier/stats.js';

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe('the standard normal distribution', () => {
  // Reference values: R's pnorm/qnorm (Cody 1993 / Wichura AS241). The two deepest tail values
  // are from the asymptotic series Q(x) = φ(x)/x·(1 − 1/x² + 3/x⁴ − 15/x⁶ + …), which at these x
  // is exact to double precision when summed to its smallest term.
  const cdf: [number, number][] = [
    [-37, 5.725571222524577e-300],
    [-20, 2.7536241186062344e-89],
    [-10, 7.6198530241605269e-24],
    [-5, 2.8665157187919391e-7],
    [-3, 1.3498980316300946e-3],
    [-2.9, 1.8658133003840378e-3],
    [-1.5, 6.6807201268858057e-2],
    [-1, 0.15865525393145705],
    [0, 0.5],
    [0.5, 0.69146246127401312],
    [1.959963984540054, 0.975],
  ];
  it.each(cdf)('Φ(%d) = %d to 1e-13 relative', (x, p) => {
    expect(relErr(normalCdf(x), p)).toBeLessThan(1e-13);
  });

  it.each(cdf)('Q(−x) = Φ(x) for x = %d to 1e-13 relative', (x, p) => {
    expect(relErr(normalSf(-x), p)).toBeLessThan(1e-13);
  });

  const quantiles: [number, number][] = [
    [1e-300, -37.047096299361201],
    [1e-10, -6.3613409024040557],
    [0.001, -3.0902323061678132],
    [0.025, -1.959963984540054],
    [0.05, -1.6448536269514722],
    [0.3, -0.52440051270804067],
    [0.5, 0],
    [0.95, 1.6448536269514722],
    [0.999, 3.0902323061678132],
  ];
  it.each(quantiles)('Φ⁻¹(%d) = %d to 1e-12 relative', (p, x) => {
    const got = normalQuantile(p);
    if (x === 0) expect(got).toBe(0);
    else expect(relErr(got, x)).toBeLessThan(1e-12);
  });

  it('gives z₁₋α for tiny α without forming 1 − α', () => {
    expect(relErr(normalUpperQuantile(1e-300), 37.047096299361201)).toBeLessThan(1e-12);
    expect(relErr(normalUpperQuantile(0.005), 2.5758293035489004)).toBeLessThan(1e-13);
  });

  it('inverts its own cdf and survival function across the range', () => {
    for (let i = 0; i <= 100; i++) {
      const x = -35 + 0.37 * i;
      const tol = 1e-12 * Math.max(1, Math.abs(x));
      expect(Math.abs(normalQuantile(normalCdf(x)) - x)).toBeLessThan(tol);
      expect(Math.abs(normalUpperQuantile(normalSf(-x)) + x)).toBeLessThan(tol);
    }
  });

  it('has a density that integrates to Φ', () => {
    let sum = 0;
    const cells = 130_000;
    const dx = 13 / cells;
    for (let i = 0; i < cells; i++) sum += normalPdf(-12 + (i + 0.5) * dx) * dx;
    expect(Math.abs(sum - normalCdf(1))).toBeLessThan(1e-9);
  });

  it('refuses p outside (0, 1) with a RangeError', () => {
    for (const p of [0, 1, -0.1, 1.5, Number.NaN])
      expect(() => normalQuantile(p)).toThrow(RangeError);
  });
});

describe('xoshiro128**', () => {
  it('reproduces the reference outputs for state (1, 2, 3, 4)', () => {
    // Source: the reference test of the Rust crate rand_xoshiro (Xoshiro128StarStar), whose values
    // were produced with Blackman & Vigna's xoshiro128starstar.c v1.1. The first two also follow
    // by hand: rotl(2·5, 7)·9 = 11520, after which s1 = 0.
    const r = xoshiro128([1, 2, 3, 4]);
    expect(Array.from({ length: 10 }, () => r.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597,
      4258142804,
    ]);
  });

  it('gives the same stream for the same seed and a different one for the next seed', () => {
    const a = xoshiro128(42);
    const b = xoshiro128(42);
    const c = xoshiro128(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(sa);
  });

  it('draws uniforms in [0, 1) with mean 1/2 and variance 1/12', () => {
    const r = xoshiro128(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.nextFloat();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
    }
    expect(outside).toBe(0);
    const mean = s / n;
    // standard error of the mean: √(1/12/n) ≈ 6.5e-4; allow 5 of them
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(2e-3);
  });

  it('draws normals whose mean, variance and tail frequency match N(0, 1)', () => {
    const r = xoshiro128(2);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.nextNormal();
      s += z;
      s2 += z * z;
      if (z > 2) beyond2++;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    const ci = wilsonInterval(beyond2, n, 0.999);
    expect(ci.low).toBeLessThan(normalSf(2));
    expect(ci.high).toBeGreaterThan(normalSf(2));
  });

  it('refuses a seed that is not a 32-bit unsigned integer and an all-zero state', () => {
    expect(() => xoshiro128(-1)).toThrow(RangeError);
    expect(() => xoshiro128(2 ** 32)).toThrow(RangeError);
    expect(() => xoshiro128(1.5)).toThrow(RangeError);
    expect(() => xoshiro128([0, 0, 0, 0])).toThrow(RangeError);
  });
});

describe('the CUSUM run-length distribution', () => {
  it('for one step is the closed form P(z − k ≥ h) = Q(h + k)', () => {
    expect(relErr(cusumAlarmProbability(1.7, 0.5, 1), normalSf(2.2))).toBeLessThan(1e-12);
  });

  it('for two steps matches direct numerical integration', () => {
    // P(no alarm in 2) = Φ(k)·Φ(h + k) + ∫₀ʰ φ(s + k)·Φ(h − s + k) ds, midpoint rule, 2e5 cells
    const h = 1;
    const k = 0.5;
    const cells = 200_000;
    let integral = 0;
    for (let i = 0; i < cells; i++) {
      const s = ((i + 0.5) * h) / cells;
      integral += (normalPdf(s + k) * normalCdf(h - s + k) * h) / cells;
    }
    const direct = 1 - (normalCdf(k) * normalCdf(h + k) + integral);
    expect(Math.abs(cusumAlarmProbability(h, k, 2) - direct)).toBeLessThan(1e-10);
  });

  // One-sided tabular CUSUM with k = 1/2: ARL₀ ≈ 336 (h = 4) and 930 (h = 5); ARL at a 1σ shift
  // 8.38 and 10.4. Montgomery, Introduction to Statistical Quality Control, the table of ARL
  // performance of the tabular CUSUM (it lists the two-sided ARL₀, 168 and 465, half of these).
  it('has converged in the number of quadrature nodes (the run-length distribution of a smooth kernel)', () => {
    // A window-length alarm probability and an ARL, against values computed with 3× the nodes.
    expect(relErr(cusumAlarmProbability(9, 0.5, 288), 0.005304144647352278)).toBeLessThan(1e-12);
    expect(relErr(cusumArl(5, 0.5, 1), 10.375975300207665)).toBeLessThan(1e-12);
  });

  it.each([
    [4, 0, 336],
    [5, 0, 930],
    [4, 1, 8.38],
    [5, 1, 10.4],
  ])('has ARL %d/%d ≈ the published %d (within 0.5 %%)', (h, shift, published) => {
    expect(relErr(cusumArl(h, 0.5, shift), published)).toBeLessThan(0.005);
  });

  it('chooses h for n = 1 as z₁₋α − k', () => {
    expect(Math.abs(cusumThreshold(1, 0.5, 0.01) - (normalUpperQuantile(0.01) - 0.5))).toBeLessThan(
      1e-8,
    );
  });

  it.each([
    [48, 0.5, 0.025],
    [288, 0.5, 0.005],
    [8640, 0.25, 0.0005],
  ])(
    'chooses h for n = %d, k = %d so that the false-alarm probability is exactly %d',
    (n, k, alpha) => {
      const h = cusumThreshold(n, k, alpha);
      expect(relErr(cusumAlarmProbability(h, k, n), alpha)).toBeLessThan(1e-6);
      // and a longer window needs a higher threshold for the same alpha
      expect(cusumThreshold(n * 2, k, alpha)).toBeGreaterThan(h);
    },
  );

  it('refuses nonsense arguments with a RangeError', () => {
    expect(() => cusumThreshold(0, 0.5, 0.01)).toThrow(RangeError);
    expect(() => cusumThreshold(10, 0.5, 1)).toThrow(RangeError);
    expect(() => cusumArl(0, 0.5)).toThrow(RangeError);
    expect(() => cusumAlarmProbability(1, 0.5, 2.5)).toThrow(RangeError);
  });
});
