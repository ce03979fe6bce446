/**
 * Evidence bundles: built from what the verifier used, re-checked offline to the same verdict;
 * tampering is caught (an altered entry breaks its proof, an altered verdict no longer matches
 * the evidence, a dropped statement shows as missing, never as compliant), and a statement with
 * a forged signature that made it into a log is reported as bad-signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jcsBytes } from '../../protocol/src/jcs.js';
import type { EvidenceBundle } from '../../protocol/src/verdict.js';
import { buildBundle, checkBundle } from '../../src/verifier/bundle.js';
import { evaluatePause } from '../../src/verifier/evaluate.js';
import type { UsageRecord } from '../../src/verifier/log-index.js';
import { testKey } from '../helpers/world.js';
import { fakeLog } from './fake-log.js';
import { codes, IDLE_J, INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from './world.js';

const N = 12;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

async function bundleOf(w: World): Promise<EvidenceBundle> {
  const e = w.evaluate(N);
  return buildBundle(
    w.follower,
    e,
    w.follower.anchor(),
    { lab: LAB, pause: PAUSE, to: e.verdict.window.to },
    {
      forks: w.follower.forks,
    },
  );
}

describe('the bundle of an honest lab', () => {
  let w: World;
  let bundle: EvidenceBundle;
  beforeAll(async () => {
    w = await World.start();
    await w.honest(0, N);
    bundle = await bundleOf(w);
  }, 60_000);
  afterAll(() => w.close());

  it('re-checks offline to the identical verdict: compliant', () => {
    const r = checkBundle(clone(bundle), w.policy);
    expect(r.same).toBe(true);
    expect(r.verdict).toEqual(bundle.verdict);
    expect(r.verdict.verdict).toBe('compliant');
  });

  it('carries every statement used, each with a proof against the anchor', () => {
    expect(bundle.statements).toHaveLength(bundle.verdict.summary.statements);
    for (const s of bundle.statements) expect(s.proof.endsWith(bundle.anchor)).toBe(true);
  });

  it('carries the checkpoints that time the reports, consistent with the anchor', () => {
    expect(bundle.checkpoints.length).toBeGreaterThan(3);
  });

  it('is refused when an entry is altered (its proof no longer holds)', () => {
    const b = clone(bundle);
    const bytes = Buffer.from(b.statements[5]!.entry, 'base64');
    bytes[bytes.length - 3]! ^= 1;
    b.statements[5]!.entry = bytes.toString('base64');
    expect(() => checkBundle(b, w.policy)).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID' }),
    );
  });

  it('is refused when a cosignature is altered', () => {
    const b = clone(bundle);
    const lines = b.anchor.split('\n');
    const last = lines.length - 2; // the last signature line
    const sig = Buffer.from(lines[last]!.split(' ')[2]!, 'base64');
    sig[20]! ^= 1;
    lines[last] = `${lines[last]!.split(' ').slice(0, 2).join(' ')} ${sig.toString('base64')}`;
    b.anchor = lines.join('\n');
    expect(() => checkBundle(b, w.policy)).toThrow(
      expect.objectContaining({ code: 'BUNDLE_INVALID' }),
    );
  });

  it('says so when the written verdict is not what the evidence gives', () => {
    const b = clone(bundle);
    b.verdict.verdict = 'violation';
    const r = checkBundle(b, w.policy);
    expect(r.same).toBe(false);
    expect(r.verdict.verdict).toBe('compliant');
  });

  it('cannot be made to hide anything by dropping a statement: the report shows as missing', () => {
    const b = clone(bundle);
    const i = b.statements.findIndex((s) => {
      const env = JSON.parse(Buffer.from(s.entry, 'base64').toString());
      return env.payloadType.includes('usage');
    });
    b.statements.splice(i, 1);
    const r = checkBundle(b, w.policy);
    expect(r.verdict.verdict).toBe('violation');
    expect(r.verdict.findings.map((f) => f.code)).toContain('missing-report');
  });
});

describe('the bundle of a lab with violations', () => {
  it('re-checks to the identical verdict with the same findings', async () => {
    const w = await World.start();
    try {
      await w.honest(0, 3);
      const held = w.usage('n2', 3);
      await w.interval(3, { skip: ['n2'], hiddenGpuJ: IDLE_J });
      await w.honest(4, 7);
      w.now = T0 + 7 * INTERVAL + 70;
      await w.submit([held.entry]);
      await w.interval(7, { skip: ['n3'], hiddenGpuJ: IDLE_J });
      await w.honest(8, N);
      const bundle = await bundleOf(w);
      expect(bundle.verdict.findings.map((f) => f.code).sort()).toEqual([
        'late-report',
        'missing-report',
      ]);
      const r = checkBundle(clone(bundle), w.policy);
      expect(r.same).toBe(true);
      expect(r.verdict).toEqual(bundle.verdict);
    } finally {
      await w.close();
    }
  }, 60_000);
});

describe('a statement with a forged signature inside a (misbehaving) log', () => {
  it('gives bad-signature, in the evaluation and in its bundle re-checked offline', async () => {
    const w = await World.start();
    let entries: Uint8Array[];
    let schedule: { size: number; time: number }[];
    let target: UsageRecord;
    try {
      await w.honest(0, N);
      const recs = w.follower.index.lab(LAB).usage.get('f1/c1/n1')!;
      target = recs.find((r) => r.payload.seq === 4)!;
      const all = await w.follower.entriesOf(
        Array.from({ length: w.follower.size }, (_, index) => ({
          index,
          leafHash: index === target.index ? target.leafHash : leafHashOf(w, index),
        })),
      );
      entries = [...all.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => e);
      schedule = w.follower.checkpoints.map((c) => ({
        size: c.size,
        time: c.cosignatures[0]!.time,
      }));
    } finally {
      await w.close();
    }
    // The forgery: the report's energy lowered under the node's original signature.
    const env = JSON.parse(new TextDecoder().decode(entries[target.index]));
    env.payload = Buffer.from(jcsBytes({ ...target.payload, energyJ: 1 })).toString('base64');
    entries[target.index] = jcsBytes(env);
    const log = await fakeLog(w.policy, testKey('log.example/log'), w.witnesses, entries, schedule);
    const anchor = log.checkpoints.at(-1)!;
    const asOf = T0 + N * INTERVAL + MAX_DELAY + 60;
    const question = {
      lab: LAB,
      pause: PAUSE,
      to: new Date((T0 + N * INTERVAL) * 1000).toISOString().replace('.000Z', 'Z'),
    };
    const e = evaluatePause({
      policy: w.policy,
      index: log.index,
      timeline: log.timeline,
      anchor,
      question,
      asOf,
    });
    // Ground truth: n1's report 4 is not authentic, so interval 4 is unreported and seq 4 absent.
    expect(codes(e)).toEqual(['bad-signature', 'missing-report', 'seq-gap']);
    const bad = e.verdict.findings.find((f) => f.code === 'bad-signature')!;
    expect(bad.evidence.map((x) => x.index)).toContain(target.index);
    const bundle = await buildBundle(log.source, e, anchor, question);
    const r = checkBundle(clone(bundle), w.policy);
    expect(r.same).toBe(true);
    expect(r.verdict.findings.map((f) => f.code)).toContain('bad-signature');
  }, 60_000);
});

function leafHashOf(w: World, index: number): string {
  for (const lab of w.follower.index.labs.values()) {
    for (const r of [
      ...lab.registrations,
      ...lab.inventories,
      ...lab.pauses,
      ...[...lab.usage.values()].flat(),
    ]) {
      if (r.index === index) return r.leafHash;
    }
  }
  for (const ms of w.follower.index.meters.values())
    for (const r of ms) if (r.index === index) return r.leafHash;
  throw new Error(`no record at ${index}`);
}
