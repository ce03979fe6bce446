/**
 * A hidden, undeclared cluster: GPUs the lab never put in its inventory, with no registered node
 * key and no reports. At a declared facility its energy goes through the facility's meter; at an
 * undeclared facility nothing the verifier trusts measures it.
 */
import { z } from 'zod';
import type { GpuProfileName } from '../../../nodes/collectors/synthetic.js';
import { SimError } from '../errors.js';
import { gpuModel, meterSlots, newSlot, type SimNode } from '../model.js';
import {
  activityParam,
  defineStrategy,
  facilityOf,
  markGain,
  type StrategyContext,
  slotsIn,
  windowParams,
} from './types.js';

/** Adds `count` undeclared nodes at `facility`, off outside the window, doing `activity` in it. */
export function addHiddenNodes(
  ctx: StrategyContext<unknown>,
  facility: string,
  p: {
    nodes: number;
    gpusPerNode: number;
    model: string;
    activity: z.infer<typeof activityParam>;
    fromHours: number;
    toHours?: number | undefined;
  },
): SimNode[] {
  const w = ctx.world;
  const model: GpuProfileName = gpuModel(p.model, `strategy ${ctx.group}`);
  const out: SimNode[] = [];
  for (let i = 1; i <= p.nodes; i++) {
    const node = `hidden-${ctx.group}-n${String(i).padStart(3, '0')}`;
    const n: SimNode = {
      id: `${facility}/hidden/${node}`,
      lab: ctx.labs[0]!.id,
      facility,
      cluster: 'hidden',
      node,
      gpus: p.gpusPerNode,
      model,
      declared: false,
      slots: Array.from({ length: w.intervals }, (_, k) =>
        newSlot(w, k, { activity: 'idle', intensity: 1, burstDuty: 0, off: true }),
      ),
    };
    for (const s of slotsIn(w, n, p)) {
      s.work = { activity: p.activity, intensity: 1, burstDuty: 0 };
      markGain(s, 'hidden');
    }
    w.nodes.push(n);
    out.push(n);
  }
  return out;
}

export const hiddenParams = {
  nodes: z.int().min(1).default(1).describe('undeclared nodes'),
  gpusPerNode: z.int().min(1).default(8),
  model: z.string().default('H100'),
  activity: activityParam.default('training'),
  ...windowParams,
};

export default defineStrategy({
  name: 'hidden-cluster',
  summary: 'An undeclared cluster trains at a declared (metered) facility or at an undeclared one.',
  params: z.strictObject({
    site: z
      .enum(['declared-facility', 'undeclared-facility'])
      .default('declared-facility')
      .describe('where the hidden cluster stands'),
    facility: z.string().optional().describe("declared facility (default: the lab's first)"),
    ...hiddenParams,
  }),
  expectation: (p) =>
    p.site === 'declared-facility'
      ? 'energy-unexplained (physics) once the hidden energy exceeds the detection bound; an unmetered facility hides it'
      : 'nothing: no meter the verifier trusts sees an undeclared facility — reported as undetected, with the compute gained',
  shape(ctx) {
    const w = ctx.world;
    const lab = ctx.labs[0]!.id;
    let facility: string;
    if (ctx.params.site === 'declared-facility') {
      const f = facilityOf(w, lab, ctx.params.facility);
      if (f === undefined)
        throw new SimError(
          'SCENARIO_INVALID',
          `strategy ${ctx.group}: lab ${lab} has no facility ${ctx.params.facility}`,
        );
      facility = f.id;
    } else {
      facility = `undeclared-${ctx.group}`;
      w.facilities.push({
        id: facility,
        lab,
        pueMin: 1.2,
        pueMax: 1.2,
        truePue: 1.2,
        baselineW: 10_000,
        meterSigma: 0.01,
        feeds: 0,
        metered: false,
        declared: false,
        slots: meterSlots(w),
      });
      w.assumptions.push(
        `${ctx.group}: the undeclared facility has no meter in the verifier's policy, so no physics check covers it`,
      );
    }
    addHiddenNodes(ctx, facility, ctx.params);
  },
});
