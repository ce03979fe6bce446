/**
 * A training run split to stay under each limit: across the clusters of one lab, or across
 * several labs (each strategy lab trains on its first cluster). Every part uses `share` of its
 * lab's daily FLOP limit in each UTC day of the strategy's window (all of it inside a window
 * shorter than a day, so that short simulations test the limit) and reports honestly. The
 * pause's limit is per lab and summed over its scope, so splitting inside a lab does not help;
 * across labs, no single verdict sees the whole run.
 */
import { z } from 'zod';
import { GPU_PROFILES } from '../../../nodes/collectors/synthetic.js';
import { peakFor } from '../../../nodes/report/flop.js';
import { WORKLOADS } from '../../../protocol/src/schemas.js';
import { type SimNode, slotRange } from '../model.js';
import {
  defineStrategy,
  editAggregates,
  markGain,
  slotsIn,
  targetNodes,
  windowParams,
} from './types.js';

/** Mean tensor activity of a training GPU in the telemetry model (0.975 × 0.535). */
const TRAINING_TENSOR = 0.975 * 0.535;

export default defineStrategy({
  name: 'split-training',
  summary: 'One training run split across clusters or labs, each part below its daily FLOP limit.',
  params: z.strictObject({
    across: z.enum(['labs', 'clusters']).default('labs'),
    share: z
      .number()
      .gt(0)
      .default(0.8)
      .describe("each part's FLOP per UTC day of the window, as a share of its lab's daily limit"),
    reportAs: z.enum([...WORKLOADS, 'measured']).default('measured'),
    ...windowParams,
  }),
  expectation: (p) =>
    p.across === 'labs'
      ? "nothing: each lab's reports are honest and under its own limit, and no verdict adds labs up — reported as undetected, with the whole run's compute"
      : 'limit-exceeded: the limit is summed over the lab’s scope, so the parts add up',
  shape(ctx) {
    const w = ctx.world;
    const [k0, k1] = slotRange(w, ctx.params.fromHours, ctx.params.toHours);
    const seconds = Math.min(86_400, (k1 - k0) * w.interval);
    const parts: { lab: string; nodes: SimNode[] }[] = [];
    if (ctx.params.across === 'labs') {
      for (const l of ctx.labs) parts.push({ lab: l.id, nodes: targetNodes(w, l.id, {}) });
    } else {
      const lab = ctx.labs[0]!.id;
      const clusters = new Map<string, SimNode[]>();
      for (const n of w.nodes.filter((x) => x.lab === lab && x.declared)) {
        const k = `${n.facility}/${n.cluster}`;
        clusters.set(k, [...(clusters.get(k) ?? []), n]);
      }
      for (const nodes of clusters.values()) parts.push({ lab, nodes });
    }
    for (const part of parts) {
      const limit = w.labs.find((l) => l.id === part.lab)!.pause.maxFlopPerDay;
      const full = part.nodes.reduce(
        (a, n) =>
          a + n.gpus * peakFor(GPU_PROFILES[n.model].model).flops * TRAINING_TENSOR * seconds,
        0,
      );
      const intensity = full > 0 ? Math.min(1, (ctx.params.share * limit) / full) : 0;
      if (intensity >= 1) {
        w.assumptions.push(
          `${ctx.group}: the ${part.lab} part cannot reach ${ctx.params.share} of its limit and trains flat out`,
        );
      }
      for (const n of part.nodes) {
        for (const s of slotsIn(w, n, ctx.params)) {
          s.work = { ...s.work, activity: 'training', intensity };
          markGain(s, 'all');
        }
      }
    }
  },
  disguise(ctx) {
    const r = ctx.params.reportAs;
    if (r === 'measured') return;
    for (const n of ctx.world.nodes) {
      if (!ctx.labs.some((l) => l.id === n.lab)) continue;
      for (const s of slotsIn(ctx.world, n, ctx.params)) {
        if (s.gain !== 'all') continue;
        for (const d of s.reports) d.aggregates = editAggregates(d.aggregates, { workload: r });
      }
    }
  },
});
