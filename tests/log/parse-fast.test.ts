import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jcsBytes, PAYLOAD_TYPE, parseEntry, signEnvelope } from '../../protocol/src/index.js';
import { utf8 } from '../../src/core/bytes.js';
import { TestLab } from '../helpers/world.js';

/**
 * parseEntry reads canonical entries on a fast path (JSON.parse and a direct JCS check) and
 * everything else on the strict path. Prefixing a space makes any entry non-canonical, so it is
 * read by the strict path alone: both must agree on every input, valid or not.
 */
const lab = new TestLab('lab-a.example');

function outcome(bytes: Uint8Array): unknown {
  try {
    const p = parseEntry(bytes);
    return { ok: p };
  } catch (e) {
    return { code: (e as { code?: string }).code };
  }
}

function strictOutcome(bytes: Uint8Array): unknown {
  const spaced = new Uint8Array(bytes.length + 1);
  spaced[0] = 0x20;
  spaced.set(bytes, 1);
  if (spaced.length > 65_535) return outcome(bytes); // the size rule differs by one byte there
  return outcome(spaced);
}

const envelopeOf = (payload: Uint8Array, type: string = PAYLOAD_TYPE.usage) =>
  jcsBytes(signEnvelope(type, payload, lab.root.signer));

describe('the fast path of parseEntry agrees with the strict path', () => {
  it('on valid statements of every kind', () => {
    const bodies = [
      lab.register('n1').body,
      lab.register('n1', 'revoke').body,
      lab.usage('n1').body,
      lab.usage('n1', { flop: 1e21, tensorActive: 0.125, workload: 'mixed' }).body,
    ];
    for (const b of bodies) {
      const fast = outcome(b) as { ok: unknown };
      expect(fast.ok).toBeDefined();
      expect(fast).toEqual(strictOutcome(b));
    }
  });

  it('on arbitrary JSON payloads (canonical or not, deep, with surrogates, duplicates)', () => {
    const texts = fc.oneof(
      fc.jsonValue({ maxDepth: 10 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v, null, 1)),
      fc.string({ unit: 'binary' }),
      fc.constantFrom(
        '{"a":1,"a":2}',
        '{"a":"\\ud800"}',
        '{"\\udc00":1}',
        '[1e400]',
        '{"__proto__":1}',
        '[[[[[[[[1]]]]]]]]',
        '[[[[[[[[[1]]]]]]]]]',
        '{"v":1,"x":-0}',
        '{"b":1,"a":2}',
        '1.0',
        '"\\u00e9"',
      ),
    );
    fc.assert(
      fc.property(texts, fc.constantFrom(...Object.values(PAYLOAD_TYPE), 'x/y'), (t, type) => {
        const b = envelopeOf(utf8(t), type);
        expect(outcome(b)).toEqual(strictOutcome(b));
      }),
      { numRuns: 400 },
    );
  });

  it('on mutated envelopes', () => {
    const base = JSON.parse(new TextDecoder().decode(lab.usage('n1').body));
    const variants = [
      { ...base, extra: 1 },
      { ...base, signatures: [] },
      { ...base, signatures: [base.signatures[0], base.signatures[0]] },
      { ...base, payload: `${base.payload.slice(0, -1)}=` },
      { ...base, payload: base.payload.replace(/=+$/, '') },
      { ...base, payloadType: 'application/vnd.vpause.usage+json\ud800' },
      { ...base, signatures: [{ ...base.signatures[0], keyid: 'x\ud800' }] },
      { payloadType: base.payloadType, signatures: base.signatures, payload: base.payload },
    ];
    for (const v of variants) {
      const b = utf8(JSON.stringify(v));
      expect(outcome(b)).toEqual(strictOutcome(b));
    }
  });
});
