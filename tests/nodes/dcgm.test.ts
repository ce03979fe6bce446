import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createDcgmCollector,
  DCGM_FIELDS,
  dcgmDeviceToSample,
  type FetchLike,
  formatDcgmMetrics,
  missingDcgmFields,
  parseDcgmCounterConfig,
  parseDcgmMetrics,
} from '../../nodes/collectors/dcgm.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { FILES, fakeTimer, fixture } from './fixtures.js';

const A30_0 = 'GPU-265c9814-6156-355b-e589-ff2064894f16';
const A30_1 = 'GPU-2d20791a-b4a6-ba59-97f1-e95b99fe5b49';

describe('the A30 MIG excerpt (issue 317): power and energy repeat per GPU instance', () => {
  const { devices, issues } = parseDcgmMetrics(fixture(FILES.a30Mig));

  it('folds the six instance series into one device per UUID', () => {
    expect(devices.map((d) => d.uuid)).toEqual([A30_0, A30_1]);
    expect(devices[0]!.migInstances).toEqual(['3', '4', '5', '6']);
    expect(devices[1]!.migInstances).toEqual(['3', '4']);
    expect(issues).toEqual([]);
  });

  it('keeps the largest repeated power and energy-counter reading (mJ since driver load)', () => {
    expect(devices[0]!.powerW).toBe(52.746);
    expect(devices[0]!.energyMJ).toBe(126272106318);
    expect(devices[1]!.powerW).toBe(56.127);
    expect(devices[1]!.energyMJ).toBe(134473486744);
  });

  it('reads tensor activity 0 on GPU 0 and none on GPU 1, model and Hostname labels', () => {
    expect(devices[0]!.tensorActive).toBe(0);
    expect(devices[1]!.tensorActive).toBeUndefined();
    expect(devices[0]!.model).toBe('NVIDIA A30');
    expect(devices[0]!.host).toBe('yg-data-k8s-gpu-a30-node-test-test0003.mt');
  });

  it('turns each device into one sample with the counter as energyMJ', () => {
    const s = devices.map((d) => dcgmDeviceToSample(d, 1000));
    expect(s).toHaveLength(2);
    expect(s[0]).toEqual({
      t: 1000,
      uuid: A30_0,
      model: 'NVIDIA A30',
      powerW: 52.746,
      energyMJ: 126272106318,
      tensorActive: 0,
      host: 'yg-data-k8s-gpu-a30-node-test-test0003.mt',
    });
  });
});

describe('the H100 MIG excerpt (issue 512) with Kubernetes labels', () => {
  const { devices } = parseDcgmMetrics(fixture(FILES.h100Mig));

  it('gives one GPU for three GPU instances, with graphics-engine activity 0', () => {
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      uuid: 'GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77',
      model: 'NVIDIA H100 80GB HBM3',
      host: 'gsrh100-074',
      driverVersion: '535.129.03',
      migInstances: ['7', '8', '9'],
      grEngineActive: 0,
    });
  });

  it('refuses to make a sample without a power reading (TELEMETRY_INCOMPLETE)', () => {
    expect(() => dcgmDeviceToSample(devices[0]!, 0)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_INCOMPLETE' }),
    );
  });

  it('reads the same host from the 2026 lower-case hostname label', () => {
    const lower = fixture(FILES.h100Mig).replaceAll('Hostname=', 'hostname=');
    expect(lower).not.toContain('Hostname=');
    expect(parseDcgmMetrics(lower).devices[0]!.host).toBe('gsrh100-074');
  });
});

describe('the V100 excerpt (issue 250) with HELP/TYPE comments', () => {
  const { devices } = parseDcgmMetrics(fixture(FILES.v100));

  it('finds the four V100s and their power limit and utilisation lines', () => {
    expect(devices.map((d) => d.gpuIndex).sort()).toEqual(['0', '1', '2', '3']);
    expect(new Set(devices.map((d) => d.model))).toEqual(new Set(['Tesla V100-SXM2-32GB']));
    expect(new Set(devices.map((d) => d.host))).toEqual(new Set(['r6i3n0']));
    const byIdx = new Map(devices.map((d) => [d.gpuIndex, d]));
    expect(byIdx.get('2')!.powerLimitW).toBe(300);
    expect(byIdx.get('3')!.powerLimitW).toBe(300);
    expect(byIdx.get('0')!.utilGpu).toBe(0);
    expect(byIdx.get('1')!.utilGpu).toBeUndefined();
  });

  it('still reads the last line when the text lacks a final newline', () => {
    const text = fixture(FILES.v100).trimEnd();
    const d0 = parseDcgmMetrics(text).devices.find((d) => d.gpuIndex === '0')!;
    expect(d0.utilGpu).toBe(0);
  });
});

