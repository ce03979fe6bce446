/** The proof routes' body encoder (src/log/proof-json.ts) writes what JSON.stringify would. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../src/core/bytes.js';
import { hashesJson } from '../../src/log/proof-json.js';

describe('hashesJson', () => {
  it('is the UTF-8 of JSON.stringify({ hashes: base64… }) for any byte strings', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 70 }), { maxLength: 40 }), (hs) => {
        const want = JSON.stringify({ hashes: hs.map(toBase64) });
        expect(new TextDecoder().decode(hashesJson(hs))).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});
