import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createReplayCollector, framesFromCapture } from '../../nodes/collectors/replay.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { syntheticSamples } from '../../nodes/collectors/synthetic.js';
import {
  buildIntervalReport,
  classifyGpu,
  classifyNode,
  WORKLOAD_THRESHOLDS,
} from '../../nodes/report/aggregate.js';
import { estimateFlop, peakFor, UNKNOWN_MODEL_TFLOPS } from '../../nodes/report/flop.js';
import { alignInterval, toStatementTime } from '../../nodes/report/interval.js';
import { decodeSample, encodeSample } from '../../nodes/report/sample-encoding.js';
import { jcsBytes } from '../../protocol/src/jcs.js';
import { usageSchema } from '../../protocol/src/schemas.js';
import { toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { verifySample } from '../../src/merkle/samples.js';
import { FILES, fakeTimer, fixture } from './fixtures.js';

const START = Date.UTC(2026, 10, 27, 0, 5, 0);
const IV = { startMs: START, endMs: START + 300_000 };

/** The load query-gpu reading of a capture, replayed once a second from START, 301 frames. */
async function replayLoad(file: string): Promise<GpuSample[]> {
  const frames = framesFromCapture(fixture(file), { phases: ['load'] });
  const out: GpuSample[] = [];
  await createReplayCollector({
    frames,
    loop: true,
    startAt: START,
    loopGapMs: 1000,
    maxFrames: 301,
    speed: Number.POSITIVE_INFINITY,
    timer: fakeTimer(0),
  }).run((b) => out.push(...b), new AbortController().signal);
  return out;
}

const h100Load = await replayLoad(FILES.h100Capture);
const h200Load = await replayLoad(FILES.h200Capture);

describe('the H100 gpu-burn load reading held for a 300 s interval (nvidia-smi)', () => {
  const samples = h100Load;
  const r = buildIntervalReport(samples, IV, { source: 'replay', node: 'f1/c1/n1' });

  it('reports 1 GPU busy 300 GPU-seconds, 631.95 W × 300 s = 189 585 J', () => {
    expect(r.usage.gpus).toBe(1);
    expect(r.usage.gpuSeconds).toBe(300);
    expect(r.usage.energyJ).toBe(189_585);
  });

  it('bounds tensor activity by utilisation (100 %) and estimates 989 TFLOP/s × 300 s of FLOP', () => {
    expect(r.usage.tensorActive).toBe(1);
    expect(r.usage.flop).toBe(989e12 * 300);
    expect(r.body.gpus[0]!.tensorSource).toBe('activity-upper-bound');
    expect(r.body.gpus[0]!.peak).toEqual({ family: 'H100', tflops: 989 });
  });

  it('classifies it as training, and records the trapezoid energy method', () => {
    expect(r.usage.workload).toBe('training');
    expect(r.body.method.energy).toBe('trapezoid');
    expect(r.body.gpus[0]!.energyMethod).toBe('trapezoid');
    expect(r.body.gpus[0]!.memUsedMaxMiB).toBe(19818);
  });

  it('commits the 300 samples inside [start, end), not the one at end', () => {
    expect(samples).toHaveLength(301);
    expect(r.usage.samples.count).toBe(300);
    expect(r.samples[0]!.t).toBe(START);
    expect(r.samples[299]!.t).toBe(START + 299_000);
  });

  it('hashes the JCS bytes of the body into bodyHash', () => {
    expect(r.usage.bodyHash).toBe(toHex(sha256(jcsBytes(r.body))));
    expect(r.body.start).toBe('2026-11-27T00:05:00Z');
    expect(r.body.samples.root).toBe(r.usage.samples.root);
  });

  it('gives each committed sample an inclusion proof against the public root', () => {
    const root = r.commitment.root;
    for (const i of [0, 137, 299]) {
      expect(() =>
        verifySample(r.leaves[i]!, i, r.usage.samples.count, r.commitment.proof(i), root),
      ).not.toThrow();
      expect(decodeSample(r.leaves[i]!)).toEqual(r.samples[i]);
    }
    expect(() => verifySample(r.leaves[1]!, 0, 300, r.commitment.proof(0), root)).toThrow();
  });

  it('produces aggregates the protocol usage schema accepts', () => {
    const payload = {
      v: 1,
      lab: 'lab-a.example',
      facility: 'f1',
      cluster: 'c1',
      node: 'n1',
      seq: 0,
      prev: '0'.repeat(64),
      start: toStatementTime(IV.startMs),
      end: toStatementTime(IV.endMs),
      ...r.usage,
    };
    expect(usageSchema.safeParse(payload).success).toBe(true);
  });
});

describe('the H200 load reading held for 300 s', () => {
  const r = buildIntervalReport(h200Load, IV);
  it('reports 627.40 W × 300 s = 188 220 J and the H200 peak', () => {
    expect(r.usage.energyJ).toBe(188_220);
    expect(r.usage.flop).toBe(989e12 * 300);
  });
});

describe('the H100 capture idle then load, 14.657 s apart', () => {
  const frames = framesFromCapture(fixture(FILES.h100Capture));
  const samples = frames.flatMap((f) => f.samples);
  const iv = alignInterval(samples[0]!.t, 300);

  it('integrates (69.85 + 631.95) / 2 W over 14.657 s when the gap bound allows it', () => {
    const r = buildIntervalReport(samples, iv, { maxGapMs: 20_000 });
    expect(r.usage.energyJ).toBeCloseTo(((69.85 + 631.95) / 2) * 14.657, 3);
    // gpuSeconds is observed time (DESIGN §3); busy time, utilisation 0 → 100 %, is half of it.
    expect(r.usage.gpuSeconds).toBeCloseTo(14.657, 3);
    expect(r.body.gpus[0]!.busySeconds).toBeCloseTo(14.657 / 2, 2);
    expect(r.body.gpus[0]!.powerMeanW).toBeCloseTo(350.9, 3);
  });

  it('does not bridge the 14.657 s gap under a 10 s bound, and reports it', () => {
    const r = buildIntervalReport(samples, iv, { maxGapMs: 10_000 });
    expect(r.usage.energyJ).toBe(0);
    expect(r.usage.gpuSeconds).toBe(0);
    expect(r.body.gpus[0]!.gaps).toEqual([{ fromMs: samples[0]!.t, toMs: samples[1]!.t }]);
    expect(r.body.gpus[0]!.gapSeconds).toBe(14.657);
  });
});

describe('counter-based energy in a report (dcgm-exporter style)', () => {
  it('reports the counter reset and never negative energy', () => {
    const s = (t: number, e: number): GpuSample => ({
      t: START + t,
      uuid: 'GPU-x',
      model: 'NVIDIA A30',
      powerW: 50,
      energyMJ: e,
      tensorActive: 0,
      utilGpu: 0,
    });
    const r = buildIntervalReport(
      [s(0, 9e9), s(1000, 9e9 + 50_000), s(2000, 10), s(3000, 50_010)],
      IV,
    );
    expect(r.body.gpus[0]!.counterResets).toEqual([START + 2000]);
    expect(r.body.gpus[0]!.energyMethod).toBe('counter+trapezoid');
    expect(r.usage.energyJ).toBe(150);
    expect(r.usage.workload).toBe('idle');
    expect(r.body.gpus[0]!.peak).toEqual({ family: 'A30', tflops: 165 });
  });
});

describe('workload classification', () => {
  const synth = (workload: 'idle' | 'inference' | 'training' | 'bursty', seed: number, gpus = 8) =>
    syntheticSamples({ seed, workload, gpus, model: 'H100' }, START, START + 301_000);

  it.each([
    ['idle', 'idle'],
    ['inference', 'inference'],
    ['training', 'training'],
  ] as const)('labels a synthetic %s node %s', (wl, expected) => {
    expect(buildIntervalReport(synth(wl, 7), IV).usage.workload).toBe(expected);
  });

  it('labels 4 GPUs training beside 4 doing inference as mixed', () => {
    const samples = [...synth('training', 1, 4), ...synth('inference', 2, 4)];
    const r = buildIntervalReport(samples, IV);
    expect(r.usage.gpus).toBe(8);
    expect(r.usage.workload).toBe('mixed');
  });

  it('labels idle GPUs beside training GPUs as training', () => {
    const samples = [...synth('training', 1, 4), ...synth('idle', 2, 4)];
    expect(buildIntervalReport(samples, IV).usage.workload).toBe('training');
  });

  it('labels busy GPUs with measured zero tensor activity as maintenance', () => {
    expect(classifyGpu(300, 270, 0)).toBe('maintenance');
    expect(classifyNode(['maintenance', 'idle'])).toBe('maintenance');
  });

  it('applies the documented thresholds at their edges', () => {
    const { idleBusy, trainingBusy, trainingIntensity } = WORKLOAD_THRESHOLDS;
    expect(classifyGpu(100, idleBusy * 100 - 0.001, 0)).toBe('idle');
    expect(classifyGpu(100, trainingBusy * 100, trainingBusy * 100 * trainingIntensity)).toBe(
      'training',
    );
    expect(classifyGpu(100, trainingBusy * 100 - 0.001, 40)).toBe('inference');
    expect(classifyGpu(0, 0, 0)).toBeUndefined();
    expect(classifyNode([])).toBe('idle');
  });

  it('reports an idle H100 node at about a tenth of the training power', () => {
    const idle = buildIntervalReport(synth('idle', 3), IV).usage;
    const train = buildIntervalReport(synth('training', 3), IV).usage;
    expect(idle.flop).toBe(0);
    expect(idle.tensorActive).toBe(0);
    expect(idle.energyJ / train.energyJ).toBeGreaterThan(0.08);
    expect(idle.energyJ / train.energyJ).toBeLessThan(0.15);
  });
});

describe('FLOP table', () => {
  it.each([
    ['NVIDIA H100 80GB HBM3', 989],
    ['NVIDIA H100 PCIe', 756],
    ['NVIDIA H200', 989],
    ['NVIDIA A100-SXM4-80GB', 312],
    ['NVIDIA B200', 2250],
    ['NVIDIA A30', 165],
    ['Tesla V100-SXM2-32GB', 125],
  ])('gives %s a dense peak of %d TFLOP/s', (model, tflops) => {
    expect(peakFor(model).flops).toBe(tflops * 1e12);
  });

  it('gives an unknown model the largest peak in the table, marked unknown', () => {
    expect(peakFor('NVIDIA Rubin R100')).toEqual({
      family: 'unknown',
      flops: UNKNOWN_MODEL_TFLOPS * 1e12,
    });
    expect(UNKNOWN_MODEL_TFLOPS).toBeGreaterThanOrEqual(2250);
  });

  it('multiplies peak by tensor-active seconds', () => {
    expect(estimateFlop('NVIDIA A100-SXM4-80GB', 0.5 * 300)).toBe(312e12 * 150);
    expect(() => estimateFlop('NVIDIA A100', -1)).toThrow(RangeError);
  });
});

describe('report input checks', () => {
  it('refuses a sample with utilisation above 1 with SAMPLE_INVALID', () => {
    const bad = { t: START, uuid: 'GPU-a', model: 'X', powerW: 1, utilGpu: 1.5 };
    expect(() => buildIntervalReport([bad], IV)).toThrow(
      expect.objectContaining({ code: 'SAMPLE_INVALID' }),
    );
  });

  it('refuses an interval that is not on whole seconds with INTERVAL_INVALID', () => {
    expect(() => buildIntervalReport([], { startMs: 1, endMs: 300_000 })).toThrow(
      expect.objectContaining({ code: 'INTERVAL_INVALID' }),
    );
  });

  it('drops and counts a duplicate sample (same GPU, same time)', () => {
    const s: GpuSample = { t: START, uuid: 'GPU-a', model: 'X', powerW: 1 };
    const r = buildIntervalReport([s, { ...s, powerW: 999 }], IV);
    expect(r.usage.samples.count).toBe(1);
    expect(r.body.samples.duplicatesDropped).toBe(1);
    expect(r.samples[0]!.powerW).toBe(1);
  });

  it('reports an interval without samples as 0 GPUs with the empty-tree root', () => {
    const r = buildIntervalReport([], IV);
    expect(r.usage).toMatchObject({
      gpus: 0,
      gpuSeconds: 0,
      energyJ: 0,
      flop: 0,
      workload: 'idle',
    });
    expect(r.usage.samples).toEqual({ count: 0, root: toHex(sha256()) });
  });
});

describe('sample encoding', () => {
  it('is the JCS object of the present fields, keys sorted', () => {
    const bytes = encodeSample({ uuid: 'GPU-a', t: 5, powerW: 69.85, model: 'M', utilGpu: 0 });
    expect(new TextDecoder().decode(bytes)).toBe(
      '{"model":"M","powerW":69.85,"t":5,"utilGpu":0,"uuid":"GPU-a"}',
    );
  });

  it('refuses non-canonical bytes on decode (SAMPLE_INVALID)', () => {
    const loose = new TextEncoder().encode('{"t":5,"uuid":"GPU-a","model":"M","powerW":1}');
    expect(() => decodeSample(loose)).toThrow(expect.objectContaining({ code: 'SAMPLE_INVALID' }));
  });
});

describe('property: aggregation invariants', () => {
  const arbSample = fc
    .record({
      dt: fc.integer({ min: -30_000, max: 330_000 }),
      gpu: fc.integer({ min: 0, max: 3 }),
      model: fc.constantFrom('NVIDIA H100 80GB HBM3', 'NVIDIA A30', 'Mystery GPU'),
      powerW: fc.double({ min: 0, max: 1200, noNaN: true }).map((x) => x + 0),
      energyMJ: fc.option(fc.integer({ min: 0, max: 1e12 }), { nil: undefined }),
      utilGpu: fc.option(
        fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
        {
          nil: undefined,
        },
      ),
      tensorActive: fc.option(
        fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
        {
          nil: undefined,
        },
      ),
    })
    .map(({ dt, gpu, energyMJ, utilGpu, tensorActive, ...rest }) => {
      const s: GpuSample = { t: START + dt, uuid: `GPU-${gpu}`, ...rest };
      if (energyMJ !== undefined) s.energyMJ = energyMJ;
      if (utilGpu !== undefined) s.utilGpu = utilGpu;
      if (tensorActive !== undefined) s.tensorActive = tensorActive;
      return s;
    });

  it('keeps energy ≥ 0, gpuSeconds ≤ gpus × duration, tensorActive in [0, 1], flop ≥ 0', () => {
    fc.assert(
      fc.property(
        fc.array(arbSample, { maxLength: 60 }),
        fc.integer({ min: 1000, max: 60_000 }),
        (samples, maxGapMs) => {
          const { usage, body } = buildIntervalReport(samples, IV, { maxGapMs });
          expect(usage.energyJ).toBeGreaterThanOrEqual(0);
          expect(usage.gpuSeconds).toBeGreaterThanOrEqual(0);
          expect(usage.gpuSeconds).toBeLessThanOrEqual(usage.gpus * 300);
          expect(usage.tensorActive).toBeGreaterThanOrEqual(0);
          expect(usage.tensorActive).toBeLessThanOrEqual(1);
          expect(usage.flop).toBeGreaterThanOrEqual(0);
          const inside = new Set(
            samples
              .filter((s) => s.t >= IV.startMs && s.t < IV.endMs)
              .map((s) => `${s.uuid}@${s.t}`),
          );
          expect(usage.samples.count).toBe(inside.size);
          expect(usage.gpus).toBe(new Set([...inside].map((k) => k.split('@')[0])).size);
          for (const g of body.gpus) {
            expect(g.busySeconds).toBeLessThanOrEqual(g.observedSeconds);
            expect(g.observedSeconds).toBeLessThanOrEqual(300);
            expect(g.tensorActiveSeconds).toBeLessThanOrEqual(g.busySeconds);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
