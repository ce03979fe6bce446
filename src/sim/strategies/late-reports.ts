/**
 * Late or backdated reports: the reports of some intervals are held back and submitted after
 * their deadline. Backdated (`fabricate`): the nodes trained meanwhile, and what is finally
 * submitted is a quiet report written after the fact for the old interval. Timeliness rests on
 * witness cosignature times, never on the times a report claims.
 */
import { z } from 'zod';
import {
  activityParam,
  defineStrategy,
  markGain,
  quietAggregates,
  slotsIn,
  targetNodes,
  targetParams,
  windowParams,
} from './types.js';

export default defineStrategy({
  name: 'late-reports',
  summary:
    'Reports are submitted after their deadline; backdated ones are quiet reports written after the fact.',
  params: z.strictObject({
    lateBySeconds: z
      .number()
      .min(1)
      .default(3600)
      .describe('submitted this long after the deadline'),
    fraction: z.number().min(0).max(1).default(1).describe('share of the intervals held back'),
    fabricate: z
      .boolean()
      .default(true)
      .describe('backdate: the nodes train, the late report claims an idle interval'),
    activity: activityParam.default('training'),
    ...targetParams,
    ...windowParams,
  }),
  expectation: (p) =>
    `late-report once a held-back report is witnessed after its deadline (missing-report before it arrives)${p.fabricate ? '; energy-unexplained (physics) for the training the quiet reports hide' : ''}`,
  shape(ctx) {
    if (!ctx.params.fabricate) return;
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params))
        s.work = { ...s.work, activity: ctx.params.activity };
    }
  },
  disguise(ctx) {
    const p = ctx.params;
    const w = ctx.world;
    const maxDelay = w.scenario.reporting.maxDelaySeconds;
    for (const n of targetNodes(w, ctx.labs[0]!.id, p)) {
      const rng = ctx.rng(`late/${n.id}`);
      for (const s of slotsIn(w, n, p)) {
        markGain(s, 'hidden');
        if (!rng.chance(p.fraction)) continue;
        for (const r of s.reports) {
          r.submitAt = s.end + maxDelay + p.lateBySeconds;
          if (p.fabricate) r.aggregates = quietAggregates(w, n, s);
        }
      }
    }
  },
});
