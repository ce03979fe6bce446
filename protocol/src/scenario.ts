/**
 * Simulator scenario files (DESIGN §7): the zod schema is the single source of truth; the JSON
 * Schema published in protocol/schemas/scenario.schema.json is generated from it
 * (`scenarioJsonSchema`). docs/researchers.md explains every field. Pure: no I/O.
 *
 * A scenario describes a world (labs, their facilities, clusters and nodes, what the GPUs do),
 * the pause each lab declared, how often nodes, meters, the log and the verifier act, the
 * verifier's policy parameters, the cheating strategies some labs follow, and how many seeded
 * Monte Carlo runs to make. Times are hours from the pause start unless a key says otherwise.
 *
 * Strategy parameters are plug-in specific: each strategy (src/sim/strategies/) validates its
 * own `params`, so this schema only requires an object there.
 */
import { z } from 'zod';
import { ID_PATTERN, LAB_PATTERN, MODEL_PATTERN, WORKLOADS } from './schemas.js';
import { TIME_PATTERN } from './time.js';

/** `full`: real keys, signatures, log, witnesses and verifier sync; `fast`: see docs/researchers.md. */
export const SIM_MODES = ['full', 'fast'] as const;
/** What a cluster's GPUs do in a schedule slot (`bursty`: phases of training and idle). */
export const SIM_ACTIVITIES = ['idle', 'inference', 'training', 'maintenance', 'bursty'] as const;
/** How usage aggregates are produced: analytically, or from per-GPU samples through the node's report code. */
export const TELEMETRY_MODELS = ['aggregate', 'samples'] as const;
/** Where a facility's true PUE lies in a run: a bound of its range, uniform in it, or a number. */
export const TRUE_PUE = ['min', 'max', 'uniform'] as const;

const DAY = 86_400;

const hours = z
  .number()
  .min(0)
  .max(24 * 366);
const positive = z.number().positive();
const labId = z.string().regex(new RegExp(LAB_PATTERN)).describe('lab identity, a DNS-like name');
const id = z.string().regex(new RegExp(ID_PATTERN));

const scheduleSlot = z
  .strictObject({
    fromHours: hours.describe('slot start, hours from the pause start'),
    toHours: hours.optional().describe('slot end (default: the end of the run)'),
    activity: z.enum(SIM_ACTIVITIES),
  })
  .meta({ title: 'schedule slot' });

const cluster = z
  .strictObject({
    id,
    nodes: z.int().min(1).max(10_000).describe('attestation nodes in the cluster'),
    gpusPerNode: z.int().min(1).max(100_000).default(8),
    model: z
      .string()
      .regex(new RegExp(MODEL_PATTERN))
      .default('H100')
      .describe('GPU model: H100, H200, A100, B200, A30 or V100'),
    activity: z.enum(SIM_ACTIVITIES).default('idle').describe('what the GPUs do outside slots'),
    schedule: z.array(scheduleSlot).max(1000).default([]).describe('later slots win'),
  })
  .meta({ title: 'cluster' });

const facility = z
  .strictObject({
    id,
    pue: z
      .tuple([z.number().min(1).max(10), z.number().min(1).max(10)])
      .describe('[min, max]: the range the true PUE lies in (the policy line)'),
    truePue: z
      .union([z.enum(TRUE_PUE), z.number().min(1).max(10)])
      .default('uniform')
      .describe('the PUE the facility really has in a run'),
    baselineW: positive.describe('non-GPU draw seen at the meter, W'),
    meterSigma: z.number().gt(0).lt(1).default(0.01).describe('relative meter uncertainty'),
    meters: z.int().min(0).max(16).default(1).describe('meter feeds (0: no meter)'),
    metered: z
      .boolean()
      .default(true)
      .describe("whether the verifier's policy lists the facility and its meter keys"),
    clusters: z.array(cluster).min(1).max(1000),
  })
  .superRefine((f, ctx) => {
    if (f.pue[1] < f.pue[0]) {
      ctx.addIssue({ code: 'custom', message: 'pue max is below pue min', path: ['pue'] });
    }
    if (typeof f.truePue === 'number' && (f.truePue < f.pue[0] || f.truePue > f.pue[1])) {
      ctx.addIssue({
        code: 'custom',
        message: 'truePue is outside the pue range',
        path: ['truePue'],
      });
    }
  })
  .meta({ title: 'facility' });

