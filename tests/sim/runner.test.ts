/**
 * The Monte Carlo runner: reproducible (byte-identical results.json for one scenario and seed,
 * whatever the worker count), resumable after an interruption, refusing to mix runs of another
 * scenario, and sweeping parameters into one point per value.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isVPauseError } from '../../src/core/errors.js';
import { simulate } from '../../src/sim/runner.js';
import { smallScenarioObject } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vpause-sim-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = (name: string) => join(root, name);

const text = stringify(
  smallScenarioObject({
    hours: 2,
    runs: 6,
    extraLabs: ['lab-y.example'],
    strategy: { strategy: 'dropped-reports', params: { probability: 0.3, nodes: 1 } },
  }),
);
const read = (d: string) => readFileSync(join(d, 'results.json'), 'utf8');

describe('the same scenario and seed', () => {
  it('give a byte-identical results.json in this thread and on two worker threads', async () => {
    const a = await simulate({ file: 's.yaml', text, out: dir('a'), workers: 0 });
    const b = await simulate({ file: 's.yaml', text, out: dir('b'), workers: 2 });
    expect(a.complete && b.complete).toBe(true);
    expect(read(dir('b'))).toBe(read(dir('a')));
    // and the results are not trivially equal: the strategy was detected in some runs
    expect(a.results!.points[0]!.metrics.groups[0]!.detection.k).toBeGreaterThan(0);
    expect(readdirSync(dir('a')).sort()).toEqual([
      'manifest.json',
      'plots',
      'report.html',
      'results.csv',
      'results.json',
      'runs.jsonl',
    ]);
  }, 120_000);

  it('another seed gives other results', async () => {
    await simulate({ file: 's.yaml', text, out: dir('c'), workers: 0, seed: 8 });
    expect(read(dir('c'))).not.toBe(read(dir('a')));
  }, 60_000);
});

describe('when a simulation is interrupted', () => {
  it('resumes from runs.jsonl, skipping the runs done, to the same results.json', async () => {
    const ac = new AbortController();
    const first = await simulate({
      file: 's.yaml',
      text,
      out: dir('r'),
      workers: 0,
      signal: ac.signal,
      onProgress: (done) => {
        if (done >= 3) ac.abort();
      },
    });
    expect(first).toMatchObject({ complete: false, done: 3, total: 6 });
    expect(readdirSync(dir('r'))).not.toContain('results.json');
    // A crash in the middle of writing a line leaves a torn line behind.
    appendFileSync(join(dir('r'), 'runs.jsonl'), '{"point":0,"run":4,"lab');
    const progress: number[] = [];
    const second = await simulate({
      file: 's.yaml',
      text,
      out: dir('r'),
      workers: 0,
      onProgress: (d) => progress.push(d),
    });
    expect(second.complete).toBe(true);
    expect(progress[0]).toBe(3);
    expect(read(dir('r'))).toBe(read(dir('a')));
  }, 120_000);

  it('refuses to resume into a directory holding runs of another seed (OUT_MISMATCH)', async () => {
    const e = await simulate({ file: 's.yaml', text, out: dir('a'), workers: 0, seed: 99 }).catch(
      (x) => x,
    );
    expect(isVPauseError(e, 'OUT_MISMATCH')).toBe(true);
  });
});

describe('a sweep', () => {
  it('runs one point per value; a meter hiding nothing is caught, one hiding everything is not', async () => {
    const t = stringify(
      smallScenarioObject({
        hours: 2,
        runs: 2,
        strategy: {
          strategy: 'meter-tamper',
          params: { mode: 'tamper', hideFraction: 0.5, fromHours: 0 },
        },
      }),
    );
    const r = await simulate({
      file: 's.yaml',
      text: t,
      out: dir('sweep'),
      workers: 0,
      sweep: [{ path: 'strategies.meter-tamper.params.hideFraction', values: [0, 1] }],
    });
    const pts = r.results!.points;
    expect(pts.map((p) => p.params)).toEqual([
      { 'strategies.meter-tamper.params.hideFraction': 0 },
      { 'strategies.meter-tamper.params.hideFraction': 1 },
    ]);
    expect(pts.map((p) => p.metrics.groups[0]!.detection.p)).toEqual([1, 0]);
    expect(readdirSync(join(dir('sweep'), 'plots'))).toContain('detection-vs-parameter.svg');
    const csv = readFileSync(join(dir('sweep'), 'results.csv'), 'utf8').split('\n');
    expect(csv[0]).toMatch(/^strategies\.meter-tamper\.params\.hideFraction,group,/);
    expect(csv.filter((l) => l.startsWith('1,meter-tamper,'))[0]).toMatch(
      /^1,meter-tamper,meter-tamper,lab-x\.example,2,0,/,
    );
  }, 60_000);
});
