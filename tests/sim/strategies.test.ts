/**
 * Each strategy against the real verifier on a small world (fast mode; the forked log runs the
 * full path): detected, by the findings its design predicts, or not detected — and then with the
 * compute it gained reported, not left out.
 */
import { describe, expect, it } from 'vitest';
import { type LabRun, runOnce } from '../../src/sim/engine.js';
import { type SmallOptions, smallScenario } from './helpers.js';

const LAB = 'lab-x.example';

async function labRuns(o: SmallOptions, runs = 3, lab = LAB): Promise<LabRun[]> {
  const l = smallScenario(o);
  const out: LabRun[] = [];
  for (let r = 0; r < runs; r++)
    out.push((await runOnce(l, 0, r)).labs.find((x) => x.lab === lab)!);
  return out;
}

const codes = (l: LabRun) => l.final.codes;

describe('honest', () => {
  it('is compliant in every run, with no hidden compute', async () => {
    for (const l of await labRuns({ strategy: { strategy: 'honest' } })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.truth).toMatchObject({ cheatStart: null, hiddenFlop: 0 });
    }
  });
});

describe('hidden-cluster', () => {
  it('at a declared, metered facility: energy-unexplained within two hours of its start', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'hidden-cluster', params: { fromHours: 1 } },
    })) {
      expect(codes(l)).toEqual(['energy-unexplained']);
      expect(l.truth.cheatStart).toBe(3600);
      expect(l.firstAt.violation! - l.truth.cheatStart!).toBeLessThanOrEqual(7200);
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });

  it('at an undeclared facility: no finding at all, and its compute is counted as gained', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'hidden-cluster', params: { site: 'undeclared-facility' } },
    })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.firstAt.flagged).toBeNull();
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });
});

describe('under-report', () => {
  it('halving energy and utilisation: energy-unexplained', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'under-report', params: { factor: 0.5, fields: 'both', fromHours: 1 } },
    })) {
      expect(codes(l)).toContain('energy-unexplained');
    }
  });

  it('utilisation only, energy honest: undetected (no audit), the hidden FLOP reported', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'under-report',
        params: { factor: 0.1, fields: 'utilisation', fromHours: 1 },
      },
    })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });
});

describe('dropped-reports', () => {
  it('without re-chaining: missing-report and seq-gap', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'dropped-reports',
        params: { probability: 1, nodes: 1, fromHours: 1, toHours: 2 },
      },
    })) {
      expect(codes(l)).toEqual(['missing-report', 'seq-gap']);
    }
  });

  it('re-chained: missing-report only (the chain itself is whole)', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'dropped-reports',
        params: { probability: 1, nodes: 1, fromHours: 1, toHours: 2, rechain: true },
      },
    })) {
      expect(codes(l)).toEqual(['missing-report']);
    }
  });
});

describe('late-reports', () => {
  it('backdated quiet reports: late-report (witness times) and energy-unexplained', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'late-reports',
        params: { nodes: 1, fromHours: 1, toHours: 2, lateBySeconds: 1200 },
      },
    })) {
      expect(codes(l)).toEqual(expect.arrayContaining(['late-report', 'energy-unexplained']));
    }
  });

  it('honest content, submitted late: late-report, and nothing hidden', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'late-reports',
        params: { nodes: 1, fromHours: 1, toHours: 2, lateBySeconds: 1200, fabricate: false },
      },
    })) {
      expect(codes(l)).toEqual(['late-report']);
      expect(l.truth.hiddenFlop).toBe(0);
    }
  });
});

describe('stolen-key', () => {
  it('authentic, complete, on time: caught by the physics check alone', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'stolen-key', params: { fromHours: 1 } },
    })) {
      expect(codes(l)).toEqual(['energy-unexplained']);
    }
  });
});

describe('split-training', () => {
  const pause = {
    pause: { maxFlopPerDay: 1e20, allowedWorkloads: ['idle', 'inference', 'training'] },
  };

  it('across two labs: each under its own limit, neither flagged; the whole run counts as gained', async () => {
    const o: SmallOptions = {
      lab: pause,
      extraLabs: ['lab-y.example'],
      strategy: {
        strategy: 'split-training',
        labs: [LAB, 'lab-y.example'],
        params: { share: 0.8 },
      },
    };
    for (const lab of [LAB, 'lab-y.example']) {
      for (const l of await labRuns(o, 2, lab)) {
        expect(l.final.verdict).toBe('compliant');
        expect(l.truth.hiddenFlop).toBeGreaterThan(5e18);
      }
    }
  });

  it('across the clusters of one lab: the parts add up to limit-exceeded', async () => {
    for (const l of await labRuns(
      {
        lab: pause,
        facility: {
          clusters: [
            { id: 'c1', nodes: 2, gpusPerNode: 8, model: 'H100' },
            { id: 'c2', nodes: 2, gpusPerNode: 8, model: 'H100' },
          ],
        },
        hours: 6,
        strategy: { strategy: 'split-training', params: { across: 'clusters', share: 0.8 } },
      },
      2,
    )) {
      expect(codes(l)).toEqual(['limit-exceeded']);
    }
  });
});

