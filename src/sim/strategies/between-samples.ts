/**
 * Bursts timed between telemetry samples: the GPUs train for `burstSeconds` right after each
 * sample and are back to their declared activity when the next sample is taken. Utilisation,
 * tensor activity and so FLOP, estimated from samples, never show it. With an energy counter
 * (DCGM) the node's reported energy still includes the bursts; with power integrated from
 * samples (nvidia-smi) it does not, and the facility meter sees energy nobody reported.
 */
import { z } from 'zod';
import { SimError } from '../errors.js';
import {
  defineStrategy,
  markGain,
  slotsIn,
  targetNodes,
  targetParams,
  windowParams,
} from './types.js';

export default defineStrategy({
  name: 'between-samples',
  summary: 'Training bursts start after each telemetry sample and end before the next.',
  params: z.strictObject({
    burstSeconds: z.number().gt(0).default(45).describe('training per sample period, seconds'),
    ...targetParams,
    ...windowParams,
  }),
  expectation: () =>
    'with energy counters: nothing (energy is reported, FLOP is not: the limits never see it); without: energy-unexplained (physics) for the unreported burst energy',
  shape(ctx) {
    const w = ctx.world;
    const period = w.scenario.telemetry.samplePeriodSeconds;
    if (ctx.params.burstSeconds >= period) {
      throw new SimError(
        'SCENARIO_INVALID',
        `strategy ${ctx.group}: burstSeconds ${ctx.params.burstSeconds} must be below the sample period ${period}`,
      );
    }
    for (const n of targetNodes(w, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(w, n, ctx.params)) {
        s.work = { ...s.work, burstDuty: ctx.params.burstSeconds / period };
        markGain(s, 'hidden');
      }
    }
  },
});
