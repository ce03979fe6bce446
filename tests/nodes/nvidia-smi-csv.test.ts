import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  captureHelpQueryGpu,
  captureQueryGpuTables,
  splitCapture,
} from '../../nodes/collectors/capture.js';
import {
  formatNvidiaSmiCsv,
  formatNvidiaSmiTimestamp,
  nvidiaSmiRowToSample,
  parseNvidiaSmiCsv,
  parseNvidiaSmiTimestamp,
} from '../../nodes/collectors/nvidia-smi-csv.js';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { FILES, fixture } from './fixtures.js';

const MASKED_UUID = 'GPU-00000000-0000-0000-0000-000000000000';

describe('the DERIVED query-gpu CSV (header and units)', () => {
  const table = parseNvidiaSmiCsv(fixture(FILES.derivedCsv));
  const samples = table.rows.map((r) => nvidiaSmiRowToSample(r));

  it('reads the header fields and units, with clocks.current.sm canonical', () => {
    expect(table.fields).toEqual([
      'timestamp',
      'name',
      'uuid',
      'pci.bus_id',
      'utilization.gpu',
      'memory.used',
      'power.draw',
      'power.draw.instant',
      'power.limit',
      'clocks.current.sm',
    ]);
    expect(table.units[6]).toBe('W');
    expect(table.units[4]).toBe('%');
  });

  it('gives the H100 idle 69.85 W / load 631.95 W and H200 idle 77.71 W / load 627.40 W readings', () => {
    expect(samples.map((s) => [s.model, s.powerW, s.utilGpu, s.memUsedMiB, s.smClockMHz])).toEqual([
      ['NVIDIA H100 80GB HBM3', 69.85, 0, 0, 345],
      ['NVIDIA H100 80GB HBM3', 631.95, 1, 19818, 1980],
      ['NVIDIA H200', 77.71, 0, 0, 345],
      ['NVIDIA H200', 627.4, 1, 32362, 1980],
    ]);
  });

  it('keeps power.draw.instant available in the row (625.68 W under H100 load)', () => {
    expect(table.rows[1]!['power.draw.instant']).toBe('625.68');
  });

  it('parses the timestamps as UTC milliseconds', () => {
    expect(samples[0]!.t).toBe(Date.UTC(2026, 6, 14, 8, 12, 38, 696));
    expect(samples[3]!.t).toBe(Date.UTC(2026, 6, 3, 22, 11, 9, 763));
    expect(samples[0]!.uuid).toBe(MASKED_UUID);
  });

  it('leaves energy and tensor activity absent (nvidia-smi has neither)', () => {
    for (const s of samples) {
      expect(s.energyMJ).toBeUndefined();
      expect(s.tensorActive).toBeUndefined();
    }
  });
});

describe.each([
  ['H100', FILES.h100Capture, 'NVIDIA H100 80GB HBM3', 69.85, 631.95, 19818],
  ['H200', FILES.h200Capture, 'NVIDIA H200', 77.71, 627.4, 32362],
])('the %s nvidia-smi capture', (_n, file, model, idleW, loadW, loadMem) => {
  const text = fixture(file);

  it('splits into banner sections, including idle and load query-gpu', () => {
    const sections = splitCapture(text);
    const titles = sections.map((s) => `${s.phase} :: ${s.title}`);
    expect(titles).toContain('idle :: query-gpu (csv, what the exporter parses)');
    expect(titles).toContain('load :: query-gpu (csv, what the exporter parses)');
    expect(sections.find((s) => s.title === 'version')?.body).toContain(
      'NVIDIA-SMI version  : 590.48.01',
    );
  });

  it('parses the full --query-gpu CSV (all columns, [N/A] and deprecated values) for both phases', () => {
    const tables = captureQueryGpuTables(text);
    expect(tables.map((t) => t.phase)).toEqual(['idle', 'load']);
    for (const { table } of tables) {
      expect(table.fields.length).toBeGreaterThan(200);
      expect(table.rows).toHaveLength(1);
      const row = table.rows[0]!;
      expect(row['name']).toBe(model);
      expect(row['driver_version']).toBe('590.48.01');
      expect(row['vgpu_driver_capability.heterogenous_multivGPU']).toBeUndefined(); // [N/A]
      expect(row['display_mode']).toBeUndefined(); // [Requested functionality has been deprecated]
      expect(row['power.limit']).toBe('700.00');
    }
    const [idle, load] = tables.map((t) => nvidiaSmiRowToSample(t.table.rows[0]!));
    expect(idle!.powerW).toBe(idleW);
    expect(load!.powerW).toBe(loadW);
    expect(load!.utilGpu).toBe(1);
    expect(load!.memUsedMiB).toBe(loadMem);
    expect(load!.smClockMHz).toBe(1980);
    expect(load!.t).toBeGreaterThan(idle!.t);
  });

  it('lists power.draw.instant and the clocks.sm alias in --help-query-gpu', async () => {
    const { parseHelpQueryGpu, selectQueryFields } = await import(
      '../../nodes/collectors/nvidia-smi.js'
    );
    const fields = parseHelpQueryGpu(captureHelpQueryGpu(text)!);
    expect(fields.has('power.draw.instant')).toBe(true);
    expect(fields.has('clocks.sm')).toBe(true);
    expect(fields.has('energy')).toBe(false);
    expect(selectQueryFields(fields)).toEqual([
      'timestamp',
      'uuid',
      'name',
      'power.draw',
      'utilization.gpu',
      'memory.used',
      'power.draw.instant',
      'clocks.sm',
    ]);
  });
});

