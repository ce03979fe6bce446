import { describe, expect, it } from 'vitest';
import {
  createReplayCollector,
  framesFromCapture,
  framesFromNvidiaSmiCsv,
  framesFromPrometheus,
  type ReplayFrame,
} from '../../nodes/collectors/replay.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { FILES, fakeTimer, fixture } from './fixtures.js';

async function play(opts: Parameters<typeof createReplayCollector>[0]) {
  const batches: GpuSample[][] = [];
  const ac = new AbortController();
  await createReplayCollector(opts).run((b) => batches.push(b), ac.signal);
  return batches;
}

describe('frames from the nvidia-smi captures and the DERIVED CSV', () => {
  it('reads the H100 capture as an idle frame then a load frame 14.657 s later', () => {
    const f = framesFromCapture(fixture(FILES.h100Capture));
    expect(f.map((x) => x.samples.map((s) => s.powerW))).toEqual([[69.85], [631.95]]);
    expect(f[1]!.t - f[0]!.t).toBe(14_657);
  });

  it('reads the DERIVED CSV as four frames in time order (H200 on 3 July before H100 on 14 July)', () => {
    const f = framesFromNvidiaSmiCsv(fixture(FILES.derivedCsv));
    expect(f.map((x) => `${x.samples[0]!.model}:${x.samples[0]!.powerW}`)).toEqual([
      'NVIDIA H200:77.71',
      'NVIDIA H200:627.4',
      'NVIDIA H100 80GB HBM3:69.85',
      'NVIDIA H100 80GB HBM3:631.95',
    ]);
  });

  it('reads Prometheus scrapes as frames stamped start + k·step, skipping devices without power', () => {
    const f = framesFromPrometheus([fixture(FILES.a30Mig), fixture(FILES.v100)], {
      startMs: 1000,
      stepMs: 30_000,
    });
    expect(f.map((x) => [x.t, x.samples.length])).toEqual([
      [1000, 2],
      [31_000, 0],
    ]);
  });
});

describe('the replay collector', () => {
  const frames = framesFromCapture(fixture(FILES.h100Capture));

  it('sleeps the frame spacing divided by the speed (14 657 ms at 10× → 1 465.7 ms)', async () => {
    const timer = fakeTimer(0);
    const b = await play({ frames, speed: 10, timer });
    expect(b).toHaveLength(2);
    expect(timer.sleeps).toEqual([1465.7]);
    expect(b[0]![0]!.t).toBe(frames[0]!.t);
  });

  it('loops with increasing times, shifted by the span plus the loop gap', async () => {
    const timer = fakeTimer(0);
    const b = await play({ frames, loop: true, loopGapMs: 1000, maxFrames: 5, speed: 1, timer });
    const t = b.map((x) => x[0]!.t - frames[0]!.t);
    expect(t).toEqual([0, 14_657, 15_657, 30_314, 31_314]);
    expect(b.map((x) => x[0]!.powerW)).toEqual([69.85, 631.95, 69.85, 631.95, 69.85]);
  });

  it('shifts data time to the clock with startAt: now', async () => {
    const timer = fakeTimer(5_000_000);
    const b = await play({ frames, startAt: 'now', speed: Number.POSITIVE_INFINITY, timer });
    expect(b.map((x) => x[0]!.t)).toEqual([5_000_000, 5_014_657]);
    expect(timer.sleeps).toEqual([]);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const got: GpuSample[][] = [];
    await createReplayCollector({ frames, loop: true, timer: fakeTimer(0) }).run((b) => {
      got.push(b);
      if (got.length === 3) ac.abort();
    }, ac.signal);
    expect(got).toHaveLength(3);
  });

  it('refuses frames out of order, no frames, or speed 0 with CONFIG_INVALID', () => {
    const f: ReplayFrame[] = [frames[1]!, frames[0]!];
    for (const opts of [{ frames: f }, { frames: [] }, { frames, speed: 0 }]) {
      expect(() => createReplayCollector(opts)).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    }
  });
});
