/**
 * Planted-violation scenarios (issue 6, "Done when"): each builds a lab's behaviour with a known
 * ground truth against a real in-process log and witnesses with an injected clock, follows the
 * log as a verifier does, and checks the verdict and the exact set of finding codes. A wrong
 * check shows up either as a missing code (a violation slipping through) or as an extra one (a
 * false accusation of an honest part of the scenario).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { payloadHash } from '../../protocol/src/index.js';
import { jcsBytes } from '../../protocol/src/jcs.js';
import { formatTime } from '../../protocol/src/time.js';
import { testKey } from '../helpers/world.js';
import { codes, IDLE_J, INTERVAL, MAX_DELAY, T0, TRAIN_J, World } from './world.js';

const N = 12; // one hour of five-minute intervals

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('an honest lab', () => {
  it('is compliant, with no findings and a stated detection bound', async () => {
    w = await World.start();
    await w.honest(0, N);
    const e = w.evaluate(N);
    expect(e.verdict.verdict).toBe('compliant');
    expect(codes(e)).toEqual([]);
    expect(e.verdict.summary).toMatchObject({
      nodes: 3,
      intervals: N,
      expectedReports: 36,
      reports: 36,
    });
    expect(e.verdict.detection?.minHiddenFlop).toBeGreaterThan(0);
    expect(e.verdict.checkpoint?.quorum).toBe(true);
  });
});

describe('a node silent for one interval', () => {
  it('gives missing-report for exactly that node and interval', async () => {
    w = await World.start();
    await w.honest(0, 5);
    await w.interval(5, { skip: ['n2'], hiddenGpuJ: IDLE_J });
    await w.honest(6, N);
    const e = w.evaluate(N);
    expect(e.verdict.verdict).toBe('violation');
    expect(codes(e)).toEqual(['missing-report']);
    const f = e.verdict.findings[0]!;
    expect(f.subject).toMatchObject({ node: 'n2' });
    expect(f.data).toMatchObject({
      count: 1,
      intervals: [{ start: formatTime(T0 + 5 * INTERVAL), end: formatTime(T0 + 6 * INTERVAL) }],
    });
  });

  it('is not yet missing while its deadline has not passed', async () => {
    w = await World.start();
    await w.honest(0, 5);
    await w.interval(5, { skip: ['n2'], hiddenGpuJ: IDLE_J });
    // As of one minute after interval 5 ends: the report is late only after maxDelaySeconds.
    const e = w.evaluate(6, T0 + 6 * INTERVAL + 60);
    expect(codes(e)).toEqual([]);
    expect(e.verdict.summary.pendingReports).toBeGreaterThan(0);
  });
});

describe('a skipped seq', () => {
  it('gives seq-gap (and nothing else: every interval is reported)', async () => {
    w = await World.start();
    await w.honest(0, 5);
    w.nodes.get('n2')!.seq += 1; // seq 5 is never logged; interval 5 is reported as seq 6
    await w.honest(5, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['seq-gap']);
    expect(e.verdict.findings[0]!.data).toMatchObject({ missingFrom: 5, missingTo: 5 });
  });
});

describe('a rewritten report', () => {
  it('gives chain-break at the report that chains from the rewritten version', async () => {
    w = await World.start();
    await w.honest(0, 6);
    // n2 rewrites its logged report 5 (energy lowered) and chains report 6 from the rewrite.
    const n2 = w.nodes.get('n2')!;
    const rewritten = w.usage(
      'n2',
      5,
      { seq: 5, prev: 'a'.repeat(64), energyJ: 1 },
      { keep: true },
    );
    n2.prev = payloadHash(jcsBytes(rewritten.payload));
    await w.honest(6, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['chain-break']);
    const f = e.verdict.findings[0]!;
    expect(f.evidence.map((x) => x.role)).toEqual(['previous', 'report']);
  });
});

describe('a report logged after the declared delay', () => {
  it('gives late-report, proven by witness timestamps around the deadline', async () => {
    w = await World.start();
    await w.honest(0, 3);
    const late = w.usage('n2', 3); // made on time, held back
    await w.interval(3, { skip: ['n2'], hiddenGpuJ: IDLE_J });
    await w.honest(4, 7); // the checkpoint of interval 6 is cosigned at T0 + 2160 without it
    w.now = T0 + 7 * INTERVAL + 70; // 2170 s: after the deadline 4 × 300 + 900 = 2100 s
    await w.submit([late.entry]);
    await w.honest(7, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['late-report']);
    const f = e.verdict.findings[0]!;
    expect(f.subject).toMatchObject({ node: 'n2' });
    expect(f.data).toMatchObject({
      reports: [
        {
          seq: 3,
          deadline: formatTime(T0 + 4 * INTERVAL + MAX_DELAY),
          witnessedAt: formatTime(T0 + 7 * INTERVAL + 70),
        },
      ],
    });
  });

  it('is on time when logged before the deadline, whatever its own times say', async () => {
    w = await World.start();
    await w.honest(0, 3);
    const held = w.usage('n2', 3);
    await w.interval(3, { skip: ['n2'], hiddenGpuJ: IDLE_J });
    w.now = T0 + 4 * INTERVAL + MAX_DELAY - 10; // just before the deadline
    await w.submit([held.entry]);
    await w.honest(4, N);
    expect(codes(w.evaluate(N))).toEqual([]);
  });
});

describe('training above the limit', () => {
  it('gives limit-exceeded for the day', async () => {
    w = await World.start({
      maxFlopPerDay: 1e18,
      allowedWorkloads: ['idle', 'inference', 'training'],
    });
    const train = {
      workload: 'training' as const,
      flop: 3e17,
      tensorActive: 0.5,
      energyJ: TRAIN_J,
    };
    await w.honest(0, 3);
    for (let k = 3; k < 9; k++) await w.interval(k, { over: { n1: train } });
    await w.honest(9, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['limit-exceeded']);
    expect(e.verdict.findings[0]!.data).toMatchObject({
      day: '2026-11-27',
      flop: 1.8e18,
      maxFlopPerDay: 1e18,
    });
    expect(e.verdict.findings[0]!.evidence.filter((x) => x.role === 'report')).toHaveLength(6);
  });

  it('gives workload-not-allowed when the pause does not allow training', async () => {
    w = await World.start();
    await w.honest(0, 3);
    await w.interval(3, { over: { n1: { workload: 'training', flop: 1e15, energyJ: TRAIN_J } } });
    await w.honest(4, N);
    expect(codes(w.evaluate(N))).toEqual(['workload-not-allowed']);
  });
});

describe('training reported as idle while the meter says otherwise', () => {
  it('gives energy-unexplained', async () => {
    w = await World.start();
    await w.honest(0, 4);
    for (let k = 4; k < 10; k++) await w.interval(k, { hiddenGpuJ: 2 * (TRAIN_J - IDLE_J) });
    await w.honest(10, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['energy-unexplained']);
    expect(e.verdict.findings[0]!.evidence.some((x) => x.role === 'meter')).toBe(true);
  });
});

describe('a hidden cluster at the facility', () => {
  it('gives energy-unexplained, and states a detection bound below the hidden compute', async () => {
    w = await World.start();
    const hiddenGpuJ = 32 * 632 * INTERVAL; // 32 undeclared H100s at full load
    for (let k = 0; k < N; k++) await w.interval(k, { hiddenGpuJ });
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['energy-unexplained']);
    const f = e.verdict.findings[0]!;
    expect(f.message).toMatch(
      /detects ≥ [0-9.e+]+ FLOP \([0-9.e+]+ H100-hours\) of hidden compute with probability 0\.95/,
    );
    const d = e.verdict.detection!;
    const hiddenH100Hours = (32 * N * INTERVAL) / 3600;
    expect(d.minHiddenGpuHoursH100).toBeLessThan(hiddenH100Hours);
    expect(d.facilities[0]!.alarm).toBe(true);
  });
});

describe('a forged signature', () => {
  it('is refused by the log', async () => {
    w = await World.start();
    await w.honest(0, 1);
    const good = w.usage('n1', 1);
    const env = JSON.parse(new TextDecoder().decode(good.entry));
    const forged = { ...good.payload, energyJ: 1 }; // a lower energy under the old signature
    env.payload = Buffer.from(jcsBytes(forged)).toString('base64');
    const [r] = await w.submitRaw([new TextEncoder().encode(JSON.stringify(env))]);
    expect(r!.index).toBeUndefined();
    expect(r!.error?.code).toBe('SIGNATURE_INVALID');
  });
});

describe('a revoked key still used', () => {
  it('gives revoked-key when the revocation is logged after the reports it withdraws', async () => {
    w = await World.start();
    await w.honest(0, 6);
    // n3's key is compromised from T0 + 1800; reports 6–8 are signed with it and logged (the
    // log has not seen the revocation yet); the lab then logs the revocation, backdated to 1800,
    // and a new key from 1800 on.
    await w.honest(6, 9);
    const fresh = testKey('lab-a.example/node/f1/c1/n3-v2');
    w.now = T0 + 9 * INTERVAL + 30;
    await w.submit([
      w.registration('n3', 'revoke', T0 + 6 * INTERVAL),
      w.registration('n3', 'add', T0 + 6 * INTERVAL, fresh),
    ]);
    w.nodes.get('n3')!.key = fresh;
    await w.honest(9, N);
    const e = w.evaluate(N);
    // Reports 6–8 are not authentic: the intervals are unreported and the chain has a hole.
    expect(codes(e)).toEqual(['missing-report', 'revoked-key', 'seq-gap']);
    const f = e.verdict.findings.find((x) => x.code === 'revoked-key')!;
    expect(f.evidence.filter((x) => x.role === 'report')).toHaveLength(3);
    expect(f.evidence.some((x) => x.role === 'revocation')).toBe(true);
    expect(f.message).toMatch(
      /3 report\(s\) of f1\/c1\/n3 are not authentic: key \S+ was revoked from /,
    );
  });

  it('gives unregistered-key for reports before the registration time', async () => {
    w = await World.start();
    const late = testKey('lab-a.example/node/f1/c1/n9');
    w.now = T0 - 60;
    await w.submit([w.registration('n9', 'add', T0 + 2 * INTERVAL, late)]);
    w.nodes.set('n9', { key: late, seq: 0, prev: '0'.repeat(64) });
    const early = w.usage('n9', 0);
    await w.interval(0, { extra: [early.entry] });
    await w.honest(1, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['unregistered-key']);
    expect(e.verdict.findings[0]!.message).toMatch(
      /1 report\(s\) of f1\/c1\/n9 are not authentic: key \S+ is registered from \S+, after the report's start /,
    );
  });
});

describe('a checkpoint without quorum', () => {
  it('gives quorum-not-met, and an inconclusive verdict', async () => {
    w = await World.start({ cosigners: 1 });
    await w.honest(0, N);
    const e = w.evaluate(N);
    expect(e.verdict.verdict).toBe('inconclusive');
    expect(codes(e)).toEqual(['quorum-not-met', 'timeliness-unknown']);
    expect(e.verdict.checkpoint).toMatchObject({ quorum: false, cosignedBy: ['w0'] });
  });
});
