import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GpuSample } from '../../nodes/collectors/sample.js';
import { createCollectorFromConfig } from '../../nodes/daemon/collector.js';
import { loadNodeConfig, nodeConfigSchema } from '../../nodes/daemon/config.js';
import { parseYamlWith } from '../../nodes/daemon/util.js';
import { loadMeterConfig } from '../../nodes/meter/config.js';
import { FILES, fakeTimer, TELEMETRY_DIR } from '../nodes/fixtures.js';
import { tmp } from './fixtures.js';

const EXAMPLES = join(process.cwd(), 'examples');

function write(text: string): string {
  const p = join(tmp('vpause-cfg-'), 'node.yaml');
  writeFileSync(p, text);
  return p;
}

const BASE = `
identity: { lab: lab-a.example, facility: f1, cluster: c1, node: n1 }
key: keys/n1.key
log: { url: "http://127.0.0.1:8080", key: log.vkey }
collector: { kind: synthetic, seed: 1, workload: idle }
outbox: state/outbox.db
`;

describe('node.yaml', () => {
  it('accepts examples/node.yaml and resolves its paths against the file', async () => {
    const c = await loadNodeConfig(join(EXAMPLES, 'node.yaml'));
    expect(c.identity).toEqual({
      lab: 'lab-a.example',
      facility: 'f1',
      cluster: 'c1',
      node: 'c1-n001',
    });
    expect(c.key).toBe(join(EXAMPLES, 'c1-n001.key'));
    expect(c.outbox).toBe(join(EXAMPLES, 'state/c1-n001-outbox.db'));
    expect(c.audit?.listen).toEqual({ host: '127.0.0.1', port: 9500 });
    expect(c.collector).toMatchObject({ kind: 'nvidia-smi', mode: 'poll', periodMs: 1000 });
  });

  it('fills in the defaults: 300 s interval, 2 s settle, 400 days retention', async () => {
    const c = await loadNodeConfig(write(BASE));
    expect(c).toMatchObject({ intervalSeconds: 300, settleMs: 2000, retentionDays: 400 });
    expect(c.audit).toBeUndefined();
  });

  it('keeps a vkey given inline and resolves a vkey file name', async () => {
    const vkey = 'log.example/log+01234567+AaWN1hJGwGaOm2Ky3KfYUX+hq6Sx71S85W0z9hv9Pwyd';
    const c = await loadNodeConfig(write(BASE.replace('key: log.vkey', `key: "${vkey}"`)));
    expect(c.log.key).toBe(vkey);
  });

  describe('when the file is wrong', () => {
    it.each([
      ['an interval that does not divide a day', `${BASE}intervalSeconds: 7\n`, /intervalSeconds/],
      ['an unknown collector', BASE.replace('kind: synthetic', 'kind: magic'), /collector/],
      ['an unknown key', `${BASE}colector: {}\n`, /colector/],
      ['a bad lab name', BASE.replace('lab-a.example', 'Lab A'), /identity\.lab/],
      ['a bad listen address', `${BASE}audit: { listen: nowhere }\n`, /audit\.listen/],
      ['duplicate keys', `${BASE}outbox: again.db\n`, /not valid YAML/],
    ])('refuses %s with DAEMON_CONFIG_INVALID naming the field', async (_, text, re) => {
      const p = write(text);
      await expect(loadNodeConfig(p)).rejects.toMatchObject({
        code: 'DAEMON_CONFIG_INVALID',
        message: expect.stringMatching(re),
      });
    });

    it('names a missing file', async () => {
      await expect(loadNodeConfig('/nonexistent/node.yaml')).rejects.toMatchObject({
        code: 'DAEMON_CONFIG_INVALID',
        message: expect.stringContaining('/nonexistent/node.yaml'),
      });
    });
  });

  it('parses every collector kind the docs name', () => {
    for (const collector of [
      '{ kind: nvidia-smi, mode: stream }',
      '{ kind: dcgm, url: "http://127.0.0.1:9400/metrics" }',
      '{ kind: replay, format: prometheus, file: [a.prom, b.prom] }',
      '{ kind: synthetic, seed: x, workload: bursty, model: B200, gpus: 4 }',
    ]) {
      const text = BASE.replace('{ kind: synthetic, seed: 1, workload: idle }', collector);
      expect(() => parseYamlWith(text, nodeConfigSchema, 'node.yaml')).not.toThrow();
    }
  });
});

describe('meter.yaml', () => {
  it('accepts examples/meter.yaml', async () => {
    const c = await loadMeterConfig(join(EXAMPLES, 'meter.yaml'));
    expect(c.identity).toEqual({ facility: 'f1', meter: 'm1' });
    expect(c.source).toMatchObject({ kind: 'http', counterField: 'counterJ', scale: 1 });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9600 });
  });
});

describe('collectors built from node.yaml', () => {
  const run = async (c: Parameters<typeof createCollectorFromConfig>[0], frames: number) => {
    const timer = fakeTimer(Date.UTC(2026, 10, 27));
    const got: GpuSample[][] = [];
    const ac = new AbortController();
    const col = await createCollectorFromConfig(c, { timer, onError: () => {} });
    await col.run((b) => {
      got.push(b);
      if (got.length === frames) ac.abort();
    }, ac.signal);
    return got;
  };

  it('replays dcgm-exporter scrapes (one file each) stamped from the clock, step apart', async () => {
    const a30 = join(TELEMETRY_DIR, FILES.a30Mig);
    const c = nodeConfigSchema.shape.collector.parse({
      kind: 'replay',
      format: 'prometheus',
      file: [a30, join(TELEMETRY_DIR, FILES.v100), a30],
      stepMs: 15_000,
    });
    const got = await run(c, 3);
    // The V100 excerpt has no power reading: its scrape is an empty frame.
    expect(got.map((b) => b.length)).toEqual([2, 0, 2]);
    expect(got[2]![0]!.t - got[0]![0]!.t).toBe(30_000);
    expect(got[0]![0]!.t).toBe(Date.UTC(2026, 10, 27));
    expect(got[0]!.map((x) => x.model)).toEqual(['NVIDIA A30', 'NVIDIA A30']);
  });

  it('replays the DERIVED nvidia-smi CSV in time order and loops', async () => {
    const c = nodeConfigSchema.shape.collector.parse({
      kind: 'replay',
      format: 'nvidia-smi-csv',
      file: join(TELEMETRY_DIR, FILES.derivedCsv),
    });
    const got = await run(c, 5);
    expect(got.map((b) => b[0]!.powerW)).toEqual([77.71, 627.4, 69.85, 631.95, 77.71]);
  });

  it('refuses a replay file that cannot be read (DAEMON_CONFIG_INVALID)', async () => {
    const c = nodeConfigSchema.shape.collector.parse({
      kind: 'replay',
      format: 'nvidia-smi-csv',
      file: '/nonexistent.csv',
    });
    await expect(run(c, 1)).rejects.toMatchObject({ code: 'DAEMON_CONFIG_INVALID' });
  });
});
