import { describe, expect, it } from 'vitest';
import { createPrng } from '../../nodes/collectors/prng.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import {
  createSyntheticCollector,
  createSyntheticSource,
  GPU_PROFILES,
  syntheticSamples,
} from '../../nodes/collectors/synthetic.js';
import { fakeTimer } from './fixtures.js';

const T0 = Date.UTC(2026, 10, 27);
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

describe('the seeded PRNG', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const xa = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xa);
    expect(createPrng('lab-a').next()).toBe(createPrng('lab-a').next());
  });

  it('has uniform mean ≈ 1/2 and normal mean ≈ 0, sd ≈ 1 over 20 000 draws', () => {
    const p = createPrng(1);
    const u = Array.from({ length: 20_000 }, () => p.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    const n = Array.from({ length: 20_000 }, () => p.normal());
    const m = mean(n);
    expect(m).toBeCloseTo(0, 1);
    expect(Math.sqrt(mean(n.map((x) => (x - m) ** 2)))).toBeCloseTo(1, 1);
  });

  it('refuses a fractional numeric seed with TypeError', () => {
    expect(() => createPrng(1.5)).toThrow(TypeError);
  });
});

describe('synthetic telemetry', () => {
  const gen = (
    seed: number | string,
    workload: 'idle' | 'inference' | 'training' | 'bursty',
    model: 'H100' | 'H200' = 'H100',
  ) => syntheticSamples({ seed, workload, model, gpus: 4, energyCounter: true }, T0, T0 + 600_000);

  it('is identical for the same seed and differs for another seed', () => {
    expect(gen(9, 'bursty')).toEqual(gen(9, 'bursty'));
    expect(gen(9, 'bursty')).not.toEqual(gen(10, 'bursty'));
    expect(new Set(gen(9, 'idle').map((s) => s.uuid)).size).toBe(4);
  });

  it.each(['H100', 'H200'] as const)(
    'draws ≈ the captured idle power and ≈ 10 %% of training power on %s',
    (model) => {
      const idle = mean(gen(1, 'idle', model).map((s) => s.powerW));
      const train = mean(gen(1, 'training', model).map((s) => s.powerW));
      expect(idle).toBeCloseTo(GPU_PROFILES[model].idleW, 0);
      expect(idle / train).toBeGreaterThan(0.09);
      expect(idle / train).toBeLessThan(0.14);
      expect(train).toBeLessThanOrEqual(GPU_PROFILES[model].loadW + 20);
    },
  );

  it('shows zero activity when idle, saturation when training, and less tensor use for inference', () => {
    const idle = gen(2, 'idle');
    const inf = gen(2, 'inference');
    const train = gen(2, 'training');
    expect(idle.every((s) => s.utilGpu === 0 && s.tensorActive === 0 && s.smActive === 0)).toBe(
      true,
    );
    expect(mean(train.map((s) => s.utilGpu!))).toBeGreaterThan(0.95);
    expect(mean(train.map((s) => s.tensorActive!))).toBeGreaterThan(0.4);
    const infU = mean(inf.map((s) => s.utilGpu!));
    expect(infU).toBeGreaterThan(0.3);
    expect(infU).toBeLessThan(0.8);
    expect(mean(inf.map((s) => s.tensorActive!))).toBeLessThan(
      mean(train.map((s) => s.tensorActive!)) / 2,
    );
    for (const s of [...inf, ...train]) {
      expect(s.tensorActive!).toBeLessThanOrEqual(s.smActive! + 1e-9);
      expect(s.smActive!).toBeLessThanOrEqual(s.utilGpu! + 0.01);
    }
  });

  it('alternates idle and training phases when bursty', () => {
    const s = gen(5, 'bursty');
    expect(s.some((x) => x.utilGpu === 0)).toBe(true);
    expect(s.some((x) => x.utilGpu! > 0.9)).toBe(true);
  });

  it('keeps an energy counter that never decreases and grows by the trapezoid of power', () => {
    const all = gen(3, 'training');
    const s = all.filter((x) => x.uuid === all[0]!.uuid);
    expect(s).toHaveLength(600);
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1]!;
      const b = s[i]!;
      const expected = ((a.powerW + b.powerW) / 2) * (b.t - a.t);
      expect(b.energyMJ! - a.energyMJ!).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
      expect(b.energyMJ! - a.energyMJ!).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    }
  });

  it('refuses time going backwards with CONFIG_INVALID', () => {
    const src = createSyntheticSource({ seed: 1, workload: 'idle' });
    src.next(1000);
    expect(() => src.next(1000)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('refuses 0 GPUs with CONFIG_INVALID', () => {
    expect(() => createSyntheticSource({ seed: 1, workload: 'idle', gpus: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe('the synthetic collector', () => {
  it('emits one batch of all GPUs per period of the injected timer', async () => {
    const timer = fakeTimer(T0);
    const ac = new AbortController();
    const batches: GpuSample[][] = [];
    await createSyntheticCollector({
      seed: 1,
      workload: 'training',
      gpus: 2,
      periodMs: 5000,
      timer,
    }).run((b) => {
      batches.push(b);
      if (batches.length === 3) ac.abort();
    }, ac.signal);
    expect(batches.map((b) => b.map((s) => s.t))).toEqual([
      [T0, T0],
      [T0 + 5000, T0 + 5000],
      [T0 + 10_000, T0 + 10_000],
    ]);
  });
});
