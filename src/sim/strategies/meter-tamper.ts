/**
 * A tampered or colluding meter at a declared facility where an undeclared cluster trains.
 * `tamper`: the lab bypasses the meter for the hidden load (the meter key is not compromised,
 * the meter just does not see part of the power); `collude`: the meter's operator signs readings
 * with the hidden load taken out. Either way the readings miss `hideFraction` of the hidden
 * cluster's facility energy (its GPU energy × the true PUE); meter noise is unchanged.
 */
import { z } from 'zod';
import { SimError } from '../errors.js';
import { addHiddenNodes, hiddenParams } from './hidden-cluster.js';
import { defineStrategy, facilityOf } from './types.js';

export default defineStrategy({
  name: 'meter-tamper',
  summary: 'A hidden cluster trains behind a meter that is bypassed (tamper) or lies (collude).',
  params: z.strictObject({
    mode: z.enum(['tamper', 'collude']).default('collude'),
    hideFraction: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('share of the hidden energy the readings miss'),
    facility: z.string().optional(),
    ...hiddenParams,
  }),
  expectation: (p) =>
    p.hideFraction >= 1
      ? 'nothing: the meter the physics check relies on does not show the load — reported as undetected, with the compute gained'
      : `energy-unexplained (physics) once ${1 - p.hideFraction} of the hidden energy exceeds the detection bound`,
  shape(ctx) {
    const lab = ctx.labs[0]!.id;
    const f = facilityOf(ctx.world, lab, ctx.params.facility);
    if (f === undefined)
      throw new SimError(
        'SCENARIO_INVALID',
        `strategy ${ctx.group}: lab ${lab} has no facility ${ctx.params.facility}`,
      );
    addHiddenNodes(ctx, f.id, ctx.params);
  },
  disguise(ctx) {
    const w = ctx.world;
    const f = facilityOf(w, ctx.labs[0]!.id, ctx.params.facility)!;
    const hidden = w.nodes.filter(
      (n) => n.facility === f.id && !n.declared && n.cluster === 'hidden',
    );
    for (const m of f.slots) {
      let gpuJ = 0;
      for (const n of hidden) gpuJ += n.slots[m.k]!.truth.energyJ;
      m.hideJ += ctx.params.hideFraction * f.truePue * gpuJ;
    }
    w.assumptions.push(
      `${ctx.group}: the ${ctx.params.mode === 'tamper' ? 'bypassed' : 'colluding'} meter of ${f.id} misses ${ctx.params.hideFraction} of the hidden load`,
    );
  },
});