describe('the DigitalOcean H100 excerpt (dcgm-exporter 3.3.8)', () => {
  it('reads the SM clock, model, host and driver-version label', () => {
    const { devices } = parseDcgmMetrics(fixture(FILES.h100Do));
    expect(devices).toEqual([
      {
        uuid: 'GPU-927d7444-b45a-7c49-8402-5e686e46a026',
        model: 'NVIDIA H100 80GB HBM3',
        host: '6d6d7dc3ce21',
        gpuIndex: '0',
        driverVersion: '535.183.01',
        migInstances: [],
        smClockMHz: 345,
      },
    ]);
  });
});

describe('the dcgm-exporter counter configuration files', () => {
  it.each([FILES.defaultCounters, FILES.dcpCounters])(
    '%s enables power, the mJ energy counter and tensor activity but not SM activity',
    (file) => {
      const cfg = parseDcgmCounterConfig(fixture(file));
      expect(cfg).toHaveLength(26);
      expect(cfg.find((e) => e.field === DCGM_FIELDS.energy)).toEqual({
        field: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
        type: 'counter',
        help: 'Total energy consumption since boot (in mJ).',
      });
      expect(cfg.find((e) => e.field === 'DCGM_FI_DEV_DEC_UTIL')?.type).toBe('gauge');
      expect(missingDcgmFields(cfg)).toEqual(['DCGM_FI_PROF_SM_ACTIVE']);
    },
  );
});

describe('MIG profiling metrics', () => {
  const line = (gi: string, prof: string, v: number) =>
    `DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-x",modelName="NVIDIA H100 80GB HBM3",GPU_I_PROFILE="${prof}",GPU_I_ID="${gi}"} ${v}`;

  it('weights per-instance tensor activity by compute slices (1g at 0.7 + 3g at 0.5 → 2.2/7)', () => {
    const text = [line('1', '1g.10gb', 0.7), line('2', '3g.40gb', 0.5)].join('\n');
    expect(parseDcgmMetrics(text).devices[0]!.tensorActive).toBeCloseTo(2.2 / 7, 12);
  });

  it('uses the capped sum for a model whose slice count is unknown', () => {
    const text = [line('1', '1g.10gb', 0.7), line('2', '3g.40gb', 0.5)]
      .join('\n')
      .replaceAll('NVIDIA H100 80GB HBM3', 'NVIDIA X999');
    expect(parseDcgmMetrics(text).devices[0]!.tensorActive).toBe(1);
  });

  it('drops a ratio above 1 (a DCGM blank) and lists it as an issue', () => {
    const r = parseDcgmMetrics(line('1', '1g.10gb', 9.2e18));
    expect(r.devices[0]!.tensorActive).toBeUndefined();
    expect(r.issues).toHaveLength(1);
  });
});

describe('when the text is not Prometheus text format', () => {
  it('throws TELEMETRY_MALFORMED', () => {
    expect(() => parseDcgmMetrics('DCGM_FI_DEV_POWER_USAGE{gpu=0} 1\n')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }),
    );
  });
});

