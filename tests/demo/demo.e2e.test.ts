import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, startVpause } from '../helpers/proc.js';

/**
 * `npm start` runs `vpause demo`: within two minutes it prints a compliant verdict for the
 * honest lab and a violation for the cheating one, the dashboard answers at the printed address,
 * Ctrl-C stops it cleanly, and a second start resumes from the same data directory.
 */
describe('vpause demo (npm start)', () => {
  const data = join(mkdtempSync(join(tmpdir(), 'vpause-demo-')), 'demo');
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('prints compliant for lab A and violation for lab B within two minutes, then stops on SIGINT', async () => {
    const p = startVpause(['demo', '--data', data]);
    procs.push(p);
    const verifier = (await p.waitFor(/verifier\s+(http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
    await p.waitFor(
      /lab-b\.example pause-1: VIOLATION \([1-9]\d* reports[^\n]*energy-unexplained/,
      120_000,
    );
    await p.waitFor(/lab-a\.example pause-1: COMPLIANT \([1-9]\d* reports/, 120_000);
    const dash = await fetch(`${verifier}/`);
    expect(dash.status).toBe(200);
    const labs = (await (await fetch(`${verifier}/v1/labs`)).json()) as unknown;
    expect(JSON.stringify(labs)).toContain('lab-b.example');
    p.child.kill('SIGINT');
    await p.waitFor(/stopped; state kept in/, 30_000);
    expect(await new Promise((r) => p.child.once('exit', r))).toBe(0);
  }, 240_000);

  it('resumes from the same data directory and declares a new pause', async () => {
    const p = startVpause(['demo', '--data', data]);
    procs.push(p);
    await p.waitFor(/lab-b\.example pause-2: VIOLATION \([1-9]\d* reports/, 150_000);
    p.child.kill('SIGINT');
    await p.waitFor(/stopped; state kept in/, 30_000);
  }, 240_000);
});
