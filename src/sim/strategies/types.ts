/**
 * The strategy plug-in interface. A strategy is one file under src/sim/strategies/ exporting a
 * {@link Strategy}; ./index.ts lists them. It acts on the world of one run in two hooks:
 *
 * - `shape` (before telemetry): change what the GPUs really do (train on a declared node, add an
 *   undeclared cluster or facility);
 * - `disguise` (after telemetry, which has computed each interval's true energy and FLOP and the
 *   honest report): edit, drop, delay or forge reports, tamper with meters, fork the log.
 *
 * Ground truth is automatic: every interval a strategy touches is marked with a {@link GainRule}
 * (`markGain`), and the engine counts the compute the verifier's view does not show ('hidden'),
 * or all the interval's compute ('all', for forbidden work that is reported), with its time.
 * Strategies only ever see the world; the verifier is the real one, run on the statements the
 * world produces. docs/researchers.md shows how to write one.
 */
import { z } from 'zod';
import { GPU_PROFILES } from '../../../nodes/collectors/synthetic.js';
import type { UsageAggregates } from '../../../nodes/report/aggregate.js';
import { jcsBytes } from '../../../protocol/src/jcs.js';
import { toHex } from '../../core/bytes.js';
import { sha256 } from '../../crypto/sha256.js';
import { SimError } from '../errors.js';
import type { GainRule, SimFacility, SimLab, SimNode, SimWorld, Slot } from '../model.js';
import { slotRange } from '../model.js';
import { type Stream, stream } from '../random.js';

/** What a strategy acts with in one run. */
export interface StrategyContext<P> {
  world: SimWorld;
  params: P;
  /** The entry's id (the results' group) and its labs, in scenario order. */
  group: string;
  labs: SimLab[];
  /** A random stream of this entry (independent of every other component). */
  rng(label: string): Stream;
}

/** A cheating strategy (or honest operation). */
export interface Strategy<P = unknown> {
  name: string;
  /** One sentence: what the labs do. */
  summary: string;
  /** The parameters, with their defaults. */
  params: z.ZodType<P>;
  /** Whether findings about the log itself (fork, quorum, timeliness unknown) detect it. */
  logLevel?: boolean;
  /** What the regime is expected to catch, and why (for the report). */
  expectation(params: P): string;
  shape?(ctx: StrategyContext<P>): void;
  disguise?(ctx: StrategyContext<P>): void;
}

/** Declares a strategy with its parameter type inferred from the schema. */
export function defineStrategy<S extends z.ZodType>(
  s: Strategy<z.output<S>> & { params: S },
): Strategy<z.output<S>> {
  return s;
}

// ---------------------------------------------------------------------------------------------
// Shared parameters and helpers

/** Hours after the pause start during which a strategy acts. */
export const windowParams = {
  fromHours: z
    .number()
    .min(0)
    .default(0)
    .describe('when the strategy starts, hours after the pause start'),
  toHours: z.number().min(0).optional().describe('when it stops (default: the end of the run)'),
};

/** Which of a lab's nodes a strategy uses. */
export const targetParams = {
  facility: z.string().optional().describe("default: the lab's first facility"),
  cluster: z.string().optional().describe('default: the first cluster of that facility'),
  nodes: z.int().min(1).optional().describe('how many of its nodes (default: all)'),
};

/** Activities a strategy can make GPUs do. */
export const activityParam = z.enum(['idle', 'inference', 'training', 'maintenance']);

/**
 * The nodes of `lab` a strategy targets.
 * @throws {SimError} SCENARIO_INVALID when the lab has no such facility or cluster
 */
export function targetNodes(
  w: SimWorld,
  lab: string,
  t: { facility?: string | undefined; cluster?: string | undefined; nodes?: number | undefined },
): SimNode[] {
  const declared = w.nodes.filter((n) => n.lab === lab && n.declared);
  const facility = t.facility ?? declared[0]?.facility;
  const inFacility = declared.filter((n) => n.facility === facility);
  const cluster = t.cluster ?? inFacility[0]?.cluster;
  const nodes = inFacility.filter((n) => n.cluster === cluster);
  if (nodes.length === 0) {
    throw new SimError(
      'SCENARIO_INVALID',
      `strategy target: lab ${lab} has no nodes in ${facility ?? '(no facility)'}/${cluster ?? '(no cluster)'}`,
    );
  }
  return nodes.slice(0, t.nodes ?? nodes.length);
}

/** The slots of `node` within hours [fromHours, toHours). */
export function slotsIn(
  w: SimWorld,
  node: SimNode,
  p: { fromHours: number; toHours?: number | undefined },
): Slot[] {
  const [k0, k1] = slotRange(w, p.fromHours, p.toHours);
  return node.slots.slice(k0, k1);
}

/** Marks how the ground truth counts a slot (the first strategy to mark it wins). */
export function markGain(s: Slot, rule: GainRule): void {
  s.gain ??= rule;
}

/** The facility `id`, or the first facility of `lab`. */
export function facilityOf(w: SimWorld, lab: string, id?: string): SimFacility | undefined {
  return w.facilities.find((f) => f.lab === lab && (id === undefined || f.id === id));
}

/** A fresh random stream for a strategy entry of a run. */
export function entryStream(w: SimWorld, group: string, label: string): Stream {
  return stream(w.seed, `strategy/${group}/${label}`);
}

/** Edits of a report's public aggregates. */
export interface ReportEdit {
  /** multiply energyJ */
  energy?: number;
  /** multiply tensorActive and flop */
  utilisation?: number;
  workload?: UsageAggregates['workload'];
}

/** A copy of `a` with the edits applied (the body and sample commitments are left as they are). */
export function editAggregates(a: UsageAggregates, e: ReportEdit): UsageAggregates {
  const out = { ...a, samples: { ...a.samples } };
  if (e.energy !== undefined) out.energyJ = Math.round(a.energyJ * e.energy * 1e3) / 1e3;
  if (e.utilisation !== undefined) {
    out.tensorActive = Math.round(a.tensorActive * e.utilisation * 1e6) / 1e6;
    out.flop = Math.round(a.flop * e.utilisation);
  }
  if (e.workload !== undefined) out.workload = e.workload;
  return out;
}

/**
 * The report of an idle node for a slot, as a forger would write it: idle power of the node's
 * GPU model, no tensor activity, no FLOP, commitments to a fabricated body.
 */
export function quietAggregates(w: SimWorld, n: SimNode, s: Slot): UsageAggregates {
  const p = GPU_PROFILES[n.model];
  const I = s.end - s.start;
  const fake = { v: 1, type: 'vpause-sim-forged-body', node: n.id, start: s.start, seed: w.seed };
  const h = (x: unknown) => toHex(sha256(jcsBytes(x as never)));
  return {
    gpus: n.gpus,
    gpuSeconds: n.gpus * I,
    energyJ: Math.round(n.gpus * p.idleW * I * 1e3) / 1e3,
    tensorActive: 0,
    flop: 0,
    workload: 'idle',
    bodyHash: h(fake),
    samples: {
      count: n.gpus * Math.max(1, Math.round(I / w.scenario.telemetry.samplePeriodSeconds)),
      root: h({ ...fake, samples: true }),
    },
  };
}
