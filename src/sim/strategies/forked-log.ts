/**
 * A forked log (split view), run by an equivocating log operator for the lab. From `fromHours`
 * the operator keeps two histories: the one every witness it cannot corrupt cosigns, holding the
 * nodes' true reports (training), and the one it serves the verifier, where those reports are
 * replaced by doctored ones (the lab holds the node keys). Colluding witnesses cosign the
 * verifier's history; honest ones never see it. Energy is reported honestly by default, so that
 * only the log checks can find the fork (set `fabricate: idle` to hide the energy too).
 */
import { z } from 'zod';
import { SimError } from '../errors.js';
import {
  activityParam,
  defineStrategy,
  editAggregates,
  markGain,
  quietAggregates,
  slotsIn,
  targetNodes,
  targetParams,
} from './types.js';

export default defineStrategy({
  name: 'forked-log',
  summary:
    "The log operator shows the verifier a history where the lab's training reports are doctored.",
  logLevel: true,
  params: z.strictObject({
    colludingWitnesses: z
      .int()
      .min(0)
      .default(0)
      .describe('witnesses that cosign the forked history'),
    fabricate: z
      .enum(['utilisation', 'idle'])
      .default('utilisation')
      .describe('utilisation: energy honest, FLOP and label doctored; idle: the whole report'),
    activity: activityParam.default('training'),
    fromHours: z.number().min(0).default(1).describe('when the histories part'),
    ...targetParams,
  }),
  expectation: (p) =>
    `log-inconsistent when the verifier compares the log with a checkpoint an honest witness holds (witness gossip); without gossip, quorum-not-met while fewer than the quorum collude (${p.colludingWitnesses} do), and nothing once enough collude${p.fabricate === 'idle' ? '; energy-unexplained (physics) in any case' : ''}`,
  shape(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params))
        s.work = { ...s.work, activity: ctx.params.activity };
    }
  },
  disguise(ctx) {
    const w = ctx.world;
    const p = ctx.params;
    const n0 = w.scenario.log.witnesses;
    if (p.colludingWitnesses > n0) {
      throw new SimError(
        'SCENARIO_INVALID',
        `strategy ${ctx.group}: ${p.colludingWitnesses} colluding witnesses, but the log has ${n0}`,
      );
    }
    w.fork = { from: w.t0 + p.fromHours * 3600, colluders: p.colludingWitnesses, group: ctx.group };
    for (const n of targetNodes(w, ctx.labs[0]!.id, p)) {
      for (const s of slotsIn(w, n, p)) {
        markGain(s, 'hidden');
        const doctored =
          p.fabricate === 'idle'
            ? quietAggregates(w, n, s)
            : editAggregates(s.measured!, { utilisation: 0.02, workload: 'inference' });
        s.reports = s.reports.flatMap((r) => [
          { ...r, branch: 'main' as const },
          { ...r, aggregates: doctored, branch: 'fork' as const },
        ]);
      }
    }
  },
});
