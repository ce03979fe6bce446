import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LabRun, RunResult } from '../../src/sim/engine.js';
import { stableJson, stableLine } from '../../src/sim/json.js';
import { deterrence, pointMetrics, wilson } from '../../src/sim/metrics.js';
import { smallScenario } from './helpers.js';

describe('wilson', () => {
  it('matches the published score interval (5/10: [0.2366, 0.7634]; 0/10: [0, 0.2775])', () => {
    expect(wilson(5, 10)).toMatchObject({ p: 0.5, lo: 0.236593, hi: 0.763407 });
    expect(wilson(0, 10)).toMatchObject({ p: 0, lo: 0, hi: 0.277533 });
    expect(wilson(0, 0)).toMatchObject({ p: null, lo: null, hi: null });
  });

  it('always brackets the observed proportion within [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, f) => {
          const k = Math.floor(f * n);
          const w = wilson(k, n);
          return w.lo! >= 0 && w.hi! <= 1 && w.lo! <= w.p! + 1e-9 && w.p! <= w.hi! + 1e-9;
        },
      ),
    );
  });

  it('refuses k > n with a RangeError', () => {
    expect(() => wilson(3, 2)).toThrow(RangeError);
  });
});

describe('deterrence', () => {
  const e = { gainPerFlop: 1, penalty: 1000, falseAlarmCost: 50 };
  it('is p* = (G + f·C)/(G − G_d + P)', () => {
    const d = deterrence(100, 20, e, 0.1, 0.2);
    expect(d.required).toBeCloseTo(105 / 1080, 6);
    expect(d.deterred).toBe(true);
    expect(deterrence(100, 20, e, 0.1, 0.05).deterred).toBe(false);
  });
  it('reduces to the classic (G + f·C)/(G + P) when nothing is kept on detection', () => {
    expect(deterrence(100, 0, e, 0, 0.5).required).toBeCloseTo(100 / 1100, 6);
  });
  it('cannot deter when the gain kept on detection outweighs the penalty (p* > 1)', () => {
    expect(deterrence(5000, 4900, e, 0, 1).required!).toBeGreaterThan(1);
    expect(deterrence(5000, 4900, e, 0, 1).deterred).toBe(false);
  });
});

function lab(
  group: string,
  o: { first?: number | null; codes?: string[]; truth?: LabRun['truth'] },
): LabRun {
  return {
    lab: `${group}.example`,
    group,
    final: { verdict: o.codes?.length ? 'violation' : 'compliant', codes: o.codes ?? [] },
    firstAt: {
      violation: o.first ?? null,
      flagged: o.first ?? null,
      logViolation: null,
      logFlagged: null,
    },
    codes: {},
    roc: { lab: [false], any: [false] },
    minHiddenFlop: null,
    truth: o.truth ?? {
      cheatStart: null,
      hiddenFlop: 0,
      hiddenEnergyJ: 0,
      perInterval: [0, 0, 0, 0],
    },
  };
}

describe('pointMetrics', () => {
  const l = smallScenario({ strategy: { strategy: 'stolen-key' } });
  const g = l.groups[0]!.id;
  const truth = { cheatStart: 600, hiddenFlop: 30, hiddenEnergyJ: 3, perInterval: [0, 10, 10, 10] };
  const run = (i: number, first: number | null, codes: string[]): RunResult => ({
    point: 0,
    run: i,
    seed: i,
    mode: 'fast',
    notes: [],
    stats: { statements: 0, checkpoints: 0, looks: 0, refused: {} },
    labs: [
      lab(g, { first, codes, truth }),
      lab('honest', { codes: i === 0 ? ['energy-unexplained'] : [] }),
    ],
  });
  const m = pointMetrics(l.scenario, l.groups, [
    run(1, null, []),
    run(0, 1500, ['energy-unexplained']),
  ]);
  const s = m.groups[0]!;

  it('counts detection on the final verdict and time from the cheat start to the first violation', () => {
    expect(s.detection).toMatchObject({ k: 1, n: 2 });
    expect(s.timeToDetectionHours).toMatchObject({ n: 1, median: 0.25 });
  });
  it('counts compute gained up to detection pro rata, and all of it when undetected', () => {
    // 1500 s: interval 1 [600, 1200) in full, interval 2 [1200, 1800) half → 15; undetected → 30
    expect(s.gainedBeforeDetectionFlop).toMatchObject({ min: 15, max: 30 });
    expect(s.undetectedFlop).toMatchObject({ n: 1, mean: 30 });
  });
  it('counts honest labs’ lab-level violations as false alarms', () => {
    expect(m.honest.falseAlarm).toMatchObject({ k: 1, n: 2 });
  });
});

describe('stableJson', () => {
  it('gives the same bytes whatever the key order, and parses back to the value', () => {
    const reorder = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reorder);
      if (v === null || typeof v !== 'object') return v;
      // fromEntries defines own properties: an assignment to out['__proto__'] would set the
      // prototype instead, and fc.jsonValue() does generate that key.
      return Object.fromEntries(
        Object.keys(v)
          .reverse()
          .map((k) => [k, reorder((v as Record<string, unknown>)[k])]),
      );
    };
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(stableJson(reorder(v))).toBe(stableJson(v));
        expect(stableLine(reorder(v))).toBe(stableLine(v));
        expect(JSON.parse(stableJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
        expect(JSON.parse(stableLine(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
    const proto = JSON.parse('{"b":1,"__proto__":false}');
    expect(stableLine(reorder(proto))).toBe('{"__proto__":false,"b":1}');
    expect(stableJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe(
      '{\n  "a": [\n    2,\n    {\n      "c": 4,\n      "d": 3\n    }\n  ],\n  "b": 1\n}\n',
    );
    expect(stableLine({ b: 1, a: null, u: undefined, n: Number.NaN })).toBe(
      '{"a":null,"b":1,"n":null}',
    );
  });
});
