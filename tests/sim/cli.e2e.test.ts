/**
 * `vpause sim` end to end, as a real process under the CLI's tsx loader: worker threads load
 * the TypeScript sources, the run writes its outputs, a second invocation resumes (nothing left
 * to run) to the same bytes, and a bad scenario is refused with one line and exit status 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startVpause, VPAUSE_BIN } from '../helpers/proc.js';
import { smallScenarioObject } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vpause-sim-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function vpause(args: string[]) {
  const r = spawnSync(process.execPath, [VPAUSE_BIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('vpause sim run', () => {
  const file = join(root, 'stolen.yaml');
  writeFileSync(
    file,
    stringify(
      smallScenarioObject({
        hours: 2,
        runs: 3,
        strategy: { strategy: 'stolen-key', params: { fromHours: 0.5 } },
      }),
    ),
  );
  const out = join(root, 'out');

  it('runs on two worker threads, prints the metrics and writes the outputs', () => {
    const r = vpause(['sim', 'run', file, '--out', out, '--workers', '2']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/stolen-key \(stolen-key\): detection 1\.000 \[0\.4\d\d, 1\.000\]/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.points[0].metrics.groups[0].runs).toBe(3);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<svg[\s\S]*stolen-key/);
  }, 120_000);

  it('run again, resumes with nothing left to do and rewrites the same results.json', () => {
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    const r = vpause(['sim', 'run', file, '--out', out, '--workers', '0']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
    expect(readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  }, 60_000);

  it('refuses an invalid scenario with one line on stderr and exit status 1', () => {
    const bad = join(root, 'bad.yaml');
    writeFileSync(bad, 'name: x\nlabs: []\n');
    const r = vpause(['sim', 'run', bad, '--out', join(root, 'bad-out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vpause: bad\.yaml: labs: .* \(SCENARIO_INVALID\)\n$/);
  }, 60_000);
});

describe('vpause sim run, interrupted with SIGINT', () => {
  it('stops with status 130 and a hint, keeps the finished runs, and the same command finishes', async () => {
    const file = join(root, 'honest.yaml');
    writeFileSync(file, stringify(smallScenarioObject({ hours: 2, runs: 400 })));
    const out = join(root, 'int');
    const runs = join(out, 'runs.jsonl');
    const p = startVpause(['sim', 'run', file, '--out', out, '--workers', '0']);
    const lines = () =>
      existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0;
    for (let i = 0; i < 600 && lines() < 2; i++) await new Promise((r) => setTimeout(r, 100));
    const code = await p.kill('SIGINT');
    expect(code).toBe(130);
    expect(p.stderr()).toMatch(/interrupted after \d+\/400 runs; run the same command to resume/);
    const kept = lines();
    expect(kept).toBeGreaterThanOrEqual(2);
    expect(kept).toBeLessThan(400);
    const r = vpause(['sim', 'run', file, '--out', out, '--workers', '0', '--runs', '5']);
    expect(r.code).toBe(0);
    expect(lines()).toBe(Math.max(kept, 5));
  }, 120_000);
});
