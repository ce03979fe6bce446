import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/core/bytes.js';
import { splitJsonArray } from '../../src/log/batch-body.js';
import { codeOf } from '../helpers/errors.js';

const dec = new TextDecoder();
const split = (s: string | Uint8Array, maxElements = 1000) =>
  splitJsonArray(typeof s === 'string' ? utf8(s) : s, { maxElements }).map((b) => dec.decode(b));

describe('splitJsonArray', () => {
  it('gives back the text of every element of any JSON array, whatever its whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(undefined, 0, 1, 2, '\t', '\r\n '),
        (values, indent) => {
          const text =
            typeof indent === 'string' && indent.includes('\r')
              ? `\r\n[ ${values.map((v) => JSON.stringify(v)).join(' ,\n')} ]\t`
              : JSON.stringify(values, null, indent as string | number | undefined);
          const parts = split(text);
          expect(parts.map((p) => JSON.parse(p))).toEqual(JSON.parse(text));
          // Each part is exactly the element's text: no surrounding whitespace or commas.
          for (const p of parts) expect(p).toBe(p.trim());
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses what JSON.parse would not read as an array, as a whole', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        let isArray = false;
        try {
          isArray = Array.isArray(JSON.parse(s));
        } catch {}
        const c = codeOf(() => split(s));
        // The scan checks structure only: when it accepts, JSON.parse agrees it is an array,
        // or one of the elements (checked strictly later, on its own) is not valid JSON.
        if (c === undefined && !isArray) {
          const parts = split(s);
          expect(
            parts.some((p) => {
              try {
                JSON.parse(p);
                return false;
              } catch {
                return true;
              }
            }),
          ).toBe(true);
        }
        if (isArray && JSON.parse(s).length > 0) expect(c).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['', 'ENTRY_MALFORMED_JSON'],
    ['{}', 'ENTRY_MALFORMED_JSON'],
    ['[1,]', 'ENTRY_MALFORMED_JSON'],
    ['[,1]', 'ENTRY_MALFORMED_JSON'],
    ['[1 2', 'ENTRY_MALFORMED_JSON'],
    ['[{"a":"b]', 'ENTRY_MALFORMED_JSON'],
    ['[{"a":[}]]', 'ENTRY_MALFORMED_JSON'],
    ['[{}}]', 'ENTRY_MALFORMED_JSON'],
    ['[1] x', 'ENTRY_MALFORMED_JSON'],
    ['[1][2]', 'ENTRY_MALFORMED_JSON'],
    ['[]', 'ENTRY_EMPTY'],
    [' [ \n ] ', 'ENTRY_EMPTY'],
    ['[] x', 'ENTRY_MALFORMED_JSON'],
  ])('refuses %j with %s', (body, want) => {
    expect(codeOf(() => split(body))).toBe(want);
  });

  it('refuses a body that is not UTF-8, and too deep a nesting, as a whole', () => {
    expect(codeOf(() => split(Uint8Array.of(0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d)))).toBe(
      'ENTRY_MALFORMED_JSON',
    );
    const deep = `[${'['.repeat(1001)}${']'.repeat(1001)}]`;
    expect(codeOf(() => split(deep))).toBe('ENTRY_MALFORMED_JSON');
    expect(split(`[${'['.repeat(999)}${']'.repeat(999)}]`)).toHaveLength(1);
  });

  it('keeps escaped quotes and brackets inside strings within their element', () => {
    expect(split('["a\\"],[", {"k":"}\\\\"} ,[]]')).toEqual(['"a\\"],["', '{"k":"}\\\\"}', '[]']);
  });

  it('keeps what JSON.parse would hide: duplicate keys stay in the element for the strict parse', () => {
    expect(split('[{"a":1,"a":2}]')).toEqual(['{"a":1,"a":2}']);
  });

  it('refuses more than maxElements with BATCH_TOO_LARGE', () => {
    expect(split('[1,2,3]', 3)).toHaveLength(3);
    expect(codeOf(() => split('[1,2,3,4]', 3))).toBe('BATCH_TOO_LARGE');
  });
});
