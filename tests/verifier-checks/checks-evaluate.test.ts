/**
 * Edge cases of the evaluation (src/verifier/evaluate.ts) with a known answer each: a payload
 * logged twice counts once, two payloads for one seq are an equivocation, gaps in the evidence
 * (no inventory, a missing meter reading) make the verdict inconclusive rather than compliant or
 * violating, and a facility only partly in the pause's scope is not balanced (and says so).
 * Hand-built logs (tests/verifier-e2e/fake-log.ts) stand in where a real log would refuse.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { signEnvelope } from '../../protocol/src/dsse.js';
import { makeStatement, PAYLOAD_TYPE } from '../../protocol/src/index.js';
import { jcsBytes } from '../../protocol/src/jcs.js';
import { formatTime } from '../../protocol/src/time.js';
import { evaluatePause } from '../../src/verifier/evaluate.js';
import { testKey } from '../helpers/world.js';
import { fakeLog } from '../verifier-e2e/fake-log.js';
import { codes, INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from '../verifier-e2e/world.js';

const N = 3;
const asOf = T0 + N * INTERVAL + MAX_DELAY + 60;
const to = formatTime(T0 + N * INTERVAL);

/** Evaluates hand-built entries, all witnessed at T0 (so every report is on time). */
async function offline(w: World, entries: Uint8Array[]) {
  const log = await fakeLog(w.policy, testKey('log.example/log'), w.witnesses, entries, [
    { size: entries.length, time: T0 },
  ]);
  return evaluatePause({
    policy: w.policy,
    index: log.index,
    timeline: log.timeline,
    anchor: log.checkpoints[0],
    question: { lab: LAB, pause: PAUSE, to },
    asOf,
  });
}

/** The statements of an honest world without a log: setup, then N intervals. */
function honestEntries(
  w: World,
  tweak: (k: number, entries: Uint8Array[]) => void = () => {},
): Uint8Array[] {
  const out = [
    ...w.names.map((n) => w.registration(n, 'add', T0 - 3600)),
    w.inventory(),
    w.pause(),
  ];
  for (let k = 0; k < N; k++) {
    let gpuJ = 0;
    for (const n of w.names) {
      const u = w.usage(n, k);
      gpuJ += u.payload.energyJ;
      out.push(u.entry);
    }
    out.push(w.meter(k, w.facilityJ(gpuJ)));
    tweak(k, out);
  }
  return out;
}

describe('a report logged twice (another envelope, the same signed payload)', () => {
  it('counts once: compliant, no equivocation, every report counted once', async () => {
    const w = World.offline();
    const entries = honestEntries(w, (k, out) => {
      if (k !== 1) return;
      // Re-log n1's report 1 with an extra signature by an unrelated key: a new entry, same payload.
      const env = JSON.parse(new TextDecoder().decode(out[out.length - 4]));
      const extra = signEnvelope(
        env.payloadType,
        Buffer.from(env.payload, 'base64'),
        testKey('someone.example').signer,
      );
      env.signatures.push(extra.signatures[0]);
      out.push(jcsBytes(env));
    });
    const e = await offline(w, entries);
    expect(codes(e)).toEqual([]);
    expect(e.verdict.summary.reports).toBe(9);
  });
});

describe('two different reports with one seq', () => {
  it('is an equivocation', async () => {
    const w = World.offline();
    const entries = honestEntries(w, (k, out) => {
      if (k !== 1) return;
      // A second, different seq 1 of n1, chained like the first.
      const env = JSON.parse(new TextDecoder().decode(out[out.length - 4]));
      const first = JSON.parse(Buffer.from(env.payload, 'base64').toString());
      out.push(w.usage('n1', 1, { seq: 1, prev: first.prev, energyJ: 5 }, { keep: true }).entry);
    });
    const e = await offline(w, entries);
    expect(codes(e)).toEqual(['equivocation']);
    expect(e.verdict.findings[0]!.evidence).toHaveLength(2);
    expect(e.verdict.verdict).toBe('violation');
  });
});

const live: World[] = [];
afterEach(async () => {
  for (const w of live.splice(0)) await w.close();
});

describe('gaps in the evidence', () => {
  it('without an inventory, the verdict is inconclusive (inventory-missing), not compliant', async () => {
    const w = await World.start({ noInventory: true });
    live.push(w);
    await w.honest(0, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['inventory-missing']);
    expect(e.verdict.verdict).toBe('inconclusive');
  });

  it('a missing meter reading gives meter-missing and an inconclusive verdict', async () => {
    const w = await World.start();
    live.push(w);
    await w.honest(0, 1);
    // Interval 1 without its meter reading: only the usage reports.
    w.now = T0 + 2 * INTERVAL + 60;
    await w.submit(w.names.map((n) => w.usage(n, 1).entry));
    await w.honest(2, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['meter-missing']);
    expect(e.verdict.verdict).toBe('inconclusive');
    expect(e.verdict.findings[0]!.data).toMatchObject({ count: 1 });
    expect(e.verdict.detection!.facilities[0]!.intervals).toBe(N - 1);
  });
});

describe('a facility only partly in the pause scope', () => {
  it('is not balanced against its meter: facility-unmetered (info), and still compliant', async () => {
    // The pause covers f1/c1 only; the inventory also declares a node in f1/c2.
    const w = await World.start({ scope: ['f1/c1'] });
    live.push(w);
    w.now = T0 - 1200;
    const inv = makeStatement(
      PAYLOAD_TYPE.inventory,
      {
        v: 1,
        lab: LAB,
        time: formatTime(T0 - 1200),
        nodes: [
          ...w.names.map((node) => ({
            facility: 'f1',
            cluster: 'c1',
            node,
            gpus: 8,
            model: 'H100-SXM',
          })),
          { facility: 'f1', cluster: 'c2', node: 'x1', gpus: 8, model: 'H100-SXM' },
        ],
      },
      w.root.signer,
    ).entry;
    await w.submit([inv]);
    await w.honest(0, N);
    const e = w.evaluate(N);
    expect(codes(e)).toEqual(['facility-unmetered']);
    expect(e.verdict.verdict).toBe('compliant');
    expect(e.verdict.detection).toMatchObject({ minHiddenFlop: null, unmetered: ['f1'] });
  });
});

describe('examples/policy.txt', () => {
  it('is a valid trust policy with every kind of line the verifier reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseVPausePolicy } = await import('../../src/policy/vpause-policy.js');
    const p = parseVPausePolicy(readFileSync('examples/policy.txt', 'utf8'));
    expect(p.tlog.logs[0]!.url).toBe('https://log.vpause.example/');
    expect(p.labs.map((l) => l.lab)).toEqual(['lab-a.example', 'lab-b.example']);
    expect([...p.facilities.keys()]).toEqual(['f1', 'f2']);
    expect(p.verifierKeyPath).toBe('verifier.key');
    expect(p.alpha).toBe(0.001);
  });
});
