/**
 * The two small pieces the sync and the timeliness check rest on: the compact range (its fold is
 * the RFC 9162 tree head at every size, whether leaves or aligned subtrees are appended) and the
 * witnessed-time rules (on time only when a quorum had cosigned a checkpoint containing the entry
 * by the deadline; late only when, after the deadline, too many witnesses provably had not).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashLeaf, rootFromLeafHashes } from '../../src/merkle/rfc9162.js';
import { parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { CompactRange } from '../../src/verifier/compact-range.js';
import { type ObservedCheckpoint, WitnessTimeline } from '../../src/verifier/timeline.js';
import { testKey } from '../helpers/world.js';

describe('the compact range', () => {
  it('folds to rootFromLeafHashes at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (n) => {
        const leaves = Array.from({ length: n }, (_, i) =>
          hashLeaf(new Uint8Array([i & 255, i >> 8])),
        );
        const r = new CompactRange();
        for (let i = 0; i < n; i++) {
          r.append(leaves[i]!);
          expect(
            Buffer.from(r.root()!).equals(Buffer.from(rootFromLeafHashes(leaves.slice(0, i + 1)))),
          ).toBe(true);
        }
      }),
      { numRuns: 20, seed: 3 },
    );
  });

  it('gives the same head when an aligned subtree is appended at once', () => {
    const leaves = Array.from({ length: 256 * 3 + 5 }, (_, i) =>
      hashLeaf(new Uint8Array([i & 255, i >> 8, 1])),
    );
    const a = new CompactRange();
    const b = new CompactRange();
    for (const l of leaves) a.append(l);
    for (let t = 0; t < 3; t++)
      b.appendSubtree(rootFromLeafHashes(leaves.slice(t * 256, t * 256 + 256)), 8);
    for (const l of leaves.slice(768)) b.append(l);
    expect(Buffer.from(b.root()!).equals(Buffer.from(a.root()!))).toBe(true);
    expect(() => b.appendSubtree(leaves[0]!, 8)).toThrow(RangeError);
  });

  it('survives a round trip through its hashes (what the cache stores)', () => {
    const r = new CompactRange();
    for (let i = 0; i < 77; i++) r.append(hashLeaf(new Uint8Array([i])));
    const copy = new CompactRange(r.size, r.hashes);
    expect(Buffer.from(copy.root()!).equals(Buffer.from(r.root()!))).toBe(true);
    expect(() => new CompactRange(77, r.hashes.slice(1))).toThrow(RangeError);
  });
});

const w = [0, 1, 2].map((i) => testKey(`w${i}.example`, true));
const policyAll = parseTlogPolicy(
  `log ${testKey('log.example/log').vkey}\n${w.map((k, i) => `witness w${i} ${k.vkey}`).join('\n')}\ngroup q 2 w0 w1 w2\nquorum q\n`,
);

/** A checkpoint of `size` with the witnesses' cosignature times (names → POSIX seconds). */
function cp(size: number, times: Record<string, number>): ObservedCheckpoint {
  const cosignatures = Object.entries(times).map(([witness, time]) => ({ witness, time }));
  return {
    note: `cp ${size} ${JSON.stringify(times)}`,
    origin: 'log.example/log',
    size,
    rootHash: new Uint8Array(32),
    cosignatures,
    quorum: cosignatures.length >= 2,
  };
}

describe('the witnessed time of an entry (2 of 3 witnesses)', () => {
  // Entry 10 arrives between the checkpoints of size 10 and 20.
  const before = cp(10, { w0: 100, w1: 101, w2: 102 });
  const after = cp(20, { w0: 200, w1: 260, w2: 230 });

  it('is the time the second witness cosigned a checkpoint containing it', () => {
    const t = new WitnessTimeline(policyAll, [before, after]);
    expect(t.witnessedAt(10)).toBe(230);
    expect(t.witnessedAt(9)).toBe(101);
    expect(t.classify(10, 230)).toBe('on-time');
    expect(t.classify(10, 229)).not.toBe('on-time');
  });

  it('takes each witness at its earliest cosignature over any containing checkpoint', () => {
    const later = cp(30, { w0: 500, w1: 210 });
    const t = new WitnessTimeline(policyAll, [before, after, later]);
    expect(t.witnessedAt(10)).toBe(210); // w0 at 200, w1 at 210 (on the size-30 checkpoint)
  });

  it('is late only when witnesses enough to block the quorum cosigned a checkpoint without it after the deadline', () => {
    // w0 and w2 re-cosign the old size-10 checkpoint at 150; the entry's deadline is 149.
    const again = cp(10, { w0: 150, w2: 150 });
    const t = new WitnessTimeline(policyAll, [before, again, after]);
    expect(t.absentUntil(10)).toBe(150);
    expect(t.classify(10, 149)).toBe('late');
    expect(t.classify(10, 150)).toBe('unknown'); // w0/w2 could have cosigned it at 150 too
    // One witness alone cannot block a 2-of-3 quorum.
    const one = new WitnessTimeline(policyAll, [before, cp(10, { w0: 150 }), after]);
    expect(one.classify(10, 149)).toBe('unknown');
  });

  it('is unknown without any checkpoint containing it, unless proven late', () => {
    const t = new WitnessTimeline(policyAll, [before]);
    expect(t.witnessedAt(10)).toBeUndefined();
    expect(t.classify(10, 50)).toBe('late'); // all three had cosigned without it at 100+
    expect(t.classify(10, 102)).toBe('unknown');
  });

  it('names the checkpoints that decide it (what a bundle must carry)', () => {
    const again = cp(10, { w0: 150, w2: 150 });
    const t = new WitnessTimeline(policyAll, [before, again, after]);
    expect(new Set(t.evidenceFor(10))).toEqual(new Set([again, after, before]));
    expect(t.quorumCheckpoint(10)).toBe(after);
    expect(t.quorumCheckpoint(25)).toBeUndefined();
  });

  it('uses any one witness under quorum none', () => {
    const none = parseTlogPolicy(
      `log ${testKey('log.example/log').vkey}\nwitness w0 ${w[0]!.vkey}\nquorum none\n`,
    );
    const t = new WitnessTimeline(none, [cp(20, { w0: 300 })]);
    expect(t.witnessedAt(5)).toBe(300);
  });
});
