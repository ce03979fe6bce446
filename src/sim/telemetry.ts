/**
 * What each node's GPUs really did in each interval (ground truth) and what its telemetry
 * measured (the honest usage report), under one of two models:
 *
 * - `aggregate` (default, fast): the interval's aggregates are drawn directly. Per GPU model the
 *   idle and full-load powers are the project's measured profiles (nodes/collectors/synthetic.ts
 *   GPU_PROFILES: H100 69.85 W idle, 631.95 W under load), activity levels follow the synthetic
 *   collector's workload shapes, FLOP is the node report's estimate (peak dense tensor throughput
 *   × tensor-active seconds, nodes/report/flop.ts), and the workload label is the node report's
 *   classifier (classifyGpu/classifyNode). `bodyHash` and the sample root commit to the drawn
 *   values, but there is no disclosable body: audits are not simulated in this model.
 * - `samples` (slower, exact): per-GPU samples every `samplePeriodSeconds`, with a cumulative
 *   energy counter when `energyCounter` is set, go through the node's own report code
 *   (nodes/report/aggregate.ts buildIntervalReport), bodies and sample commitments included.
 *
 * Bursts between samples (`burstDuty`): the GPUs train for that share of each sample period,
 * starting just after a sample and ending before the next, so every sample shows the base
 * activity. An energy counter still counts the burst's energy; integrating sampled power does not.
 * FLOP and tensor activity, estimated from samples, never see it.
 */
import { GPU_PROFILES, type GpuSample } from '../../nodes/collectors/index.js';
import {
  buildIntervalReport,
  classifyGpu,
  classifyNode,
  peakFor,
} from '../../nodes/report/index.js';
import { formatTime } from '../../protocol/src/time.js';
import { toHex } from '../core/bytes.js';
import { sha256 } from '../crypto/sha256.js';
import type { Activity, SimNode, SimWorld, Slot } from './model.js';
import { type Stream, stream } from './random.js';

/** Activity levels of one GPU: utilisation, tensor-pipe activity and power load, each 0..1. */
interface Levels {
  util: number;
  tensor: number;
  load: number;
}

const IDLE: Levels = { util: 0, tensor: 0, load: 0 };

/** One draw of a GPU's levels under an activity (shapes of the synthetic collector). */
function levels(a: Activity, rng: Stream): Levels {
  switch (a) {
    case 'idle':
      return IDLE;
    case 'inference': {
      const util = rng.uniform(0.25, 0.85);
      return { util, tensor: util * rng.uniform(0.12, 0.25), load: 0.15 + 0.55 * util };
    }
    case 'training': {
      const util = rng.uniform(0.95, 1);
      return { util, tensor: util * rng.uniform(0.45, 0.62), load: util * rng.uniform(0.88, 1) };
    }
    case 'maintenance': {
      const util = rng.uniform(0.1, 0.5);
      return { util, tensor: util * 0.02, load: 0.05 + 0.3 * util };
    }
  }
}

const r3 = (x: number) => Math.round(x * 1e3) / 1e3;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

const enc = new TextEncoder();
/** A commitment to a simulated body: SHA-256 of its JSON (keys in the fixed order written here). */
function hashOf(v: unknown): string {
  return toHex(sha256(enc.encode(JSON.stringify(v))));
}

/** The aggregate model for one slot. */
function aggregateSlot(w: SimWorld, n: SimNode, s: Slot, rng: Stream): void {
  const p = GPU_PROFILES[n.model];
  const peak = peakFor(p.model).flops;
  const I = w.interval;
  const period = w.scenario.telemetry.samplePeriodSeconds;
  const share = Math.min(1, Math.max(0, s.work.intensity));
  const lv = levels(s.work.activity, rng);
  const power = (l: Levels) => p.idleW + (p.loadW - p.idleW) * l.load;
  // Power noise: nvidia-smi's ±0.5 % of load power per sample, averaged over the samples.
  const samples = Math.max(1, Math.round(I / period));
  const noiseW = (0.005 * p.loadW) / Math.sqrt(samples * n.gpus);
  const meanW = share * power(lv) + (1 - share) * p.idleW;
  const baseJ = s.work.off === true ? 0 : Math.max(0, n.gpus * (meanW + rng.normal(0, noiseW)) * I);
  const tensorSeconds = s.work.off === true ? 0 : n.gpus * share * lv.tensor * I;
  let burstJ = 0;
  let burstFlop = 0;
  if (s.work.burstDuty > 0 && s.work.off !== true) {
    const tl = levels('training', rng);
    const d = Math.min(1, s.work.burstDuty);
    burstJ = n.gpus * (power(tl) - power(lv)) * d * I;
    burstFlop = peak * n.gpus * tl.tensor * d * I;
  }
  const counter = w.scenario.telemetry.energyCounter;
  const gpuSeconds = n.gpus * I;
  // Every GPU spends `share` of the interval on the activity: the node report's classifier on
  // one GPU's integrals gives the node's label.
  const classes = [classifyGpu(I, share * lv.util * I, share * lv.tensor * I)];
  const start = formatTime(s.start);
  const end = formatTime(s.end);
  const body = { v: 1, type: 'vpause-sim-body', node: n.id, start, end, share, levels: lv };
  const flop = Math.round(peak * tensorSeconds);
  s.measured = {
    gpus: n.gpus,
    gpuSeconds,
    energyJ: r3(baseJ + (counter ? burstJ : 0)),
    tensorActive: r6(tensorSeconds / gpuSeconds),
    flop,
    workload: classifyNode(classes),
    bodyHash: hashOf(body),
    samples: { count: samples * n.gpus, root: hashOf({ ...body, type: 'vpause-sim-samples' }) },
  };
  s.truth = { energyJ: baseJ + burstJ, flop: flop + burstFlop };
}

