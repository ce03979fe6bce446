/**
 * Fork evidence, checked offline against a policy: what it confirms (two signed roots at one
 * size; a consistency path to the larger signed root that leads elsewhere at the smaller size)
 * and what it refuses (consistent pairs, tampered proofs, foreign keys, unprovable kinds).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../src/core/bytes.js';
import { verifyConsistency } from '../../src/merkle/rfc9162.js';
import {
  checkForkEvidence,
  FORK_EVIDENCE_TYPE,
  type ForkEvidence,
  isPowerOfTwo,
  rootsFromConsistencyProof,
} from '../../src/monitor/evidence.js';
import { parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { testKey } from '../helpers/world.js';
import { FakeLog } from '../witness/helpers.js';

const logKey = testKey('log.example/log');
const policy = parseTlogPolicy(`log ${logKey.vkey}\nquorum none\n`);

/** Evidence as the monitor builds it: the proof and old-root node come from b's tree. */
function evidence(a: FakeLog, aSize: number, b: FakeLog, bSize: number): ForkEvidence {
  const e: ForkEvidence = {
    type: FORK_EVIDENCE_TYPE,
    kind: aSize === bSize ? 'same-size' : 'inconsistent',
    origin: 'log.example/log',
    logKey: logKey.vkey,
    detectedAt: '2026-11-27T00:00:00Z',
    reason: 'test',
    a: { source: 'a', checkpoint: a.checkpoint(aSize) },
    b: { source: 'b', checkpoint: b.checkpoint(bSize) },
  };
  if (aSize !== bSize && aSize > 0) {
    e.proof = b.proof(aSize, bSize).map(toBase64);
    if (isPowerOfTwo(aSize)) e.oldRootInB = toBase64(b.root(aSize));
  }
  return e;
}

const honest = new FakeLog(logKey.signer).append(80);
const forked = new FakeLog(logKey.signer).append(80, 'forked');

