/**
 * A stolen node key: the lab extracts a node's key, cuts the node's own daemon off the network,
 * trains on the node and submits quiet reports it signs with the stolen key — on time, with an
 * intact chain. Signatures, chain and timeliness are all in order.
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
  name: 'stolen-key',
  summary: "A node's extracted key signs quiet reports while the node trains.",
  params: z.strictObject({
    activity: activityParam.default('training'),
    ...targetParams,
    nodes: z.int().min(1).default(1).describe('how many nodes have their key stolen'),
    ...windowParams,
  }),
  expectation: () =>
    'only energy-unexplained (physics): the forged reports are authentic, complete and on time; an unmetered facility hides it',
  shape(ctx) {
    for (const n of targetNodes(ctx.world, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(ctx.world, n, ctx.params))
        s.work = { ...s.work, activity: ctx.params.activity };
    }
  },
  disguise(ctx) {
    const w = ctx.world;
    for (const n of targetNodes(w, ctx.labs[0]!.id, ctx.params)) {
      for (const s of slotsIn(w, n, ctx.params)) {
        markGain(s, 'hidden');
        for (const r of s.reports) r.aggregates = quietAggregates(w, n, s);
      }
    }
  },
});
