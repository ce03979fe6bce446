import { describe, expect, it } from 'vitest';
import { captureHelpQueryGpu } from '../../nodes/collectors/capture.js';
import type { TelemetryError } from '../../nodes/collectors/errors.js';
import {
  buildNvidiaSmiCommand,
  createNvidiaSmiCollector,
  type Exec,
  NVIDIA_SMI_REQUIRED_FIELDS,
  type SpawnLines,
  selectQueryFields,
} from '../../nodes/collectors/nvidia-smi.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { FILES, fakeTimer, fixture } from './fixtures.js';

const FIELDS = ['timestamp', 'uuid', 'name', 'power.draw', 'utilization.gpu', 'memory.used'];

describe('buildNvidiaSmiCommand', () => {
  it('builds the query with csv,noheader,nounits and no shell', () => {
    expect(buildNvidiaSmiCommand(FIELDS)).toEqual({
      file: 'nvidia-smi',
      args: [
        '--query-gpu=timestamp,uuid,name,power.draw,utilization.gpu,memory.used',
        '--format=csv,noheader,nounits',
      ],
    });
  });

  it('adds --loop-ms for streaming mode', () => {
    expect(buildNvidiaSmiCommand(FIELDS, { loopMs: 500 }).args[2]).toBe('--loop-ms=500');
  });

  it('refuses a field that could inject another argument, with CONFIG_INVALID', () => {
    expect(() => buildNvidiaSmiCommand(['power.draw', '--id=0'])).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('refuses a driver whose help lacks a required field, with CONFIG_INVALID', () => {
    expect(() => selectQueryFields(new Set(['timestamp', 'uuid']))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('uses only the required fields when nothing was probed', () => {
    expect(selectQueryFields()).toEqual([...NVIDIA_SMI_REQUIRED_FIELDS]);
  });
});

describe('the nvidia-smi collector in poll mode', () => {
  const help = captureHelpQueryGpu(fixture(FILES.h100Capture))!;

  it('probes --help-query-gpu, then polls every period and delivers parsed batches', async () => {
    const timer = fakeTimer(Date.UTC(2026, 6, 14, 8, 0, 0));
    const calls: string[][] = [];
    const exec: Exec = async (_file, args) => {
      calls.push([...args]);
      if (args[0] === '--help-query-gpu') return help;
      const ts = new Date(timer.now())
        .toISOString()
        .replace('T', ' ')
        .replace('Z', '')
        .replace(/-/g, '/');
      return (
        `${ts}, GPU-a, NVIDIA H100 80GB HBM3, 631.95, 100, 19818, 625.68, 1980\n` +
        `${ts}, GPU-b, NVIDIA H100 80GB HBM3, 69.85, 0, 0, [N/A], 345\n`
      );
    };
    const ac = new AbortController();
    const batches: GpuSample[][] = [];
    const c = createNvidiaSmiCollector({ exec, timer, periodMs: 1000, host: 'n1' });
    await c.run((b) => {
      batches.push(b);
      if (batches.length === 3) ac.abort();
    }, ac.signal);
    expect(calls[0]).toEqual(['--help-query-gpu']);
    expect(calls[1]![0]).toBe(
      '--query-gpu=timestamp,uuid,name,power.draw,utilization.gpu,memory.used,power.draw.instant,clocks.sm',
    );
    expect(batches).toHaveLength(3);
    expect(batches.map((b) => b[0]!.t - batches[0]![0]!.t)).toEqual([0, 1000, 2000]);
    expect(batches[0]).toEqual([
      {
        t: Date.UTC(2026, 6, 14, 8),
        uuid: 'GPU-a',
        model: 'NVIDIA H100 80GB HBM3',
        powerW: 631.95,
        utilGpu: 1,
        memUsedMiB: 19818,
        smClockMHz: 1980,
        host: 'n1',
      },
      {
        t: Date.UTC(2026, 6, 14, 8),
        uuid: 'GPU-b',
        model: 'NVIDIA H100 80GB HBM3',
        powerW: 69.85,
        utilGpu: 0,
        memUsedMiB: 0,
        smClockMHz: 345,
        host: 'n1',
      },
    ]);
    expect(timer.sleeps).toEqual([1000, 1000]);
  });

  it('reports a failed poll to onError as TELEMETRY_SOURCE_FAILED and keeps polling', async () => {
    const timer = fakeTimer(0);
    let n = 0;
    const exec: Exec = async () => {
      n++;
      if (n === 1) throw new Error('NVIDIA-SMI has failed because it could not communicate');
      return '1970/01/01 00:00:02.000, GPU-a, X, 10, 0, 0\n';
    };
    const errors: TelemetryError[] = [];
    const ac = new AbortController();
    const got: GpuSample[] = [];
    await createNvidiaSmiCollector({
      exec,
      timer,
      fields: FIELDS,
      onError: (e) => errors.push(e),
    }).run((b) => {
      got.push(...b);
      ac.abort();
    }, ac.signal);
    expect(errors.map((e) => e.code)).toEqual(['TELEMETRY_SOURCE_FAILED']);
    expect(got).toHaveLength(1);
    expect(got[0]!.powerW).toBe(10);
  });

  it('reports garbled output as TELEMETRY_MALFORMED and delivers nothing for that poll', async () => {
    const timer = fakeTimer(0);
    let n = 0;
    const exec: Exec = async () =>
      ++n === 1 ? 'garbage\n' : '1970/01/01 00:00:01.000, GPU-a, X, 10, 0, 0\n';
    const errors: string[] = [];
    const ac = new AbortController();
    const got: GpuSample[][] = [];
    await createNvidiaSmiCollector({
      exec,
      timer,
      fields: FIELDS,
      onError: (e) => errors.push(e.code),
    }).run((b) => {
      got.push(b);
      ac.abort();
    }, ac.signal);
    expect(errors).toEqual(['TELEMETRY_MALFORMED']);
    expect(got).toHaveLength(1);
  });
});

describe('the nvidia-smi collector in stream mode', () => {
  it('runs nvidia-smi once with --loop-ms and groups lines with equal timestamps into batches', async () => {
    const lines = [
      '2026/07/14 08:12:38.000, GPU-a, H, 69.85, 0, 0',
      '2026/07/14 08:12:38.000, GPU-b, H, 70.10, 0, 0',
      '',
      'not, a, valid, row',
      '2026/07/14 08:12:39.000, GPU-a, H, 631.95, 100, 19818',
      '2026/07/14 08:12:39.000, GPU-b, H, 630.00, 100, 19818',
    ];
    let seenArgs: readonly string[] = [];
    const spawnLines: SpawnLines = (_f, args) => {
      seenArgs = args;
      return (async function* () {
        yield* lines;
      })();
    };
    const errors: string[] = [];
    const batches: GpuSample[][] = [];
    const ac = new AbortController();
    await createNvidiaSmiCollector({
      mode: 'stream',
      spawnLines,
      fields: FIELDS,
      periodMs: 1000,
      timer: fakeTimer(0),
      onError: (e) => {
        errors.push(e.code);
        if (e.code === 'TELEMETRY_SOURCE_FAILED') ac.abort();
      },
    }).run((b) => batches.push(b), ac.signal);
    expect(seenArgs).toContain('--loop-ms=1000');
    expect(batches.map((b) => b.map((s) => `${s.uuid}@${s.powerW}`))).toEqual([
      ['GPU-a@69.85', 'GPU-b@70.1'],
      ['GPU-a@631.95', 'GPU-b@630'],
    ]);
    // The bad row, then nvidia-smi ending (it only exits on failure in loop mode).
    expect(errors).toEqual(['TELEMETRY_MALFORMED', 'TELEMETRY_SOURCE_FAILED']);
  });

  it('restarts nvidia-smi after it exits, reporting each exit', async () => {
    let starts = 0;
    const spawnLines: SpawnLines = () => {
      starts++;
      return (async function* () {
        yield `2026/07/14 08:12:${String(30 + starts).padStart(2, '0')}.000, GPU-a, H, 70, 0, 0`;
      })();
    };
    const timer = fakeTimer(0);
    const ac = new AbortController();
    const got: number[] = [];
    await createNvidiaSmiCollector({
      mode: 'stream',
      spawnLines,
      fields: FIELDS,
      timer,
      onError: () => {},
    }).run((b) => {
      got.push(b[0]!.t);
      if (got.length === 3) ac.abort();
    }, ac.signal);
    expect(starts).toBe(3);
    expect(got).toEqual([31, 32, 33].map((s) => Date.UTC(2026, 6, 14, 8, 12, s)));
    expect(timer.sleeps).toEqual([1000, 1000]);
  });

  it('surfaces a binary that cannot start as TELEMETRY_SOURCE_FAILED (real spawn)', async () => {
    const { defaultSpawnLines } = await import('../../nodes/collectors/nvidia-smi.js');
    const ac = new AbortController();
    const errors: string[] = [];
    await createNvidiaSmiCollector({
      mode: 'stream',
      binary: '/nonexistent/nvidia-smi',
      spawnLines: defaultSpawnLines,
      fields: FIELDS,
      timer: fakeTimer(0),
      onError: (e) => {
        errors.push(e.code);
        ac.abort();
      },
    }).run(() => {}, ac.signal);
    expect(errors).toEqual(['TELEMETRY_SOURCE_FAILED']);
  });
});

describe('the default exec', () => {
  it('runs the command without a shell and with TZ=UTC, so nvidia-smi timestamps are UTC', async () => {
    const { defaultExec } = await import('../../nodes/collectors/nvidia-smi.js');
    const out = await defaultExec(
      process.execPath,
      ['-e', 'process.stdout.write(process.env.TZ)'],
      new AbortController().signal,
    );
    expect(out).toBe('UTC');
  });
});