describe('when the CSV is malformed', () => {
  const fields = ['timestamp', 'uuid', 'name', 'power.draw'];

  it('rejects a row with a missing column as TELEMETRY_MALFORMED', () => {
    expect(() =>
      parseNvidiaSmiCsv('2026/07/14 08:12:38.696, GPU-1, NVIDIA H100\n', { fields }),
    ).toThrow(expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }));
  });

  it('rejects a value with the wrong unit as TELEMETRY_MALFORMED', () => {
    expect(() =>
      parseNvidiaSmiCsv(
        'timestamp, uuid, name, power.draw [W]\n2026/07/14 08:12:38.696, GPU-1, X, 69.85 MHz\n',
      ),
    ).toThrow(expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }));
  });

  it('rejects a non-numeric power as TELEMETRY_MALFORMED', () => {
    const t = parseNvidiaSmiCsv('2026/07/14 08:12:38.696, GPU-1, X, lots\n', { fields });
    expect(() => nvidiaSmiRowToSample(t.rows[0]!)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }),
    );
  });

  it('rejects a row whose power is [Not Supported] as TELEMETRY_INCOMPLETE', () => {
    const t = parseNvidiaSmiCsv('2026/07/14 08:12:38.696, GPU-1, X, [Not Supported]\n', { fields });
    expect(t.rows[0]!['power.draw']).toBeUndefined();
    expect(() => nvidiaSmiRowToSample(t.rows[0]!)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_INCOMPLETE' }),
    );
  });

  it('rejects a text whose first line is data, not a header, when no fields are given', () => {
    expect(() => parseNvidiaSmiCsv('2026/07/14 08:12:38.696, GPU-1, X, 1\n')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }),
    );
  });

  it('rejects an impossible timestamp (February 30th)', () => {
    expect(() => parseNvidiaSmiTimestamp('2026/02/30 00:00:00.000')).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_MALFORMED' }),
    );
  });

  it('applies a non-UTC offset (CET, +60 min) by subtracting it', () => {
    expect(parseNvidiaSmiTimestamp('2026/07/14 09:00:00.000', 60)).toBe(Date.UTC(2026, 6, 14, 8));
  });
});

describe('property: printing samples as nvidia-smi CSV and parsing them back', () => {
  const arbSample: fc.Arbitrary<GpuSample> = fc
    .record({
      t: fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }),
      uuid: fc
        .array(fc.constantFrom(...'0123456789abcdef'), { minLength: 32, maxLength: 32 })
        .map((h) => {
          const s = h.join('');
          return `GPU-${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
        }),
      model: fc
        .array(fc.stringMatching(/^[A-Za-z0-9-]{1,8}$/), { minLength: 1, maxLength: 4 })
        .map((w) => w.join(' ')),
      centiW: fc.integer({ min: 0, max: 150_000 }),
      util: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      mem: fc.option(fc.integer({ min: 0, max: 300_000 }), { nil: undefined }),
      clk: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
    })
    .map(({ t, uuid, model, centiW, util, mem, clk }) => {
      const s: GpuSample = { t, uuid, model, powerW: centiW / 100 };
      if (util !== undefined) s.utilGpu = util / 100;
      if (mem !== undefined) s.memUsedMiB = mem;
      if (clk !== undefined) s.smClockMHz = clk;
      return s;
    });
  const fields = [
    'timestamp',
    'uuid',
    'name',
    'power.draw',
    'utilization.gpu',
    'memory.used',
    'clocks.sm',
  ];

  it.each([
    ['csv (header, units)', true, true],
    ['csv,nounits', true, false],
    ['csv,noheader', false, true],
    ['csv,noheader,nounits', false, false],
  ])('returns the same samples for --format=%s', (_f, header, units) => {
    fc.assert(
      fc.property(fc.array(arbSample, { maxLength: 8 }), (samples) => {
        const text = formatNvidiaSmiCsv(samples, { fields, header, units });
        const table = parseNvidiaSmiCsv(text, header ? {} : { fields });
        expect(table.rows.map((r) => nvidiaSmiRowToSample(r))).toEqual(samples);
      }),
    );
  });

  it('round-trips timestamps through the nvidia-smi format', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (t) => {
        expect(parseNvidiaSmiTimestamp(formatNvidiaSmiTimestamp(t))).toBe(t);
      }),
    );
  });
});
