/**
 * Training reported as inference: declared nodes train (at `intensity` of their GPU time) and
 * report their energy and FLOP as measured, under the label `inference`, which the pause allows.
 * The verifier checks labels against the pause, not against the activity behind them.
 */
import { z } from 'zod';
import {
  defineStrategy,
  editAggregates,
  markGain,
  slotsIn,
  targetNodes,
  targetParams,
  windowParams,
} from './types.js';

export default defineStrategy({
  name: 'training-as-inference',
  summary: 'Declared nodes train and label the work inference; energy and FLOP are honest.',
  params: z.strictObject({
    intensity: z.number().min(0).max(1).default(1).describe('share of GPU time spent training'),
    ...targetParams,
    ...windowParams,
  }),
  expectation: () =>
    'limit-exceeded only if the honest FLOP breaks the daily limit; the label itself is not checked against the activity (audits are not simulated)',
  shape(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params)) {
        s.work = { ...s.work, activity: 'training', intensity: ctx.params.intensity };
        markGain(s, 'all');
      }
    }
  },
  disguise(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params)) {
        for (const r of s.reports) {
          if (r.aggregates.workload === 'training' || r.aggregates.workload === 'mixed') {
            r.aggregates = editAggregates(r.aggregates, { workload: 'inference' });
          }
        }
      }
    }
  },
});
