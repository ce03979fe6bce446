import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  sha256,
  sha256Into,
  sha256Pair,
  sha256PairAtInto,
  sha256PairInto,
  sha256Prefixed,
  sha256PrefixedInPlaceInto,
  sha256PrefixedInto,
} from '../../src/crypto/sha256.js';

/** The reference: createHash over the concatenation. */
function ref(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('sha256 helpers (digests read back from latin1 strings)', () => {
  it('sha256, sha256Prefixed and their *Into forms agree with createHash', () => {
    fc.assert(
      fc.property(bytes(3000), fc.integer({ min: 0, max: 255 }), fc.nat(40), (data, prefix, at) => {
        expect(sha256(data)).toEqual(ref(data));
        expect(sha256Prefixed(prefix, data)).toEqual(ref(Uint8Array.of(prefix), data));
        const out = new Uint8Array(at + 40).fill(0xaa);
        sha256Into(data, out, at);
        expect(out.subarray(at, at + 32)).toEqual(ref(data));
        sha256PrefixedInto(prefix, data, out, at);
        expect(out.subarray(at, at + 32)).toEqual(ref(Uint8Array.of(prefix), data));
        // nothing outside the 32 bytes is touched
        expect(out.subarray(0, at).every((b) => b === 0xaa)).toBe(true);
        expect(out.subarray(at + 32).every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('digests with bytes ≥ 0x80 survive the string form (every byte value appears)', () => {
    const seen = new Set<number>();
    for (let i = 0; seen.size < 256 && i < 10_000; i++) {
      const d = sha256(Uint8Array.of(i & 255, i >> 8));
      expect(d).toEqual(ref(Uint8Array.of(i & 255, i >> 8)));
      for (const b of d) seen.add(b);
    }
    expect(seen.size).toBe(256);
  });

  it('sha256Pair and sha256PairInto agree with createHash, also folding in place', () => {
    fc.assert(
      fc.property(hash32, hash32, fc.integer({ min: 0, max: 255 }), (a, b, prefix) => {
        const want = ref(Uint8Array.of(prefix), a, b);
        expect(sha256Pair(prefix, a, b)).toEqual(want);
        // out overlapping a: the level is folded in place
        const level = new Uint8Array(64);
        level.set(a, 0);
        level.set(b, 32);
        sha256PairInto(prefix, level.subarray(0, 32), level.subarray(32, 64), level, 0);
        expect(level.subarray(0, 32)).toEqual(want);
        expect(level.subarray(32)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('sha256PairAtInto reads two hashes side by side by offset, also folding in place', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 200 }),
        fc.nat(136),
        fc.integer({ min: 0, max: 255 }),
        (buf, from0, prefix) => {
          const from = from0 % (buf.length - 63);
          const want = ref(Uint8Array.of(prefix), buf.subarray(from, from + 64));
          const copy = buf.slice();
          sha256PairAtInto(prefix, copy, from, copy, from);
          expect(copy.subarray(from, from + 32)).toEqual(want);
          expect(copy.subarray(from + 32)).toEqual(buf.subarray(from + 32));
          expect(copy.subarray(0, from)).toEqual(buf.subarray(0, from));
        },
      ),
      { numRuns: 300 },
    );
    // fewer than 64 bytes from `from`: the views' form, over what there is
    const out = new Uint8Array(32);
    sha256PairAtInto(1, new Uint8Array(63).fill(5), 0, out, 0);
    expect(out).toEqual(ref(Uint8Array.of(1), new Uint8Array(63).fill(5)));
  });

  it('sha256PrefixedInPlaceInto hashes prefix || buf[from, to) where it lies, and restores the byte it borrows', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        fc.nat(2000),
        fc.nat(2000),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (buf, x, y, prefix, shared) => {
          let b: Uint8Array = buf;
          if (shared) {
            b = new Uint8Array(new SharedArrayBuffer(buf.length));
            b.set(buf);
          }
          const from = x % (b.length + 1);
          const to = from + (y % (b.length - from + 1));
          const want = ref(Uint8Array.of(prefix), buf.subarray(from, to));
          const out = new Uint8Array(40).fill(0xaa);
          sha256PrefixedInPlaceInto(prefix, b, from, to, out, 4);
          expect(out.subarray(4, 36)).toEqual(want);
          expect(Buffer.from(b)).toEqual(Buffer.from(buf)); // the borrowed byte is back
        },
      ),
      { numRuns: 500 },
    );
  });

  it('inputs outside the one-shot path (not 32-byte halves, ≥ 1 MiB) give the same digests', () => {
    const a = Uint8Array.of(1, 2, 3);
    const b = new Uint8Array(40).fill(9);
    expect(sha256Pair(1, a, b)).toEqual(ref(Uint8Array.of(1), a, b));
    const out = new Uint8Array(32);
    sha256PairInto(1, a, b, out, 0);
    expect(out).toEqual(ref(Uint8Array.of(1), a, b));
    const big = new Uint8Array((1 << 20) + 5).fill(7);
    expect(sha256Prefixed(0, big)).toEqual(ref(Uint8Array.of(0), big));
    sha256PrefixedInto(0, big, out, 0);
    expect(out).toEqual(ref(Uint8Array.of(0), big));
  });
});
