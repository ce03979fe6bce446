/**
 * The per-interval usage report of one node: the private body (per-GPU detail, methods), the
 * committed raw samples, and the public aggregates that go into the signed usage statement
 * (`gpus`, `gpuSeconds`, `energyJ`, `tensorActive`, `flop`, `workload`, `bodyHash`, `samples`).
 * Pure: the daemon adds identity, `seq`, `prev`, signs and publishes.
 *
 * Definitions (docs/flop-estimate.md has the FLOP reasoning):
 * - `gpus`: distinct GPU UUIDs with at least one sample in `[start, end)`.
 * - `gpuSeconds`: observed (powered-on) GPU-seconds, as in DESIGN §3 (an idle 8-GPU node over
 *   300 s reports 2400): Σ over GPUs of the time covered by samples in `[start, end)`, gaps
 *   excluded. Hence gpuSeconds ≤ gpus × (end − start). How busy the GPUs were is in the private
 *   body (`busySeconds`: Σ ∫ activity dt, activity = max(utilGpu, smActive, tensorActive)) and in
 *   the public `tensorActive`, `flop` and `workload`.
 * - `energyJ`: Σ over GPUs of the energy in `[start, end)` (integrate.ts: counter or trapezoid).
 * - `tensorActive`: Σ ∫ tensor dt / Σ observed seconds (the mean over observed GPU-time), in [0, 1];
 *   where tensor activity is not measured (nvidia-smi) its upper bound, the activity, is used.
 * - `flop`: Σ over GPUs of peak(model) × ∫ tensor dt (so for one model, peak × tensorActive ×
 *   observed GPU-seconds).
 * - `workload`: see {@link classifyGpu} and {@link WORKLOAD_THRESHOLDS}.
 * - The public numbers are computed from the body's rounded per-GPU numbers, so a verifier can
 *   recompute them exactly from a disclosed body.
 */

