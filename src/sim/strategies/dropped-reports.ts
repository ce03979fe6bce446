/**
 * Dropped reports: in a share of the intervals declared nodes train, and the reports of exactly
 * those intervals never reach the log (the other intervals run and report as declared). Without
 * re-chaining the node's chain keeps the dropped `seq`s (its daemon signed them); with
 * re-chaining the lab's software renumbers, so the chain itself has no gap.
 */
import { z } from 'zod';
import {
  activityParam,
  defineStrategy,
  markGain,
  slotsIn,
  targetNodes,
  targetParams,
  windowParams,
} from './types.js';

export default defineStrategy({
  name: 'dropped-reports',
  summary:
    'Declared nodes train in some intervals and the reports of those intervals are never submitted.',
  params: z.strictObject({
    probability: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('share of the intervals trained in and dropped'),
    rechain: z.boolean().default(false).describe('renumber the chain so that seq has no gap'),
    activity: activityParam.default('training'),
    ...targetParams,
    ...windowParams,
  }),
  expectation: (p) =>
    `missing-report as soon as a dropped interval is due (end + maximum delay)${p.rechain ? '' : ', and seq-gap once a later report arrives'}`,
  shape(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      const rng = ctx.rng(`drop/${n.id}`);
      for (const s of slotsIn(ctx.world, n, ctx.params)) {
        if (!rng.chance(ctx.params.probability)) continue;
        s.work = { ...s.work, activity: ctx.params.activity };
        markGain(s, 'hidden');
      }
    }
  },
  disguise(ctx) {
    const p = ctx.params;
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, p)) {
      for (const s of slotsIn(ctx.world, n, p)) {
        if (s.gain !== 'hidden') continue;
        s.reports = [];
        s.burnSeq = !p.rechain;
      }
    }
  },
});
