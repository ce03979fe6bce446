import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonStrict } from '../../protocol/src/json.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('parseJsonStrict', () => {
  describe('when given any JSON text without duplicate keys', () => {
    it('returns what JSON.parse returns', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 5 }), fc.boolean(), (v, pretty) => {
          const text = JSON.stringify(v, null, pretty ? 2 : undefined);
          expect(parseJsonStrict(text, 10)).toEqual(JSON.parse(text));
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('when a member name appears twice', () => {
    it.each([['{"a":1,"a":2}'], ['{"a":1,"\\u0061":2}'], ['[{"x":{"b":1,"b":1}}]']])(
      'refuses %s with JSON_DUPLICATE_KEY',
      (text) => {
        expect(codeOf(() => parseJsonStrict(text, 8))).toBe('JSON_DUPLICATE_KEY');
      },
    );
  });

  describe('when nesting exceeds the limit', () => {
    it('accepts exactly maxDepth levels and refuses one more with JSON_TOO_DEEP', () => {
      expect(parseJsonStrict('[[[]]]', 3)).toEqual([[[]]]);
      expect(codeOf(() => parseJsonStrict('[[[[]]]]', 3))).toBe('JSON_TOO_DEEP');
      expect(codeOf(() => parseJsonStrict('{"a":{"b":{"c":{}}}}', 3))).toBe('JSON_TOO_DEEP');
    });

    it('refuses 100,000 nested arrays with JSON_TOO_DEEP, not a stack overflow', () => {
      expect(codeOf(() => parseJsonStrict('['.repeat(100_000), 8))).toBe('JSON_TOO_DEEP');
    });
  });

  describe('when the text is not RFC 8259 JSON', () => {
    it.each([
      [''],
      [' '],
      ['\ufeff{}'],
      ['{}x'],
      ['{"a":1,}'],
      ['[1,]'],
      ["{'a':1}"],
      ['{"a" 1}'],
      ['01'],
      ['1.'],
      ['.5'],
      ['+1'],
      ['NaN'],
      ['1e400'],
      ['"\t"'],
      ['"\\x41"'],
      ['"\\u12"'],
      ['tru'],
      ['{"a":1'],
      ['\u00a0{}'],
    ])('refuses %j with JSON_MALFORMED', (text) => {
      expect(codeOf(() => parseJsonStrict(text, 8))).toBe('JSON_MALFORMED');
    });
  });

  describe('when a member is named __proto__', () => {
    it('keeps it as an own property and leaves the prototype alone', () => {
      const v = parseJsonStrict('{"__proto__":{"polluted":true}}', 8) as Record<string, unknown>;
      expect(Object.keys(v)).toEqual(['__proto__']);
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect((v as { polluted?: boolean }).polluted).toBeUndefined();
    });
  });
});