describe('property: printing samples as dcgm-exporter text and parsing them back', () => {
  const hex = fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: 12, maxLength: 12 });
  const arbSample = (t: number): fc.Arbitrary<GpuSample> =>
    fc
      .record({
        id: hex.map((h) => `GPU-${h.join('')}`),
        model: fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
        powerW: fc.double({ min: 0, max: 5000, noNaN: true }).map((x) => x + 0),
        energyMJ: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), {
          nil: undefined,
        }),
        util: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        sm: fc.option(
          fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
          { nil: undefined },
        ),
        tensor: fc.option(
          fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
          {
            nil: undefined,
          },
        ),
        mem: fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: undefined }),
        host: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
      })
      .map((r) => {
        const s: GpuSample = { t, uuid: r.id, model: r.model, powerW: r.powerW };
        if (r.energyMJ !== undefined) s.energyMJ = r.energyMJ;
        if (r.util !== undefined) s.utilGpu = r.util / 100;
        if (r.sm !== undefined) s.smActive = r.sm;
        if (r.tensor !== undefined) s.tensorActive = r.tensor;
        if (r.mem !== undefined) s.memUsedMiB = r.mem;
        if (r.host !== undefined) s.host = r.host;
        return s;
      });

  it.each(['Hostname', 'hostname'] as const)(
    'returns the same samples (label escapes included) with the %s label',
    (hostLabel) => {
      fc.assert(
        fc.property(
          fc.uniqueArray(arbSample(5000), { maxLength: 6, selector: (s) => s.uuid }),
          (samples) => {
            const text = formatDcgmMetrics(samples, { hostLabel });
            const back = parseDcgmMetrics(text).devices.map((d) => dcgmDeviceToSample(d, 5000));
            const sorted = [...samples].sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
            expect(back).toEqual(sorted);
          },
        ),
      );
    },
  );
});

describe('the dcgm-exporter collector', () => {
  const okFetch =
    (text: string, seen: string[] = []): FetchLike =>
    async (url) => {
      seen.push(url);
      return { ok: true, status: 200, text: async () => text };
    };

  it('scrapes loopback every period and stamps each batch with the clock', async () => {
    const timer = fakeTimer(1_000_000);
    const seen: string[] = [];
    const ac = new AbortController();
    const batches: GpuSample[][] = [];
    await createDcgmCollector({
      fetch: okFetch(fixture(FILES.a30Mig), seen),
      timer,
      periodMs: 10_000,
    }).run((b) => {
      batches.push(b);
      if (batches.length === 2) ac.abort();
    }, ac.signal);
    expect(seen).toEqual(['http://127.0.0.1:9400/metrics', 'http://127.0.0.1:9400/metrics']);
    expect(batches.map((b) => b.map((s) => [s.t, s.uuid]))).toEqual([
      [
        [1_000_000, A30_0],
        [1_000_000, A30_1],
      ],
      [
        [1_010_000, A30_0],
        [1_010_000, A30_1],
      ],
    ]);
  });

  it('reports devices without power as TELEMETRY_INCOMPLETE and delivers no empty batch', async () => {
    const ac = new AbortController();
    const errors: string[] = [];
    const batches: GpuSample[][] = [];
    const timer = fakeTimer(0);
    const run = createDcgmCollector({
      fetch: okFetch(fixture(FILES.v100)),
      timer,
      onError: (e) => {
        errors.push(e.code);
        if (errors.length >= 4) ac.abort();
      },
    }).run((b) => batches.push(b), ac.signal);
    await run;
    expect(errors.slice(0, 4)).toEqual(Array(4).fill('TELEMETRY_INCOMPLETE'));
    expect(batches).toEqual([]);
  });

  it('reports an HTTP 500 as TELEMETRY_SOURCE_FAILED', async () => {
    const ac = new AbortController();
    const errors: string[] = [];
    await createDcgmCollector({
      fetch: async () => ({ ok: false, status: 500, text: async () => '' }),
      timer: fakeTimer(0),
      onError: (e) => {
        errors.push(e.code);
        ac.abort();
      },
    }).run(() => {}, ac.signal);
    expect(errors).toEqual(['TELEMETRY_SOURCE_FAILED']);
  });

  it('refuses a non-loopback URL with CONFIG_INVALID unless allowRemote is set', () => {
    expect(() => createDcgmCollector({ url: 'http://10.0.0.5:9400/metrics' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() =>
      createDcgmCollector({ url: 'http://10.0.0.5:9400/metrics', allowRemote: true }),
    ).not.toThrow();
    expect(() => createDcgmCollector({ url: 'http://[::1]:9400/metrics' })).not.toThrow();
  });
});