describe('checkForkEvidence', () => {
  describe('when the log signed a 3-leaf root and a 5-leaf tree with another prefix', () => {
    it('confirms the fork (FORK_CONFIRMED) and names the log key', () => {
      const v = checkForkEvidence(evidence(honest, 3, forked, 5), policy);
      expect(v).toMatchObject({ confirmed: true, code: 'FORK_CONFIRMED', logKey: logKey.vkey });
    });

    it('confirms it whichever checkpoint is listed first', () => {
      const e = evidence(honest, 3, forked, 5);
      const swapped = { ...e, a: e.b, b: e.a };
      expect(checkForkEvidence(swapped, policy).code).toBe('FORK_CONFIRMED');
    });
  });

  describe('when the smaller size is a power of two (4 → 7)', () => {
    it('confirms the fork with the old-root node from the larger tree', () => {
      expect(checkForkEvidence(evidence(honest, 4, forked, 7), policy).code).toBe('FORK_CONFIRMED');
    });

    it('refuses it as EVIDENCE_MALFORMED without that node', () => {
      const e = evidence(honest, 4, forked, 7);
      delete e.oldRootInB;
      expect(checkForkEvidence(e, policy).code).toBe('EVIDENCE_MALFORMED');
    });
  });

  describe('when two checkpoints have one size and two roots', () => {
    it('confirms the fork', () => {
      expect(checkForkEvidence(evidence(honest, 6, forked, 6), policy).code).toBe('FORK_CONFIRMED');
    });
  });

  describe('when the two checkpoints are consistent', () => {
    it('answers EVIDENCE_CONSISTENT for a real prefix', () => {
      expect(checkForkEvidence(evidence(honest, 3, honest, 5), policy)).toMatchObject({
        confirmed: false,
        code: 'EVIDENCE_CONSISTENT',
      });
    });

    it('answers EVIDENCE_CONSISTENT for the same checkpoint twice', () => {
      expect(checkForkEvidence(evidence(honest, 5, honest, 5), policy).code).toBe(
        'EVIDENCE_CONSISTENT',
      );
    });
  });

  describe('when the proof was tampered with', () => {
    it('answers EVIDENCE_PROOF_INVALID: it no longer leads to the larger signed root', () => {
      const e = evidence(honest, 3, forked, 5);
      e.proof![0] = toBase64(new Uint8Array(32));
      expect(checkForkEvidence(e, policy).code).toBe('EVIDENCE_PROOF_INVALID');
    });

    it('answers EVIDENCE_PROOF_INVALID for a proof from the smaller tree (it cannot reach b)', () => {
      const e = evidence(honest, 3, forked, 5);
      e.proof = honest.proof(3, 5).map(toBase64);
      expect(checkForkEvidence(e, policy).code).toBe('EVIDENCE_PROOF_INVALID');
    });
  });

  describe('when a checkpoint is not signed by a log of the policy', () => {
    it('answers EVIDENCE_UNKNOWN_LOG', () => {
      const impostor = new FakeLog(testKey('log.example/log-other').signer, 'log.example/log');
      impostor.leaves.push(...forked.leaves);
      const e = evidence(honest, 3, impostor, 5);
      expect(checkForkEvidence(e, policy).code).toBe('EVIDENCE_UNKNOWN_LOG');
    });
  });

  describe('when the checkpoints are of two different logs', () => {
    it('answers EVIDENCE_ORIGIN_MISMATCH', () => {
      const other = testKey('other.example/log');
      const p = parseTlogPolicy(`log ${logKey.vkey}\nlog ${other.vkey}\nquorum none\n`);
      const otherLog = new FakeLog(other.signer).append(5, 'forked');
      const e = evidence(honest, 5, otherLog, 5);
      expect(checkForkEvidence(e, p).code).toBe('EVIDENCE_ORIGIN_MISMATCH');
    });
  });

  describe('when the evidence is of the tiles-mismatch kind', () => {
    it('answers EVIDENCE_UNPROVABLE', () => {
      const e = { ...evidence(honest, 5, honest, 5), kind: 'tiles-mismatch' as const };
      expect(checkForkEvidence(e, policy).code).toBe('EVIDENCE_UNPROVABLE');
    });
  });

  describe('when the document is not evidence', () => {
    it.each([null, {}, { type: FORK_EVIDENCE_TYPE }, 'text'])(
      'answers EVIDENCE_MALFORMED for %j',
      (d) => {
        expect(checkForkEvidence(d, policy).code).toBe('EVIDENCE_MALFORMED');
      },
    );
  });

  describe('over many tree sizes (property)', () => {
    it('confirms every fork below the smaller size and no honest pair', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 79 }),
          fc.integer({ min: 1, max: 79 }),
          fc.integer({ min: 0, max: 78 }),
          (x, y, f) => {
            const m = Math.min(x, y);
            const n = Math.max(x, y) + (x === y ? 1 : 0);
            // A log equal to `honest` except at leaf f < m.
            const fork = new FakeLog(logKey.signer);
            fork.leaves.push(...honest.leaves);
            const at = f % m;
            fork.leaves[at] = forked.leaves[at]!;
            expect(checkForkEvidence(evidence(honest, m, fork, n), policy).code).toBe(
              'FORK_CONFIRMED',
            );
            expect(checkForkEvidence(evidence(honest, m, honest, n), policy).code).toBe(
              'EVIDENCE_CONSISTENT',
            );
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});

describe('rootsFromConsistencyProof', () => {
  it('gives the two roots verifyConsistency accepts, for every honest proof up to 40 leaves', () => {
    for (let n = 2; n <= 40; n++) {
      for (let m = 1; m < n; m++) {
        const proof = honest.proof(m, n);
        const r = rootsFromConsistencyProof(
          m,
          n,
          proof,
          isPowerOfTwo(m) ? honest.root(m) : undefined,
        );
        expect(r.newRoot).toEqual(honest.root(n));
        expect(r.oldRoot).toEqual(honest.root(m));
        verifyConsistency(m, n, proof, r.oldRoot, r.newRoot);
      }
    }
  });

  it('throws EVIDENCE_MALFORMED for a path of the wrong length', () => {
    const proof = honest.proof(3, 5);
    expect(() => rootsFromConsistencyProof(3, 5, [...proof, proof[0]!])).toThrow(
      expect.objectContaining({ code: 'EVIDENCE_MALFORMED' }),
    );
    expect(() => rootsFromConsistencyProof(3, 5, proof.slice(1))).toThrow(
      expect.objectContaining({ code: 'EVIDENCE_MALFORMED' }),
    );
  });
});
