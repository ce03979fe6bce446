/**
 * The simulated world of one run: what every GPU really does in every reporting interval, what
 * each node reports (drafts, before signing), what each meter reads, and how the log behaves.
 *
 * A run is built in four steps (src/sim/engine.ts):
 *   1. `buildWorld`: the honest world from the scenario (schedules, PUE, keys not yet made);
 *   2. strategies `shape` it: they change what GPUs do and add undeclared hardware;
 *   3. telemetry (./telemetry.ts) computes each interval's true energy and FLOP and the honest
 *      report a node's telemetry would produce;
 *   4. strategies `disguise` it: they edit, drop, delay or forge reports, tamper with meters and
 *      fork the log.
 * Ground truth is what step 3 computed; the verifier only ever sees the statements of step 4.
 */

import { GPU_PROFILES, type GpuProfileName } from '../../nodes/collectors/synthetic.js';
import type { UsageAggregates } from '../../nodes/report/aggregate.js';
import type {
  Scenario,
  ScenarioCluster,
  ScenarioLab,
  SimActivity,
} from '../../protocol/src/scenario.js';
import { parseTime } from '../../protocol/src/time.js';
import { SimError } from './errors.js';
import { type Stream, stream } from './random.js';

/** What a GPU does in an interval (`bursty` is resolved into these per interval). */
export type Activity = Exclude<SimActivity, 'bursty'>;

/** The work of one node in one interval. */
export interface Work {
  activity: Activity;
  /** Share of the GPUs' time spent on `activity` (idle the rest of the time), 0..1. */
  intensity: number;
  /** Share of each telemetry sample period spent training between two samples (0: none). */
  burstDuty: number;
  /** Powered off (draws nothing); only hardware a strategy adds is ever off. */
  off?: boolean;
}

/** How the ground truth counts an interval a strategy touched. */
export type GainRule =
  /** compute the verifier's view does not show: true FLOP minus reported FLOP */
  | 'hidden'
  /** all compute of the interval (a forbidden run that is reported, e.g. split across labs) */
  | 'all';

/** A usage report as a strategy leaves it, before it is chained and signed. */
export interface ReportDraft {
  aggregates: UsageAggregates;
  /** When it reaches the log, POSIX seconds. */
  submitAt: number;
  /** Which history of a forked log it is appended to (`both` when the log does not fork). */
  branch: 'both' | 'main' | 'fork';
}

/** One node, one reporting interval. */
export interface Slot {
  k: number;
  /** POSIX seconds, [start, end) */
  start: number;
  end: number;
  work: Work;
  /** What really happened (set by telemetry). */
  truth: { energyJ: number; flop: number };
  /** What the node's telemetry measured: the honest report (set by telemetry). */
  measured: UsageAggregates | undefined;
  /** The reports that will be signed for this interval (none: the interval is not reported). */
  reports: ReportDraft[];
  /** The node's chain skips a `seq` here (a report was signed but never submitted). */
  burnSeq: boolean;
  /** Set by the strategy that touched the interval: how the ground truth counts it. */
  gain: GainRule | undefined;
}

export interface SimNode {
  /** `facility/cluster/node` */
  id: string;
  lab: string;
  facility: string;
  cluster: string;
  node: string;
  gpus: number;
  model: GpuProfileName;
  /** In the lab's inventory, with a registered key: the node reports. */
  declared: boolean;
  slots: Slot[];
}

/** One facility, one interval: what its meters do. */
export interface MeterSlot {
  k: number;
  start: number;
  end: number;
  /** Facility energy removed from the readings (a tampered or colluding meter), J. */
  hideJ: number;
  /** No reading is submitted for the interval. */
  drop: boolean;
  submitAt: number;
}

export interface SimFacility {
  id: string;
  lab: string;
  pueMin: number;
  pueMax: number;
  /** The PUE the facility really has in this run. */
  truePue: number;
  baselineW: number;
  meterSigma: number;
  feeds: number;
  /** Listed in the verifier's policy (facility line and meter keys). */
  metered: boolean;
  /** Declared by its lab (undeclared facilities have no meter the verifier trusts). */
  declared: boolean;
  slots: MeterSlot[];
}

/** The pause a lab declares. */
export interface PauseDecl {
  id: string;
  maxFlopPerDay: number;
  allowedWorkloads: string[];
  scope: string[];
}

export interface SimLab {
  id: string;
  pause: PauseDecl;
  /** The strategy group (entry id) the lab belongs to, or `honest`. */
  group: string;
}

/** A strategy entry of the scenario, as the results name it. */
export interface Group {
  id: string;
  strategy: string;
  labs: string[];
  /** Findings about the log (fork, quorum) count as detecting this group. */
  logLevel: boolean;
  /** What the regime is expected to catch, in a sentence (shown in the report). */
  expectation: string;
}

/** The log misbehaving: from `from` on, the verifier is shown a second history. */
export interface LogFork {
  from: number;
  /** Witnesses (the last ones of the policy) that cosign the verifier's history too. */
  colluders: number;
  group: string;
}

/** The honest group's id. */
export const HONEST = 'honest';

export interface SimWorld {
  scenario: Scenario;
  /** The run's seed (every stream derives from it). */
  seed: number;
  /** Pause start and run end, POSIX seconds. */
  t0: number;
  tEnd: number;
  interval: number;
  /** Number of reporting intervals. */
  intervals: number;
  labs: SimLab[];
  facilities: SimFacility[];
  nodes: SimNode[];
  groups: Group[];
  fork: LogFork | undefined;
  /** Assumptions strategies add to the report. */
  assumptions: string[];
}

