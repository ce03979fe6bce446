/**
 * The dashboard's pure parts: the escaping templates, the timeline series (pro-rata spreading,
 * meter coverage, the window), the Prometheus text reader, and the simulator report listing.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_TYPE, type PausePayload } from '../../protocol/src/schemas.js';
import { si } from '../../src/dashboard/charts.js';
import { escapeHtml, html, path, trusted } from '../../src/dashboard/html.js';
import { DashboardSources, metricSamples } from '../../src/dashboard/sources.js';
import { labTimeline } from '../../src/dashboard/timeline.js';
import { LogIndex, type StatementRecord } from '../../src/verifier/log-index.js';

describe('html``', () => {
  it('escapes the five HTML-significant characters of every interpolated value', () => {
    expect(html`<p title="${`"'<>&`}">${'<b>&'}</p>`.value).toBe(
      '<p title="&quot;&#39;&lt;&gt;&amp;">&lt;b&gt;&amp;</p>',
    );
    expect(escapeHtml('a&amp;b')).toBe('a&amp;amp;b');
  });

  it('inserts fragments it built (or trusted markup) as they are, without escaping them twice', () => {
    const inner = html`<i>${'<x>'}</i>`;
    expect(html`<p>${inner}${trusted('<svg></svg>')}</p>`.value).toBe(
      '<p><i>&lt;x&gt;</i><svg></svg></p>',
    );
  });

  it('joins lists, renders numbers, and renders nothing for null, undefined and booleans', () => {
    expect(html`${[1, '<', html`<br>`, [2, null]]}|${null}${undefined}${false}${true}`.value).toBe(
      '1&lt;<br>2|',
    );
  });

  it('builds paths from percent-encoded segments', () => {
    expect(path('labs', 'a/b?c', 'pauses', 'p 1')).toBe('/labs/a%2Fb%3Fc/pauses/p%201');
  });
});

describe('si()', () => {
  it('writes values with an SI prefix and three significant digits', () => {
    expect(si(45_470_000, 'J')).toBe('45.5 MJ');
    expect(si(1.157e17, 'FLOP')).toBe('116 PFLOP');
    expect(si(0, 'J')).toBe('0 J');
    expect(si(-2500, 'J')).toBe('-2.5 kJ');
  });
});

const T = Date.UTC(2026, 10, 27) / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const LAB = 'lab-a.example';
const PAUSE: PausePayload = {
  v: 1,
  lab: LAB,
  id: 'pause-1',
  start: iso(T),
  end: null,
  scope: ['*'],
  limits: { maxFlopPerDay: 8.64e6, allowedWorkloads: ['idle'] },
  reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
};

let nextIndex = 0;
function record(payloadType: string, payload: object, hash = `h${nextIndex}`): StatementRecord {
  return {
    index: nextIndex++,
    leafHash: '00'.repeat(32),
    payloadType: payloadType as StatementRecord['payloadType'],
    payload: payload as StatementRecord['payload'],
    payloadHash: hash,
    signatures: [],
    valid: [],
    invalid: [],
  };
}
const usage = (node: string, s: number, e: number, energyJ: number, flop: number, hash?: string) =>
  record(
    PAYLOAD_TYPE.usage,
    { lab: LAB, facility: 'f1', cluster: 'c1', node, start: iso(s), end: iso(e), energyJ, flop },
    hash,
  );
const meter = (m: string, s: number, e: number, energyJ: number) =>
  record(PAYLOAD_TYPE.meter, { facility: 'f1', meter: m, start: iso(s), end: iso(e), energyJ });

describe('labTimeline()', () => {
  it('spreads a report over the intervals it overlaps, pro rata, and sums nodes', () => {
    const index = new LogIndex();
    index.file(usage('n1', T + 150, T + 450, 600, 1000));
    index.file(usage('n2', T, T + 300, 70, 5));
    const t = labTimeline({ lab: LAB, index, pause: PAUSE, now: T + 900 });
    expect(t.starts).toEqual([T, T + 300, T + 600]);
    expect(t.facilities.map((f) => f.facility)).toEqual(['f1']);
    expect(t.facilities[0]!.gpuJ).toEqual([370, 300, null]);
    expect(t.flop).toEqual([505, 500, null]);
    expect(t.flopLimitPerInterval).toBe(30_000); // 8.64e6 per day × 300 s / 86,400 s
    expect(t.authenticated).toBe(false);
  });

  it('counts a statement logged twice (same payload) once', () => {
    const index = new LogIndex();
    index.file(usage('n1', T, T + 300, 100, 0, 'same'));
    index.file(usage('n1', T, T + 300, 100, 0, 'same'));
    expect(
      labTimeline({ lab: LAB, index, pause: PAUSE, now: T + 300 }).facilities[0]!.gpuJ,
    ).toEqual([100]);
  });

  it('gives meter energy only for intervals every feed covers entirely', () => {
    const index = new LogIndex();
    index.file(usage('n1', T, T + 900, 900, 0));
    index.file(meter('m1', T, T + 600, 1200)); // covers intervals 0 and 1
    index.file(meter('m2', T, T + 300, 50)); // covers interval 0 only
    index.file(meter('m2', T + 300, T + 450, 10)); // half of interval 1
    const f = labTimeline({ lab: LAB, index, pause: PAUSE, now: T + 900 }).facilities[0]!;
    expect(f.meters).toEqual(['m1', 'm2']);
    expect(f.meterJ).toEqual([650, null, null]);
    expect(f.totals).toEqual({ intervals: 1, meterJ: 650, gpuJ: 300 });
  });

  it('plots only intervals that have ended, the latest ones when there are too many', () => {
    const index = new LogIndex();
    const t = labTimeline({
      lab: LAB,
      index,
      pause: PAUSE,
      now: T + 5 * 300 + 299,
      maxIntervals: 2,
    });
    expect(t.starts).toEqual([T + 3 * 300, T + 4 * 300]);
    expect(t.omitted).toBe(3);
    expect(labTimeline({ lab: LAB, index, pause: PAUSE, now: T - 10 }).starts).toEqual([]);
    const ended = { ...PAUSE, end: iso(T + 600) };
    expect(labTimeline({ lab: LAB, index, pause: ended, now: T + 9000 }).starts).toEqual([
      T,
      T + 300,
    ]);
  });

  it('has no facility for a lab with no statement', () => {
    const t = labTimeline({
      lab: 'lab-z.example',
      index: new LogIndex(),
      pause: PAUSE,
      now: T + 600,
    });
    expect(t.facilities).toEqual([]);
    expect(t.flop).toEqual([null, null]);
  });
});

describe('metricSamples()', () => {
  const text = [
    '# HELP vpause_log_witness_up 1 when the last add-checkpoint to the witness succeeded',
    '# TYPE vpause_log_witness_up gauge',
    'vpause_log_witness_up{witness="w1"} 1',
    'vpause_log_witness_up{witness="w \\"2\\"",zone="a,b"} 0',
    'vpause_log_witness_up_extra{witness="w9"} 1',
    'vpause_log_witnessed_size 42 1700000000000',
    'vpause_log_witness_up{broken 1',
  ].join('\n');

  it('reads the samples of one metric with their labels (escaped quotes, commas in values)', () => {
    expect(metricSamples(text, 'vpause_log_witness_up')).toEqual([
      { labels: { witness: 'w1' }, value: 1 },
      { labels: { witness: 'w "2"', zone: 'a,b' }, value: 0 },
    ]);
  });

  it('reads a sample without labels, ignoring its timestamp', () => {
    expect(metricSamples(text, 'vpause_log_witnessed_size')).toEqual([{ labels: {}, value: 42 }]);
  });
});

describe('simulator reports', () => {
  it('lists every report.html below the folder, and serves no other file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-dash-reports-'));
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'report.html'), 'x');
    writeFileSync(join(dir, 'a', 'b', 'report.html'), 'y');
    writeFileSync(join(dir, 'a', 'results.csv'), 'z');
    const s = new DashboardSources({
      logUrl: 'http://log.invalid',
      witnessUrls: [],
      simReportsDir: dir,
    });
    expect((await s.simReports()).map((r) => r.path).sort()).toEqual([
      'a/b/report.html',
      'a/report.html',
    ]);
    expect(await s.simReportFile('a/b/report.html')).toBe(join(dir, 'a', 'b', 'report.html'));
    expect(await s.simReportFile('a/results.csv')).toBeUndefined();
    expect(await s.simReportFile('../a/report.html')).toBeUndefined();
  });
});
