/**
 * decodeBase64Into (the byte-level decoder of the verifier's packer) against tryFromBase64, the
 * project's reference for strict base64: the same texts accepted, the same bytes out. Both of
 * its paths: its own loop (short texts, or other than Buffers) and Node's lenient decoder with
 * its leniency checked apart (texts of 256 characters or more between Buffers), each text then
 * led by 256 characters of canonical base64.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Into, toBase64, tryFromBase64 } from '../../src/core/bytes.js';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe.each([
  { path: 'its own loop', lead: '', buffers: false },
  { path: "Node's decoder", lead: 'AAEC'.repeat(64), buffers: true },
])('decodeBase64Into, $path', ({ lead, buffers }) => {
  /** decodeBase64Into over the whole of lead + `s`, as tryFromBase64 answers: bytes or undefined. */
  function viaBytes(text: string): Uint8Array | undefined {
    const s = lead + text;
    const src = buffers ? Buffer.from(`xy${s}z`, 'latin1') : ascii(`xy${s}z`);
    const out = (buffers ? Buffer : Uint8Array)
      .from(new Uint8Array(4 + Math.ceil(s.length / 4) * 3))
      .fill(0xee);
    const n = decodeBase64Into(src, 2, 2 + s.length, out, 4);
    if (n < 0) return undefined;
    expect(new Uint8Array(out.subarray(0, 4))).toEqual(new Uint8Array(4).fill(0xee));
    return new Uint8Array(out.slice(4, 4 + n));
  }

  const reference = (text: string) => {
    const b = tryFromBase64(lead + text);
    return b === undefined ? undefined : new Uint8Array(b);
  };

  it('decodes the canonical encoding of any bytes to those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(viaBytes(toBase64(bytes))).toEqual(reference(toBase64(bytes)));
        expect(viaBytes(toBase64(bytes))!.subarray(lead.length * 0.75)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts and refuses exactly what tryFromBase64 does, on near-base64 text', () => {
    const chars = 'AQgw+/=-_ \n.Zaz09\u0000\u00ff,'.split('');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 24 }), (cs) => {
        const s = cs.join('');
        expect(viaBytes(s)).toEqual(reference(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with tryFromBase64 on canonical text with one byte changed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 70 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (bytes, pos, c) => {
          const t = toBase64(bytes);
          const i = pos % t.length;
          const s = t.slice(0, i) + String.fromCharCode(c) + t.slice(i + 1);
          expect(viaBytes(s)).toEqual(reference(s));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['', new Uint8Array(0)],
    ['AA==', Uint8Array.of(0)],
    ['AAE=', Uint8Array.of(0, 1)],
    ['/+8A', Uint8Array.of(0xff, 0xef, 0)],
  ])('decodes %j', (s, want) => {
    expect(viaBytes(s)!.subarray(lead.length * 0.75)).toEqual(want);
  });

  it.each([
    ['AB==', 'trailing bits of a one-byte group'],
    ['AAF=', 'trailing bits of a two-byte group'],
    ['AA=', 'a length that is not a multiple of 4'],
    ['A===', 'three padding characters'],
    ['AA=A', 'padding before data'],
    ['AA==AAAA', 'padding inside the text'],
    ['_-8A', 'the URL-safe alphabet'],
    ['AA A', 'whitespace'],
  ])('refuses %j (%s)', (s) => {
    expect(reference(s)).toBeUndefined();
    expect(viaBytes(s)).toBeUndefined();
  });

  it('refuses a range outside the source', () => {
    expect(decodeBase64Into(ascii('AAAA'), 0, 8, new Uint8Array(6), 0)).toBe(-1);
    expect(decodeBase64Into(ascii('AAAA'), -4, 0, new Uint8Array(6), 0)).toBe(-1);
  });
});
