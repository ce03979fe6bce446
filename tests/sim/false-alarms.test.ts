/**
 * Honest labs and the policy's alpha: the physics check's false-alarm rate is set for one
 * verdict over the window, so over many honest runs the final verdicts' false-alarm rate must be
 * consistent with alpha — at the facility's highest PUE, the worst case for false alarms — and
 * a smaller alpha must not raise more alarms.
 */
import { describe, expect, it } from 'vitest';
import { runOnce } from '../../src/sim/engine.js';
import { pointMetrics, wilson } from '../../src/sim/metrics.js';
import { smallScenario } from './helpers.js';

describe('honest labs', () => {
  it('raise false alarms at a rate consistent with alpha (0.2, 240 runs, PUE at its maximum)', async () => {
    const l = smallScenario({
      hours: 2,
      runs: 240,
      facility: {
        truePue: 'max',
        clusters: [{ id: 'c1', nodes: 1, gpusPerNode: 8, model: 'H100' }],
      },
      verifier: { alpha: 0.2, lookEverySeconds: 86_400, rocAlphas: [0.02, 0.2] },
    });
    const runs = [];
    for (let r = 0; r < 240; r++) runs.push(await runOnce(l, 0, r));
    const m = pointMetrics(l.scenario, l.groups, runs);
    const fa = m.honest.falseAlarm;
    expect(fa.n).toBe(240);
    // 99.9 % Wilson interval of the observed rate: it must allow alpha (not above it), and the
    // check must be alive (not far below: at PUE max the union of the two tests is near alpha).
    const ci = wilson(fa.k, fa.n, 3.29);
    expect(ci.lo!).toBeLessThanOrEqual(0.2);
    expect(ci.hi!).toBeGreaterThanOrEqual(0.1);
    // every alarm is the physics check's
    for (const r of runs)
      for (const c of r.labs[0]!.final.codes) expect(c).toBe('energy-unexplained');
    // a smaller alpha never raises more alarms
    expect(m.honest.roc[0]!.falseAlarm!).toBeLessThanOrEqual(m.honest.roc[1]!.falseAlarm!);
  }, 120_000);
});