/** A stream of this run. */
export function worldStream(w: SimWorld, label: string): Stream {
  return stream(w.seed, label);
}

/** Intervals [k0, k1) that overlap hours [fromH, toH) after the pause start. */
export function slotRange(w: SimWorld, fromHours: number, toHours?: number): [number, number] {
  const k0 = Math.max(0, Math.floor((fromHours * 3600) / w.interval));
  const k1 =
    toHours === undefined
      ? w.intervals
      : Math.min(w.intervals, Math.ceil((toHours * 3600) / w.interval));
  return [k0, Math.max(k0, k1)];
}

/**
 * The GPU profile name of a scenario model string.
 * @throws {SimError} SCENARIO_INVALID for a model without a profile
 */
export function gpuModel(model: string, where: string): GpuProfileName {
  if (!(model in GPU_PROFILES)) {
    throw new SimError(
      'SCENARIO_INVALID',
      `${where}: unknown GPU model ${JSON.stringify(model)} (one of ${Object.keys(GPU_PROFILES).join(', ')})`,
    );
  }
  return model as GpuProfileName;
}

function clusterWork(c: ScenarioCluster, w: SimWorld, rng: Stream): Work[] {
  const out: Work[] = [];
  const slots = [...c.schedule];
  let bursting = rng.chance(0.5);
  for (let k = 0; k < w.intervals; k++) {
    const h = (k * w.interval) / 3600;
    let a: SimActivity = c.activity;
    for (const s of slots)
      if (h >= s.fromHours && (s.toHours === undefined || h < s.toHours)) a = s.activity;
    if (a === 'bursty') {
      // Phases of training and idle, one hour long on average.
      if (rng.chance(Math.min(1, w.interval / 3600))) bursting = !bursting;
      a = bursting ? 'training' : 'idle';
    }
    out.push({ activity: a, intensity: 1, burstDuty: 0 });
  }
  return out;
}

/** An empty slot (truth and report set later). */
export function newSlot(w: SimWorld, k: number, work: Work): Slot {
  const start = w.t0 + k * w.interval;
  return {
    k,
    start,
    end: start + w.interval,
    work,
    truth: { energyJ: 0, flop: 0 },
    measured: undefined,
    reports: [],
    burnSeq: false,
    gain: undefined,
  };
}

/** Meter slots of a facility. */
export function meterSlots(w: SimWorld): MeterSlot[] {
  const lat = w.scenario.reporting.meterLatencySeconds;
  return Array.from({ length: w.intervals }, (_, k) => {
    const start = w.t0 + k * w.interval;
    return {
      k,
      start,
      end: start + w.interval,
      hideJ: 0,
      drop: false,
      submitAt: start + w.interval + lat,
    };
  });
}

function truePue(f: ScenarioLab['facilities'][number], rng: Stream): number {
  const [lo, hi] = f.pue;
  if (typeof f.truePue === 'number') return f.truePue;
  if (f.truePue === 'min') return lo;
  if (f.truePue === 'max') return hi;
  return rng.uniform(lo, hi);
}

/**
 * The honest world of one run: every declared node does what its cluster's schedule says.
 * @throws {SimError} SCENARIO_INVALID for an unknown GPU model
 */
export function buildWorld(scenario: Scenario, seed: number, groups: Group[]): SimWorld {
  const interval = scenario.reporting.intervalSeconds;
  const t0 = parseTime(scenario.start);
  const intervals = Math.round((scenario.durationHours * 3600) / interval);
  const w: SimWorld = {
    scenario,
    seed,
    t0,
    tEnd: t0 + intervals * interval,
    interval,
    intervals,
    labs: [],
    facilities: [],
    nodes: [],
    groups,
    fork: undefined,
    assumptions: [],
  };
  const groupOf = new Map<string, string>();
  for (const g of groups) for (const l of g.labs) groupOf.set(l, g.id);
  for (const lab of scenario.labs) {
    w.labs.push({
      id: lab.id,
      pause: {
        id: lab.pause.id,
        maxFlopPerDay: lab.pause.maxFlopPerDay,
        allowedWorkloads: [...lab.pause.allowedWorkloads],
        scope: [...lab.pause.scope],
      },
      group: groupOf.get(lab.id) ?? HONEST,
    });
    for (const f of lab.facilities) {
      w.facilities.push({
        id: f.id,
        lab: lab.id,
        pueMin: f.pue[0],
        pueMax: f.pue[1],
        truePue: truePue(f, stream(seed, `${f.id}/pue`)),
        baselineW: f.baselineW,
        meterSigma: f.meterSigma,
        feeds: f.meters,
        metered: f.metered,
        declared: true,
        slots: meterSlots(w),
      });
      for (const c of f.clusters) {
        const model = gpuModel(c.model, `lab ${lab.id} cluster ${c.id}`);
        for (let i = 1; i <= c.nodes; i++) {
          const node = `${c.id}-n${String(i).padStart(3, '0')}`;
          const id = `${f.id}/${c.id}/${node}`;
          const work = clusterWork(c, w, stream(seed, `${id}/schedule`));
          w.nodes.push({
            id,
            lab: lab.id,
            facility: f.id,
            cluster: c.id,
            node,
            gpus: c.gpusPerNode,
            model,
            declared: true,
            slots: work.map((x, k) => newSlot(w, k, x)),
          });
        }
      }
    }
  }
  return w;
}