/**
 * The samples model for all slots of one node: one series over the whole run (sample times on a
 * grid aligned with the intervals, which the scenario schema requires), each interval built from
 * its samples plus the edge samples before and after it.
 */
function samplesNode(w: SimWorld, n: SimNode, rng: Stream): void {
  const p = GPU_PROFILES[n.model];
  const peak = peakFor(p.model).flops;
  const P = w.scenario.telemetry.samplePeriodSeconds;
  const counter = w.scenario.telemetry.energyCounter;
  const power = (l: Levels) => p.idleW + (p.loadW - p.idleW) * l.load;
  const uuids = Array.from({ length: n.gpus }, (_, g) => {
    const h = toHex(sha256(enc.encode(`${w.seed}/${n.id}/gpu${g}`)));
    return `GPU-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  });
  const base = w.t0 - P;
  const steps = Math.round((w.tEnd - base) / P) + 1;
  const at: GpuSample[][] = [];
  const trueJ = n.slots.map(() => 0);
  const trueFlop = n.slots.map(() => 0);
  const counterMJ = uuids.map(() => Math.floor(rng.uniform(1e9, 1e11)));
  for (let j = 0; j < steps; j++) {
    const t = base + j * P;
    const k = Math.floor((t - w.t0) / w.interval);
    const s = n.slots[Math.min(n.slots.length - 1, Math.max(0, k))]!;
    const share = Math.min(1, Math.max(0, s.work.intensity));
    const off = s.work.off === true;
    const row: GpuSample[] = [];
    for (let g = 0; g < n.gpus; g++) {
      // The GPU spends `share` of its time on the activity: each sample finds it there with
      // that probability.
      const lv = !off && rng.chance(share) ? levels(s.work.activity, rng) : IDLE;
      const pw = off ? 0 : Math.max(0, power(lv) + rng.normal(0, 0.005 * p.loadW));
      const sample: GpuSample = {
        t: t * 1000,
        uuid: uuids[g]!,
        model: p.model,
        powerW: Math.round(pw * 100) / 100,
        utilGpu: Math.round(lv.util * 100) / 100,
        smActive: r6(lv.util * 0.9),
        tensorActive: r6(lv.tensor),
        memUsedMiB: Math.round(p.memTotalMiB * (lv.util > 0 ? 0.9 : 0)),
      };
      if (counter) sample.energyMJ = counterMJ[g]!;
      row.push(sample);
      // Energy until the next sample: the sampled level, plus a training burst in between.
      let e = pw * P;
      let f = peak * lv.tensor * P;
      if (!off && s.work.burstDuty > 0 && k >= 0 && k < n.slots.length) {
        const tl = levels('training', rng);
        const d = Math.min(1, s.work.burstDuty);
        e += (power(tl) - power(lv)) * d * P;
        f += peak * (tl.tensor - lv.tensor) * d * P;
      }
      counterMJ[g] = counterMJ[g]! + Math.round(e * 1000);
      if (k >= 0 && k < n.slots.length) {
        trueJ[k] = trueJ[k]! + e;
        trueFlop[k] = trueFlop[k]! + f;
      }
    }
    at.push(row);
  }
  n.slots.forEach((s, k) => {
    // The last sample before the start and the first at or after the end complete the edges.
    const ja = Math.ceil((s.start - base) / P) - 1;
    const jb = Math.min(steps - 1, Math.ceil((s.end - base) / P));
    const samples = at.slice(Math.max(0, ja), jb + 1).flat();
    const rep = buildIntervalReport(
      samples,
      { startMs: s.start * 1000, endMs: s.end * 1000 },
      { maxGapMs: 3 * P * 1000, source: 'vpause-sim', node: n.id },
    );
    s.measured = rep.usage;
    s.truth = { energyJ: trueJ[k]!, flop: trueFlop[k]! };
  });
}

/**
 * Sets every slot's truth and measured report, and gives every declared node's slot one honest
 * report draft, submitted after a latency drawn from the scenario's range.
 * @throws {TelemetryError} from the node report code (samples model) for inconsistent samples
 */
export function runTelemetry(w: SimWorld): void {
  const [lo, hi] = w.scenario.reporting.latencySeconds;
  for (const n of w.nodes) {
    const rng = stream(w.seed, `${n.id}/telemetry`);
    if (w.scenario.telemetry.model === 'samples') samplesNode(w, n, rng);
    else for (const s of n.slots) aggregateSlot(w, n, s, rng);
    if (!n.declared) continue;
    const lat = stream(w.seed, `${n.id}/latency`);
    for (const s of n.slots) {
      s.reports = [
        {
          aggregates: s.measured!,
          submitAt: s.end + Math.round(lat.uniform(lo, hi)),
          branch: 'both',
        },
      ];
    }
  }
}
