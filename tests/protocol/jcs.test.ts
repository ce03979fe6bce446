import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jcs, jcsBytes } from '../../protocol/src/jcs.js';
import { fromUtf8 } from '../../src/core/bytes.js';

/** Rebuilds `v` with every object's keys inserted in the order `order` picks. */
function reorder(v: unknown, order: (keys: string[]) => string[]): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, order));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of order(Object.keys(v))) {
      Object.defineProperty(out, k, {
        value: reorder((v as Record<string, unknown>)[k], order),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('jcs', () => {
  describe('when the same JSON value is built with its keys in any order', () => {
    it('produces identical bytes', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer(), (value, seed) => {
          const shuffle = (keys: string[]) => {
            const a = [...keys];
            let s = seed >>> 0;
            for (let i = a.length - 1; i > 0; i--) {
              s = (Math.imul(s, 1103515245) + 12345) >>> 0;
              const j = s % (i + 1);
              [a[i], a[j]] = [a[j]!, a[i]!];
            }
            return a;
          };
          const a = jcs(value);
          expect(jcs(reorder(value, shuffle))).toBe(a);
          expect(jcs(reorder(value, (k) => [...k].reverse()))).toBe(a);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('when the canonical text is parsed and re-encoded', () => {
    it('gives the same text (JCS output is a fixed point)', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
          const a = jcs(value);
          expect(jcs(JSON.parse(a))).toBe(a);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('when keys need sorting by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    it('orders them \\r, 1, U+0080, U+00F6, U+20AC, U+1F600, U+FB33', () => {
      const input = {
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew Letter Dalet With Dagesh',
        '1': 'One',
        '\ud83d\ude00': 'Emoji: Grinning Face',
        '\u0080': 'Control',
        '\u00f6': 'Latin Small Letter O With Diaeresis',
      };
      const text = jcs(input);
      const order = ['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) =>
        text.indexOf(`"${k}":`),
      );
      expect(order.every((pos) => pos > 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    });
  });

  describe('when numbers are serialised', () => {
    it.each([
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [2.1e8, '210000000'],
      [0.125, '0.125'],
      [1e-7, '1e-7'],
      [-0, '0'],
      [0.1 + 0.2, '0.30000000000000004'],
    ])('writes %s as %s (ECMAScript Number serialisation)', (n, text) => {
      expect(jcs(n)).toBe(text);
    });
  });

  describe('when strings are serialised', () => {
    it('escapes only what JSON requires and writes other characters literally', () => {
      expect(jcs('\u00e9/\u2028\u001f"\\\n')).toBe('"\u00e9/\u2028\\u001f\\"\\\\\\n"');
    });
  });

  describe('when the value is not plain JSON data', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    it.each<[string, unknown]>([
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['a nested -Infinity', { a: [Number.NEGATIVE_INFINITY] }],
      ['undefined', undefined],
      ['an undefined member', { a: undefined }],
      ['a function', () => 1],
      ['a bigint', 1n],
      ['a symbol', Symbol('s')],
      ['a Date', new Date(0)],
      ['a Map', new Map()],
      ['a Uint8Array', new Uint8Array(1)],
      ['an array hole', new Array(3)],
      ['an undefined array element', [1, undefined, 3]],
      ['a lone surrogate', '\ud800'],
      ['a key with a lone surrogate', { '\udc00': 1 }],
      ['a cycle', cyclic],
      ['an object with a toJSON method', { toJSON: () => 'x' }],
    ])('refuses %s with JCS_INVALID_VALUE', (_, value) => {
      expect(codeOf(() => jcs(value))).toBe('JCS_INVALID_VALUE');
    });

    it('refuses nesting deeper than 1000 with JCS_INVALID_VALUE instead of overflowing the stack', () => {
      let v: unknown = 0;
      for (let i = 0; i < 1001; i++) v = [v];
      expect(codeOf(() => jcs(v))).toBe('JCS_INVALID_VALUE');
    });
  });

  describe('jcsBytes', () => {
    it('is the UTF-8 encoding of jcs', () => {
      const v = { b: '\u00e9', a: [1, 'x'] };
      expect(fromUtf8(jcsBytes(v))).toBe('{"a":[1,"x"],"b":"\u00e9"}');
      expect(jcsBytes(v).length).toBe(22);
    });
  });
});
