/**
 * The chain checks of the evaluation (completeness: seq contiguous, prev chained) take a short
 * way for a node whose authentic reports run on by one seq from the first (src/verifier/
 * evaluate.ts `contiguousChain`); every verdict here is the one the general way (a seq map) gives,
 * findings, evidence and statements used included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { payloadHash } from '../../protocol/src/index.js';
import { jcsBytes } from '../../protocol/src/jcs.js';
import { formatTime } from '../../protocol/src/time.js';
import { type Evaluation, evaluateTesting } from '../../src/verifier/evaluate.js';
import { codes, INTERVAL, T0, World } from '../verifier-e2e/world.js';

const N = 10;

let w: World | undefined;
afterEach(async () => {
  evaluateTesting.generalChains = false;
  await w?.close();
  w = undefined;
});

/** The evaluation both ways; they must agree. */
function bothWays(run: () => Evaluation): Evaluation {
  evaluateTesting.generalChains = false;
  const fast = run();
  evaluateTesting.generalChains = true;
  const general = run();
  evaluateTesting.generalChains = false;
  expect(fast.verdict).toEqual(general.verdict);
  expect(fast.used.indexes).toEqual(general.used.indexes);
  return fast;
}

describe('chain checks of contiguous chains', () => {
  it('agree on an honest log, over the whole pause and over a later window', async () => {
    w = await World.start();
    await w.honest(0, N);
    expect(codes(bothWays(() => w!.evaluate(N)))).toEqual([]);
    const later = { from: formatTime(T0 + 4 * INTERVAL) };
    expect(codes(bothWays(() => w!.evaluate(N, undefined, later)))).toEqual([]);
  });

  it('agree on a chain that starts after seq 0 (a gap before its first report)', async () => {
    w = await World.start();
    w.nodes.get('n2')!.seq = 3;
    await w.honest(0, N);
    const e = bothWays(() => w!.evaluate(N));
    expect(codes(e)).toEqual(['seq-gap']);
    const f = e.verdict.findings[0]!;
    expect(f.data).toEqual({ missingFrom: 0, missingTo: 2 });
    expect(f.evidence.map((x) => x.role)).toEqual(['next']);
    bothWays(() => w!.evaluate(N, undefined, { from: formatTime(T0 + 5 * INTERVAL) }));
  });

  it('agree on a wrong prev at seq 0 and on an unlogged rewrite', async () => {
    w = await World.start();
    w.nodes.get('n1')!.prev = 'b'.repeat(64);
    await w.honest(0, 4);
    const n3 = w.nodes.get('n3')!;
    const rewritten = w.usage('n3', 4, { seq: 4, prev: 'a'.repeat(64) }, { keep: true });
    n3.prev = payloadHash(jcsBytes(rewritten.payload));
    n3.seq = 5;
    await w.interval(4, { skip: ['n3'] });
    await w.honest(5, N);
    const e = bothWays(() => w!.evaluate(N));
    expect(new Set(codes(e))).toEqual(new Set(['missing-report', 'seq-gap', 'chain-break']));
    bothWays(() => w!.evaluate(N, undefined, { from: formatTime(T0 + 4 * INTERVAL) }));
  });
});
