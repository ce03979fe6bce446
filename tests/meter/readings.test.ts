import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeterReading } from '../../nodes/meter/readings.js';
import { MeterIntegrator } from '../../nodes/meter/readings.js';
import {
  createHttpMeterSource,
  createReplayMeterSource,
  createSyntheticMeterSource,
  parseMeterCsv,
} from '../../nodes/meter/sources.js';
import { fakeTimer } from '../nodes/fixtures.js';

describe('the meter integrator', () => {
  it('interpolates the counter at the interval edges', () => {
    const m = new MeterIntegrator(1000);
    for (const [t, c] of [
      [500, 1000],
      [1500, 2000],
      [2500, 3000],
    ] as const)
      m.add({ t, counterJ: c });
    // The chain starts at the first boundary after the first reading: c(1000) = 1500.
    expect(m.next()).toEqual({ startMs: 1000, endMs: 2000 });
    expect(m.settle()).toEqual({
      startMs: 1000,
      endMs: 2000,
      energyJ: 1000,
      counterJ: 2500,
      readings: 1,
      resets: 0,
    });
    expect(m.settle()).toBeUndefined(); // nothing at or after 3000 yet
    m.add({ t: 3000, counterJ: 3500 });
    expect(m.settle()).toMatchObject({ startMs: 2000, endMs: 3000, energyJ: 1000, counterJ: 3500 });
  });

  it('resumes from the last logged reading after a restart', () => {
    const m = new MeterIntegrator(1000, { t: 2000, counterJ: 2500 });
    m.add({ t: 1999, counterJ: 0 }); // older than the anchor: refused
    m.add({ t: 3500, counterJ: 4000 });
    expect(m.refused).toBe(1);
    expect(m.settle()).toMatchObject({ startMs: 2000, endMs: 3000, energyJ: 1000, counterJ: 3500 });
  });

  it('counts the energy after a counter reset from zero, never as negative energy', () => {
    const m = new MeterIntegrator(1000, { t: 0, counterJ: 1000 });
    for (const [t, c] of [
      [500, 1500],
      [700, 100],
      [1000, 600],
    ] as const)
      m.add({ t, counterJ: c });
    expect(m.settle()).toMatchObject({ energyJ: 500 + 100 + 500, counterJ: 600, resets: 1 });
  });

  it('refuses readings that do not move forward in time or are not finite non-negative numbers', () => {
    const m = new MeterIntegrator(1000);
    expect(m.add({ t: 10, counterJ: 5 })).toBe(true);
    expect(m.add({ t: 10, counterJ: 6 })).toBe(false);
    expect(m.add({ t: 11, counterJ: -1 })).toBe(false);
    expect(m.add({ t: 12, counterJ: Number.NaN })).toBe(false);
  });

  it('settles energies that add up to the counter increase, each non-negative (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1e6, noNaN: true })),
          {
            minLength: 2,
            maxLength: 80,
          },
        ),
        fc.integer({ min: 0, max: 10_000 }),
        (steps, t0) => {
          const m = new MeterIntegrator(1000);
          let t = t0;
          let c = 1e9;
          const rs: MeterReading[] = [];
          for (const [dt, dc] of steps) {
            t += dt;
            c += dc;
            rs.push({ t, counterJ: c });
            m.add({ t, counterJ: c });
          }
          const first = m.next();
          const settled = [];
          for (let s = m.settle(); s !== undefined; s = m.settle()) settled.push(s);
          if (first === undefined || settled.length === 0) return;
          const startCounter = settled[0]!.counterJ - settled[0]!.energyJ;
          const total = settled.reduce((a, s) => a + s.energyJ, 0);
          expect(total).toBeCloseTo(settled[settled.length - 1]!.counterJ - startCounter, 1);
          for (const s of settled) expect(s.energyJ).toBeGreaterThanOrEqual(0);
          for (let i = 1; i < settled.length; i++)
            expect(settled[i]!.startMs).toBe(settled[i - 1]!.endMs);
        },
      ),
    );
  });
});