describe('training-as-inference', () => {
  it('above the daily FLOP limit: limit-exceeded, never workload-not-allowed', async () => {
    for (const l of await labRuns({
      lab: { pause: { maxFlopPerDay: 5e19 } },
      strategy: { strategy: 'training-as-inference', params: { fromHours: 0 } },
    })) {
      expect(codes(l)).toEqual(['limit-exceeded']);
    }
  });

  it('below it: undetected, its training compute counted as gained', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'training-as-inference', params: { intensity: 0.5, nodes: 1 } },
    })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });
});

describe('meter-tamper', () => {
  it('a colluding meter hiding all of a hidden cluster: undetected, compute gained', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'meter-tamper', params: { fromHours: 1 } },
    })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });

  it('a meter bypass that misses nothing: energy-unexplained', async () => {
    for (const l of await labRuns({
      strategy: {
        strategy: 'meter-tamper',
        params: { mode: 'tamper', hideFraction: 0, fromHours: 1 },
      },
    })) {
      expect(codes(l)).toEqual(['energy-unexplained']);
    }
  });
});

describe('between-samples', () => {
  it('with energy counters: energy reported, FLOP not — undetected', async () => {
    for (const l of await labRuns({
      strategy: { strategy: 'between-samples', params: { nodes: 1 } },
    })) {
      expect(l.final.verdict).toBe('compliant');
      expect(l.truth.hiddenFlop).toBeGreaterThan(1e19);
    }
  });

  it('with power integrated from samples: the unreported burst energy is unexplained', async () => {
    for (const l of await labRuns({
      telemetry: { energyCounter: false },
      strategy: { strategy: 'between-samples', params: { nodes: 1 } },
    })) {
      expect(codes(l)).toEqual(['energy-unexplained']);
    }
  });

  it('through the node report code (samples model): the same outcome', async () => {
    for (const l of await labRuns(
      {
        hours: 2,
        telemetry: { model: 'samples', samplePeriodSeconds: 60, energyCounter: false },
        facility: { clusters: [{ id: 'c1', nodes: 1, gpusPerNode: 2, model: 'H100' }] },
        strategy: { strategy: 'between-samples', params: { nodes: 1, burstSeconds: 50 } },
      },
      1,
    )) {
      expect(codes(l)).toEqual(['energy-unexplained']);
    }
  });
});

describe('forked-log (full path: real log, witnesses, monitor)', () => {
  const fork = (colludingWitnesses: number, witnessGossip: boolean): SmallOptions => ({
    mode: 'full',
    hours: 2,
    verifier: { witnessGossip },
    strategy: { strategy: 'forked-log', params: { colludingWitnesses, nodes: 1, fromHours: 0.5 } },
  });

  it('no colluding witness, gossip: log-inconsistent (fork evidence from an honest witness)', async () => {
    const [l] = await labRuns(fork(0, true), 1);
    expect(codes(l!)).toContain('log-inconsistent');
  }, 60_000);

  it('no colluding witness, no gossip: quorum-not-met — inconclusive, not a violation', async () => {
    const [l] = await labRuns(fork(0, false), 1);
    expect(l!.final.verdict).toBe('inconclusive');
    expect(codes(l!)).toContain('quorum-not-met');
    expect(l!.firstAt.logViolation).toBeNull();
  }, 60_000);

  it('a quorum of colluding witnesses, no gossip: nothing at all', async () => {
    const [l] = await labRuns(fork(2, false), 1);
    expect(l!.final.verdict).toBe('compliant');
    expect(l!.truth.hiddenFlop).toBeGreaterThan(1e18);
  }, 60_000);

  it('a quorum of colluding witnesses, gossip: the honest witness still exposes the fork', async () => {
    const [l] = await labRuns(fork(2, true), 1);
    expect(codes(l!)).toEqual(['log-inconsistent']);
  }, 60_000);
});

describe('a strategy aimed at hardware the lab does not have', () => {
  it('is refused with SCENARIO_INVALID naming the lab and the target', async () => {
    const l = smallScenario({ strategy: { strategy: 'stolen-key', params: { cluster: 'nope' } } });
    await expect(runOnce(l, 0, 0)).rejects.toMatchObject({
      code: 'SCENARIO_INVALID',
      message: expect.stringMatching(/lab-x\.example has no nodes in x-f1\/nope/),
    });
  });
});