const pause = z
  .strictObject({
    id: id.default('pause-1'),
    maxFlopPerDay: z.number().min(0).default(1e21),
    allowedWorkloads: z
      .array(z.enum(WORKLOADS))
      .max(WORKLOADS.length)
      .default(['idle', 'inference', 'maintenance']),
    scope: z.array(z.string()).min(1).default(['*']),
  })
  .meta({ title: 'pause declaration' });

const lab = z
  .strictObject({
    id: labId,
    pause: pause.default({
      id: 'pause-1',
      maxFlopPerDay: 1e21,
      allowedWorkloads: ['idle', 'inference', 'maintenance'],
      scope: ['*'],
    }),
    facilities: z.array(facility).min(1).max(1000),
  })
  .meta({ title: 'lab' });

const strategy = z
  .strictObject({
    id: id.optional().describe('label in the results (default: the strategy name)'),
    strategy: z.string().min(1).describe('a strategy of src/sim/strategies/ (see docs)'),
    labs: z.array(labId).min(1).describe('the labs that follow it'),
    params: z.record(z.string(), z.unknown()).default({}).describe("the strategy's parameters"),
  })
  .meta({ title: 'strategy' });

const reporting = z
  .strictObject({
    intervalSeconds: z.int().min(60).max(DAY).default(600),
    maxDelaySeconds: z.int().min(0).max(604_800).default(1800),
    latencySeconds: z
      .tuple([z.number().min(0), z.number().min(0)])
      .default([10, 240])
      .describe('range of an honest node’s submission delay after the interval end'),
    meterLatencySeconds: z.number().min(0).default(30),
  })
  .default({
    intervalSeconds: 600,
    maxDelaySeconds: 1800,
    latencySeconds: [10, 240],
    meterLatencySeconds: 30,
  });

const telemetry = z
  .strictObject({
    model: z.enum(TELEMETRY_MODELS).default('aggregate'),
    samplePeriodSeconds: z.int().min(1).max(3600).default(60),
    energyCounter: z
      .boolean()
      .default(true)
      .describe(
        'GPUs expose a cumulative energy counter (DCGM); else energy is integrated from samples',
      ),
  })
  .default({ model: 'aggregate', samplePeriodSeconds: 60, energyCounter: true });

const log = z
  .strictObject({
    checkpointSeconds: z.int().min(1).max(DAY).default(120),
    witnesses: z.int().min(0).max(32).default(3),
    quorum: z.int().min(0).max(32).default(2).describe('cosignatures a checkpoint needs (0: none)'),
  })
  .default({ checkpointSeconds: 120, witnesses: 3, quorum: 2 });

const verifier = z
  .strictObject({
    alpha: z.number().gt(0).max(0.5).default(0.01),
    syncEverySeconds: z
      .int()
      .min(1)
      .optional()
      .describe('how often the verifier reads the log (default: every checkpoint)'),
    lookEverySeconds: z.int().min(60).default(3600).describe('how often it evaluates the pause'),
    witnessGossip: z
      .boolean()
      .default(true)
      .describe('compare the log with the checkpoints witnesses hold (split-view monitor)'),
    rocAlphas: z.array(z.number().gt(0).max(0.5)).max(32).default([0.001, 0.01, 0.05, 0.1, 0.2]),
  })
  .default({
    alpha: 0.01,
    lookEverySeconds: 3600,
    witnessGossip: true,
    rocAlphas: [0.001, 0.01, 0.05, 0.1, 0.2],
  });

const economics = z
  .strictObject({
    gainPerFlop: z.number().min(0).default(1e-18).describe('value of one FLOP of cheating'),
    penalty: z.number().min(0).default(1e4).describe('penalty when a violation is found'),
    falseAlarmCost: z
      .number()
      .min(0)
      .default(1e3)
      .describe('cost a false accusation puts on a compliant lab'),
  })
  .default({ gainPerFlop: 1e-18, penalty: 1e4, falseAlarmCost: 1e3 });

