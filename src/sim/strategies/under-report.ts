/**
 * Under-reporting: the lab trains on declared nodes and scales down what their reports say —
 * the energy, the utilisation (tensor activity and so the FLOP estimate), or both — and labels
 * the work as something the pause allows. The node keys sign what the lab's software hands them.
 */
import { z } from 'zod';
import { WORKLOADS } from '../../../protocol/src/schemas.js';
import {
  activityParam,
  defineStrategy,
  editAggregates,
  markGain,
  slotsIn,
  targetNodes,
  targetParams,
  windowParams,
} from './types.js';

export default defineStrategy({
  name: 'under-report',
  summary: 'Declared nodes train; their reports scale energy and/or utilisation down by a factor.',
  params: z.strictObject({
    factor: z.number().min(0).max(1).default(0.5).describe('reported = factor × measured'),
    fields: z.enum(['energy', 'utilisation', 'both']).default('both'),
    reportAs: z
      .enum([...WORKLOADS, 'measured'])
      .default('inference')
      .describe("the workload label written ('measured': the telemetry's)"),
    activity: activityParam.default('training'),
    ...targetParams,
    ...windowParams,
  }),
  expectation: (p) =>
    p.fields === 'utilisation'
      ? 'energy is reported honestly, so physics sees nothing; limit-exceeded only if the scaled FLOP still exceeds the limit (audits, which would catch it, are not simulated)'
      : 'energy-unexplained (physics) once (1 − factor) × the training energy exceeds the detection bound',
  shape(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params))
        s.work = { ...s.work, activity: ctx.params.activity };
    }
  },
  disguise(ctx) {
    const p = ctx.params;
    const edit = {
      ...(p.fields !== 'utilisation' ? { energy: p.factor } : {}),
      ...(p.fields !== 'energy' ? { utilisation: p.factor } : {}),
      ...(p.reportAs !== 'measured' ? { workload: p.reportAs } : {}),
    };
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, p)) {
      for (const s of slotsIn(ctx.world, n, p)) {
        for (const r of s.reports) r.aggregates = editAggregates(r.aggregates, edit);
        markGain(s, 'hidden');
      }
    }
  },
});
