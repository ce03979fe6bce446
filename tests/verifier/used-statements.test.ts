import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsedStatements } from '../../src/verifier/findings.js';
import type { StatementRecord } from '../../src/verifier/log-index.js';

const rec = (index: number) => ({ index }) as StatementRecord;

describe('UsedStatements', () => {
  it('keeps each leaf index once, in the order first used, as a Map would', () => {
    const index = fc.oneof(fc.nat(5000), fc.integer({ min: 2 ** 26 - 3, max: 2 ** 26 + 3 }));
    fc.assert(
      fc.property(fc.array(index, { maxLength: 300 }), (adds) => {
        const used = new UsedStatements();
        const ref = new Map<number, StatementRecord>();
        for (const i of adds) {
          // a second record object with the same index is not added
          const r = rec(i);
          used.add(r);
          if (!ref.has(i)) ref.set(i, r);
        }
        expect(used.size).toBe(ref.size);
        expect(used.indexes).toEqual([...ref.keys()]);
        // the first record object of each index, not an equal one
        const want = [...ref.values()];
        expect(used.records.length).toBe(want.length);
        for (let j = 0; j < want.length; j++) expect(used.records[j]).toBe(want[j]);
      }),
      { numRuns: 300 },
    );
  });
});