/** A simulator scenario. */
export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    description: z.string().max(10_000).optional(),
    mode: z.enum(SIM_MODES).default('full'),
    seed: z.int().min(0).max(0xffffffff).default(1),
    runs: z.int().min(1).max(1_000_000).default(100),
    start: z
      .string()
      .regex(new RegExp(TIME_PATTERN))
      .default('2026-11-27T00:00:00Z')
      .describe('the pause start, aligned to the reporting interval'),
    durationHours: z
      .number()
      .positive()
      .max(24 * 366)
      .default(6),
    reporting,
    telemetry,
    log,
    verifier,
    economics,
    labs: z.array(lab).min(1).max(1000),
    strategies: z.array(strategy).max(1000).default([]),
    assumptions: z.array(z.string()).default([]).describe('stated in the report'),
  })
  .superRefine((s, ctx) => {
    const r = s.reporting;
    if (DAY % r.intervalSeconds !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'intervalSeconds must divide 86400',
        path: ['reporting', 'intervalSeconds'],
      });
    }
    const startS = Date.parse(s.start) / 1000;
    if (Number.isFinite(startS) && startS % r.intervalSeconds !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: `start must be a multiple of intervalSeconds (${r.intervalSeconds} s) since the epoch`,
        path: ['start'],
      });
    }
    const dur = s.durationHours * 3600;
    if (!Number.isInteger(dur) || dur % r.intervalSeconds !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'durationHours must be a whole number of reporting intervals',
        path: ['durationHours'],
      });
    }
    if (
      s.telemetry.model === 'samples' &&
      r.intervalSeconds % s.telemetry.samplePeriodSeconds !== 0
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'the samples model needs samplePeriodSeconds to divide intervalSeconds',
        path: ['telemetry', 'samplePeriodSeconds'],
      });
    }
    if (r.latencySeconds[1] < r.latencySeconds[0]) {
      ctx.addIssue({
        code: 'custom',
        message: 'latencySeconds max is below min',
        path: ['reporting', 'latencySeconds'],
      });
    }
    if (s.log.quorum > s.log.witnesses) {
      ctx.addIssue({
        code: 'custom',
        message: 'quorum exceeds the number of witnesses',
        path: ['log', 'quorum'],
      });
    }
    const labs = new Set<string>();
    const facilities = new Set<string>();
    s.labs.forEach((l, i) => {
      if (labs.has(l.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `lab ${l.id} listed twice`,
          path: ['labs', i, 'id'],
        });
      }
      labs.add(l.id);
      l.facilities.forEach((f, j) => {
        // Facility ids are global: meter statements and policy lines name a facility, not a lab.
        if (facilities.has(f.id)) {
          ctx.addIssue({
            code: 'custom',
            message: `facility ${f.id} listed twice (facility ids are unique across labs)`,
            path: ['labs', i, 'facilities', j, 'id'],
          });
        }
        facilities.add(f.id);
        const cl = new Set<string>();
        f.clusters.forEach((c, k) => {
          if (cl.has(c.id)) {
            ctx.addIssue({
              code: 'custom',
              message: `cluster ${c.id} listed twice`,
              path: ['labs', i, 'facilities', j, 'clusters', k, 'id'],
            });
          }
          cl.add(c.id);
        });
      });
    });
    const ids = new Set<string>();
    s.strategies.forEach((st, i) => {
      const sid = st.id ?? st.strategy;
      if (ids.has(sid)) {
        ctx.addIssue({
          code: 'custom',
          message: `strategy id ${sid} used twice (give each entry an id)`,
          path: ['strategies', i, 'id'],
        });
      }
      ids.add(sid);
      for (const l of st.labs) {
        if (!labs.has(l)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown lab ${l}`,
            path: ['strategies', i, 'labs'],
          });
        }
      }
    });
    const claimed = new Map<string, string>();
    s.strategies.forEach((st, i) => {
      for (const l of st.labs) {
        const prev = claimed.get(l);
        if (prev !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `lab ${l} follows two strategies (${prev}, ${st.id ?? st.strategy})`,
            path: ['strategies', i, 'labs'],
          });
        }
        claimed.set(l, st.id ?? st.strategy);
      }
    });
  })
  .meta({
    title: 'vpause simulator scenario',
    description:
      'A world, its pause declarations, cheating strategies and Monte Carlo settings (docs/researchers.md)',
  });

/** A scenario as written (defaults not applied yet). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario, defaults applied. */
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioLab = Scenario['labs'][number];
export type ScenarioFacility = ScenarioLab['facilities'][number];
export type ScenarioCluster = ScenarioFacility['clusters'][number];
export type ScenarioStrategy = Scenario['strategies'][number];
export type SimActivity = (typeof SIM_ACTIVITIES)[number];

/**
 * The JSON Schema of scenario files (draft 2020-12, the input shape: defaults shown, optional
 * keys optional). Cross-field rules (ranges in order, unique ids, alignment) are refinements the
 * JSON Schema does not carry.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
}