describe('meter sources', () => {
  it('parse a CSV of cumulative readings with RFC 3339 or Unix ms times', () => {
    expect(
      parseMeterCsv('# m1\ntime,counterJ,note\n2026-11-27T00:00:00Z,100,a\n1795737610000,250,b\n'),
    ).toEqual([
      { t: Date.UTC(2026, 10, 27), counterJ: 100 },
      { t: 1795737610000, counterJ: 250 },
    ]);
  });

  it.each([
    ['no header columns', 't,c\n1,2\n', /header/],
    ['a bad counter', 'time,counterJ\n1,x\n', /line 2/],
    ['times that do not increase', 'time,counterJ\n5,1\n5,2\n', /line 3: times must increase/],
    ['no readings', 'time,counterJ\n', /no readings/],
  ])('refuse a CSV with %s (DAEMON_CONFIG_INVALID)', (_, text, re) => {
    expect(() => parseMeterCsv(text)).toThrow(re);
  });

  it('replay readings when the clock reaches their shifted time', async () => {
    const timer = fakeTimer(10_000);
    const got: MeterReading[] = [];
    await createReplayMeterSource({
      readings: [
        { t: 0, counterJ: 1 },
        { t: 5_000, counterJ: 2 },
        { t: 7_000, counterJ: 3 },
      ],
      shiftToMs: 8_000,
      timer,
    }).run((r) => got.push(r), new AbortController().signal);
    expect(got.map((r) => r.t)).toEqual([8_000, 13_000, 15_000]);
    expect(timer.sleeps).toEqual([3_000, 2_000]);
  });

  it('poll an HTTP JSON endpoint, scaling kWh to joules and reporting bad answers', async () => {
    const answers: unknown[] = [
      { data: { kwh: 2, at: '2026-11-27T00:00:01Z' } },
      { data: {} },
      { data: { kwh: 3, at: '2026-11-27T00:00:03Z' } },
    ];
    const errors: string[] = [];
    const got: MeterReading[] = [];
    const ac = new AbortController();
    const timer = fakeTimer(0);
    await createHttpMeterSource({
      url: 'http://meter.test/reading',
      counterField: 'data.kwh',
      timeField: 'data.at',
      scale: 3.6e6,
      periodMs: 1000,
      timer,
      fetch: async () => {
        const a = answers.shift();
        if (answers.length === 0) ac.abort();
        return { ok: true, status: 200, json: async () => a };
      },
      onError: (e) => errors.push(e.message),
    }).run((r) => got.push(r), ac.signal);
    expect(got).toEqual([
      { t: Date.UTC(2026, 10, 27, 0, 0, 1), counterJ: 7.2e6 },
      { t: Date.UTC(2026, 10, 27, 0, 0, 3), counterJ: 1.08e7 },
    ]);
    expect(errors).toEqual(['meter answer has no non-negative number at data.kwh']);
  });

  it('simulate facility power as PUE × GPU power + baseline', async () => {
    const timer = fakeTimer(Date.UTC(2026, 10, 27));
    const got: MeterReading[] = [];
    const ac = new AbortController();
    await createSyntheticMeterSource({
      seed: 1,
      pue: 1.5,
      baselineW: 10_000,
      noise: 0,
      gpus: [{ model: 'H100', count: 8, workload: 'idle' }],
      timer,
    }).run((r) => {
      got.push(r);
      if (got.length === 101) ac.abort();
    }, ac.signal);
    const watts = (got[100]!.counterJ - got[0]!.counterJ) / 100;
    // 8 idle H100s draw about 8 × 69.85 W (shared/fixtures/telemetry).
    expect(watts).toBeGreaterThan(1.5 * 8 * 69.85 * 0.97 + 10_000);
    expect(watts).toBeLessThan(1.5 * 8 * 69.85 * 1.03 + 10_000);
  });
});
