/**
 * Fast mode skips the cryptography and the log; it must not change a single verdict. The same
 * seeds are run both ways on a world with honest labs and several strategies, and every
 * recorded outcome — final verdicts and finding codes, first times of every kind of finding,
 * the ROC verdicts, the detection bounds, the ground truth, the log's statement and checkpoint
 * counts — must be identical.
 */
import { describe, expect, it } from 'vitest';
import { type RunResult, runOnce } from '../../src/sim/engine.js';
import { checkScenario } from '../../src/sim/scenario.js';
import { smallScenarioObject } from './helpers.js';

function world() {
  const o = smallScenarioObject({
    hours: 2,
    extraLabs: ['lab-y.example', 'lab-z.example', 'lab-w.example'],
    // the verifier reads every third checkpoint: fast mode must observe the same ones
    verifier: { syncEverySeconds: 900, lookEverySeconds: 1800 },
  });
  o.strategies = [
    {
      strategy: 'late-reports',
      labs: ['lab-x.example'],
      params: { nodes: 1, lateBySeconds: 600, fromHours: 0.5 },
    },
    {
      strategy: 'dropped-reports',
      labs: ['lab-y.example'],
      params: { probability: 0.5, nodes: 1 },
    },
    {
      strategy: 'hidden-cluster',
      labs: ['lab-z.example'],
      params: { gpusPerNode: 1, fromHours: 0.5 },
    },
  ];
  return checkScenario(o, 'equivalence.yaml');
}

const strip = (r: RunResult) => ({ ...r, mode: undefined });

describe('fast mode', () => {
  it('gives the same verdicts as the full path (real keys, signatures, log, witnesses) on the same seeds', async () => {
    const l = world();
    for (const run of [0, 1]) {
      const full = await runOnce(l, 0, run, { mode: 'full' });
      const fast = await runOnce(l, 0, run, { mode: 'fast' });
      expect(full.mode).toBe('full');
      expect(fast.mode).toBe('fast');
      expect(full.stats.refused).toEqual({});
      expect(strip(fast)).toEqual(strip(full));
      // the comparison is not vacuous: honest labs, and findings of several kinds
      const codes = new Set(full.labs.flatMap((x) => x.final.codes));
      expect(codes.size).toBeGreaterThanOrEqual(3);
      expect(full.labs.find((x) => x.lab === 'lab-w.example')!.final.verdict).toBe('compliant');
    }
  }, 120_000);

  it('runs a forked log on the full path even when the scenario asks for fast', async () => {
    const o = smallScenarioObject({
      hours: 1,
      strategy: { strategy: 'forked-log', params: { nodes: 1, fromHours: 0.25 } },
    });
    const r = await runOnce(checkScenario(o, 'f.yaml'), 0, 0);
    expect(r.mode).toBe('full');
  }, 60_000);
});