import { jcsBytes } from '../../protocol/src/jcs.js';
import type { Workload } from '../../protocol/src/schemas.js';
import { toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { commitSamples, type SampleCommitment } from '../../src/merkle/samples.js';
import { TelemetryError } from '../collectors/errors.js';
import { assertGpuSample, type GpuSample } from '../collectors/sample.js';
import { peakFor } from './flop.js';
import { integrateGpu } from './integrate.js';
import { checkInterval, type Interval, toStatementTime } from './interval.js';
import { compareSamples, encodeSample, SAMPLE_ENCODING } from './sample-encoding.js';

export type { Workload };

/**
 * Thresholds of the workload heuristic, applied per GPU to
 * `busy = busySeconds / observedSeconds` and `intensity = tensorSeconds / busySeconds`
 * (tensor activity while busy):
 * - `idle`:        busy < 0.05 (a paused GPU: at most brief monitoring or health-check kernels);
 * - `maintenance`: busy ≥ 0.05 and intensity < 0.05 (busy without the tensor cores: diagnostics,
 *                  memory tests, data movement; reachable only where tensor activity is measured);
 * - `training`:    busy ≥ 0.50 and intensity ≥ 0.30 (sustained, tensor-heavy: the regime of
 *                  large-model training; also bursty training that ran half the interval);
 * - `inference`:   any other busy GPU.
 * A node is `idle` when every observed GPU is idle, else the one class of its non-idle GPUs, else
 * `mixed`. This is a heuristic: a pause's hard limit is `flop`, not this label.
 */
export const WORKLOAD_THRESHOLDS = {
  idleBusy: 0.05,
  maintenanceIntensity: 0.05,
  trainingBusy: 0.5,
  trainingIntensity: 0.3,
} as const;

/** Classifies one GPU from its integrals; `undefined` when it was not observed at all. */
export function classifyGpu(
  observedSeconds: number,
  busySeconds: number,
  tensorSeconds: number,
): Exclude<Workload, 'mixed'> | undefined {
  if (!(observedSeconds > 0)) return undefined;
  const busy = busySeconds / observedSeconds;
  if (busy < WORKLOAD_THRESHOLDS.idleBusy) return 'idle';
  const intensity = busySeconds > 0 ? tensorSeconds / busySeconds : 0;
  if (intensity < WORKLOAD_THRESHOLDS.maintenanceIntensity) return 'maintenance';
  if (
    busy >= WORKLOAD_THRESHOLDS.trainingBusy &&
    intensity >= WORKLOAD_THRESHOLDS.trainingIntensity
  )
    return 'training';
  return 'inference';
}

/** Combines per-GPU classes into the node's class. */
export function classifyNode(
  classes: ReadonlyArray<Exclude<Workload, 'mixed'> | undefined>,
): Workload {
  const active = new Set(classes.filter((c) => c !== undefined && c !== 'idle'));
  if (active.size === 0) return 'idle';
  if (active.size === 1) return [...active][0]!;
  return 'mixed';
}

/** Per-GPU entry of the private body. Seconds, joules, watts, MiB; rounded. */
export interface BodyGpu {
  uuid: string;
  model: string;
  host: string | null;
  peak: { family: string; tflops: number };
  samples: number;
  observedSeconds: number;
  busySeconds: number;
  activityUnknownSeconds: number;
  energyJ: number;
  energyMethod: 'counter' | 'trapezoid' | 'counter+trapezoid' | 'none';
  counterSeconds: number;
  trapezoidJ: number;
  gapEnergyJ: number;
  counterResets: number[];
  gaps: Array<{ fromMs: number; toMs: number }>;
  gapSeconds: number;
  powerMeanW: number | null;
  smActiveMean: number | null;
  tensorActiveSeconds: number;
  tensorActiveMean: number | null;
  tensorSource: 'measured' | 'activity-upper-bound' | 'mixed' | 'none';
  memUsedMaxMiB: number | null;
  flop: number;
  workload: Exclude<Workload, 'mixed'> | null;
}

/** The private report body. Its JCS bytes are hashed into `bodyHash`. */
export interface UsageBody {
  v: 1;
  type: 'vpause-usage-body';
  node: string | null;
  start: string;
  end: string;
  method: {
    source: string;
    busy: 'activity-weighted';
    energy: 'counter' | 'trapezoid' | 'counter+trapezoid' | 'none';
    maxGapSeconds: number;
    tensor: 'measured' | 'activity-upper-bound' | 'mixed' | 'none';
    flop: 'peak-dense-tensor-x-tensor-active-seconds';
    workloadThresholds: typeof WORKLOAD_THRESHOLDS;
    sampleEncoding: typeof SAMPLE_ENCODING;
  };
  gpus: BodyGpu[];
  samples: { count: number; root: string; duplicatesDropped: number };
}

/** The public aggregates, exactly the usage statement's keys of that name. */
export interface UsageAggregates {
  gpus: number;
  gpuSeconds: number;
  energyJ: number;
  tensorActive: number;
  flop: number;
  workload: Workload;
  bodyHash: string;
  samples: { count: number; root: string };
}

/** Result of {@link buildIntervalReport}. */
export interface IntervalReport {
  usage: UsageAggregates;
  body: UsageBody;
  /** JCS bytes of `body` (what `bodyHash` hashes). */
  bodyBytes: Uint8Array;
  /** The committed samples, in leaf order, and their encodings. */
  samples: GpuSample[];
  leaves: Uint8Array[];
  /** The sample commitment: root, leaf hashes and RFC 9162 inclusion proofs for audits. */
  commitment: SampleCommitment;
}

/** Options of {@link buildIntervalReport}. */
export interface ReportOptions {
  /**
   * Longest time between two samples of one GPU that is still bridged, ms (default 15 000).
   * Set it to about three sample periods of the collector.
   */
  maxGapMs?: number;
  /** Collector kind(s) the samples came from, recorded in the body (default `unknown`). */
  source?: string;
  /** Node label recorded in the body, e.g. `f1/c1/c1-n001`. */
  node?: string;
}

const r3 = (x: number) => Math.round(x * 1e3) / 1e3;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

function methodOf(counterS: number, trapS: number): BodyGpu['energyMethod'] {
  if (counterS > 0 && trapS > 0) return 'counter+trapezoid';
  if (counterS > 0) return 'counter';
  if (trapS > 0) return 'trapezoid';
  return 'none';
}

function combine<T extends string>(values: T[], mixed: T, none: T): T {
  const set = new Set(values.filter((v) => v !== none));
  if (set.size === 0) return none;
  if (set.size === 1) return [...set][0]!;
  return mixed;
}

/**
 * Builds the report of one node for one interval.
 *
 * `samples` may include samples outside the interval: the last one before `start` and the first
 * at or after `end` of each GPU complete the edge segments (see integrate.ts). Only samples in
 * `[start, end)` are committed and counted. Two samples of one GPU with the same time are
 * duplicates: the first (in input order) is kept, the others dropped and counted.
 *
 * @throws {TelemetryError} `INTERVAL_INVALID` for an interval not on whole seconds or empty;
 *   `SAMPLE_INVALID` for a sample that violates the sample schema; `CONFIG_INVALID` for a bad
 *   gap bound
 */
export function buildIntervalReport(
  samples: readonly GpuSample[],
  interval: Interval,
  opts: ReportOptions = {},
): IntervalReport {
  checkInterval(interval);
  const maxGapMs = opts.maxGapMs ?? 15_000;
  if (!(maxGapMs > 0) || !Number.isFinite(maxGapMs)) {
    throw new TelemetryError('CONFIG_INVALID', 'maxGapMs must be a positive number');
  }
  const { startMs, endMs } = interval;
  const durationS = (endMs - startMs) / 1000;

  // Per GPU, sorted, de-duplicated by time.
  const byGpu = new Map<string, GpuSample[]>();
  let duplicatesDropped = 0;
  const seen = new Map<string, Set<number>>();
  for (const s of samples) {
    assertGpuSample(s);
    let ts = seen.get(s.uuid);
    if (!ts) {
      ts = new Set();
      seen.set(s.uuid, ts);
      byGpu.set(s.uuid, []);
    }
    if (ts.has(s.t)) {
      if (s.t >= startMs && s.t < endMs) duplicatesDropped++;
      continue;
    }
    ts.add(s.t);
    byGpu.get(s.uuid)!.push(s);
  }

  const committed: GpuSample[] = [];
  const gpus: BodyGpu[] = [];
  const uuids = [...byGpu.keys()].sort();
  for (const uuid of uuids) {
    const series = byGpu.get(uuid)!.sort((a, b) => a.t - b.t);
    const inside = series.filter((s) => s.t >= startMs && s.t < endMs);
    if (inside.length === 0) continue;
    committed.push(...inside);
    // The model with the highest peak among this GPU's samples (a model that changes is suspect;
    // the larger peak never under-counts FLOP).
    let model = inside[0]!.model;
    let peak = peakFor(model);
    for (const s of inside) {
      const p = peakFor(s.model);
      if (p.flops > peak.flops) {
        model = s.model;
        peak = p;
      }
    }
    const g = integrateGpu(series, interval, maxGapMs);
    const observedSeconds = r3(g.observedSeconds);
    const busySeconds = r3(Math.min(g.busySeconds, g.observedSeconds));
    const tensorActiveSeconds = r3(Math.min(g.tensorSeconds, g.busySeconds));
    const mem = inside.filter((s) => s.memUsedMiB !== undefined).map((s) => s.memUsedMiB!);
    const host = inside.find((s) => s.host !== undefined)?.host ?? null;
    const tensorSource: BodyGpu['tensorSource'] =
      g.observedSeconds === 0
        ? 'none'
        : g.tensorProxySeconds === 0
          ? 'measured'
          : g.tensorProxySeconds >= g.observedSeconds
            ? 'activity-upper-bound'
            : 'mixed';
    gpus.push({
      uuid,
      model,
      host,
      peak: { family: peak.family, tflops: peak.flops / 1e12 },
      samples: inside.length,
      observedSeconds,
      busySeconds,
      activityUnknownSeconds: r3(g.activityUnknownSeconds),
      energyJ: r3(Math.max(0, g.energyJ)),
      energyMethod: methodOf(g.counterSeconds, g.trapezoidSeconds),
      counterSeconds: r3(g.counterSeconds),
      trapezoidJ: r3(g.trapezoidJ),
      gapEnergyJ: r3(g.gapEnergyJ),
      counterResets: g.counterResets,
      gaps: g.gaps,
      gapSeconds: r3(g.gaps.reduce((a, x) => a + (x.toMs - x.fromMs) / 1000, 0)),
      powerMeanW: g.observedSeconds > 0 ? r3(g.trapezoidJ / g.observedSeconds) : null,
      smActiveMean: g.smObservedSeconds > 0 ? r6(g.smSeconds / g.smObservedSeconds) : null,
      tensorActiveSeconds,
      tensorActiveMean: g.observedSeconds > 0 ? r6(tensorActiveSeconds / observedSeconds) : null,
      tensorSource,
      memUsedMaxMiB: mem.length > 0 ? Math.max(...mem) : null,
      flop: Math.round(peak.flops * tensorActiveSeconds),
      workload: classifyGpu(observedSeconds, busySeconds, tensorActiveSeconds) ?? null,
    });
  }

  committed.sort(compareSamples);
  const leaves = committed.map(encodeSample);
  const commitment = commitSamples(leaves);
  const root = toHex(commitment.root);

  const body: UsageBody = {
    v: 1,
    type: 'vpause-usage-body',
    node: opts.node ?? null,
    start: toStatementTime(startMs),
    end: toStatementTime(endMs),
    method: {
      source: opts.source ?? 'unknown',
      busy: 'activity-weighted',
      energy: combine(
        gpus.map((x) => x.energyMethod),
        'counter+trapezoid',
        'none',
      ),
      maxGapSeconds: maxGapMs / 1000,
      tensor: combine(
        gpus.map((x) => x.tensorSource),
        'mixed',
        'none',
      ),
      flop: 'peak-dense-tensor-x-tensor-active-seconds',
      workloadThresholds: WORKLOAD_THRESHOLDS,
      sampleEncoding: SAMPLE_ENCODING,
    },
    gpus,
    samples: { count: leaves.length, root, duplicatesDropped },
  };
  const bodyBytes = jcsBytes(body);

  const observed = gpus.reduce((a, x) => a + x.observedSeconds, 0);
  const tensorS = gpus.reduce((a, x) => a + x.tensorActiveSeconds, 0);
  const usage: UsageAggregates = {
    gpus: gpus.length,
    gpuSeconds: Math.min(r3(observed), gpus.length * durationS),
    energyJ: r3(gpus.reduce((a, x) => a + x.energyJ, 0)),
    tensorActive: observed > 0 ? Math.min(1, r6(tensorS / observed)) : 0,
    flop: gpus.reduce((a, x) => a + x.flop, 0),
    workload: classifyNode(gpus.map((x) => x.workload ?? undefined)),
    bodyHash: toHex(sha256(bodyBytes)),
    samples: { count: leaves.length, root },
  };

  return {
    usage,
    body,
    bodyBytes,
    samples: committed,
    leaves,
    commitment,
  };
}
