/** tlog-witness wire formats: request framing, 409 bodies, cosignature answers, origin hashes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatAddCheckpointRequest,
  joinUrl,
  originHash,
  parseAddCheckpointRequest,
  parseTlogSize,
  splitCosignatureLines,
} from '../../src/witness/protocol.js';

const NOTE =
  'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 example.com/log AAAAAQ==\n';

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('parseAddCheckpointRequest', () => {
  describe('when given the bytes formatAddCheckpointRequest writes (property)', () => {
    it('gives back the old size, the proof and the checkpoint', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 63 }),
          (old, proof) => {
            const body = formatAddCheckpointRequest(old, proof, NOTE);
            const r = parseAddCheckpointRequest(new TextEncoder().encode(body));
            expect(r.oldSize).toBe(old);
            expect(r.proof.map((h) => [...h])).toEqual(proof.map((h) => [...h]));
            expect(r.checkpoint).toBe(NOTE);
          },
        ),
      );
    });
  });

  describe('when the framing is wrong', () => {
    it.each([
      ['an empty body', ''],
      ['no newline at all', 'old 0'],
      ['"old" missing', `0\n\n${NOTE}`],
      ['a leading zero', `old 01\n\n${NOTE}`],
      ['a negative size', `old -1\n\n${NOTE}`],
      ['a size above 2^53-1', `old 9007199254740992\n\n${NOTE}`],
      ['two spaces', `old  1\n\n${NOTE}`],
      ['CRLF line ends', `old 1\r\n\r\n${NOTE}`],
      ['a 31-byte proof hash', `old 1\n${Buffer.alloc(31).toString('base64')}\n\n${NOTE}`],
      ['non-canonical base64', 'old 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n\n' + NOTE],
      [
        '64 proof lines',
        `old 1\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(64)}\n${NOTE}`,
      ],
      ['no blank line', 'old 1\n'],
      ['nothing after the blank line', 'old 1\n\n'],
    ])('throws WITNESS_REQUEST_MALFORMED for %s', (_n, body) => {
      expect(code(() => parseAddCheckpointRequest(body))).toBe('WITNESS_REQUEST_MALFORMED');
    });

    it('throws WITNESS_REQUEST_MALFORMED for invalid UTF-8', () => {
      const body = new Uint8Array([...new TextEncoder().encode('old 0\n\n'), 0xff, 0x0a]);
      expect(code(() => parseAddCheckpointRequest(body))).toBe('WITNESS_REQUEST_MALFORMED');
    });
  });

  describe('when arbitrary bytes arrive (property)', () => {
    it('either parses or throws WITNESS_REQUEST_MALFORMED, never anything else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
          const c = code(() => parseAddCheckpointRequest(b));
          expect([undefined, 'WITNESS_REQUEST_MALFORMED']).toContain(c);
        }),
      );
    });
  });
});

describe('formatAddCheckpointRequest', () => {
  it('writes the example layout of the spec: old line, proof lines, blank line, checkpoint', () => {
    const h = new Uint8Array(32).fill(1);
    expect(formatAddCheckpointRequest(20852014, [h], NOTE)).toBe(
      `old 20852014\n${Buffer.from(h).toString('base64')}\n\n${NOTE}`,
    );
  });

  it('throws RangeError for 64 proof hashes', () => {
    expect(() =>
      formatAddCheckpointRequest(
        1,
        Array.from({ length: 64 }, () => new Uint8Array(32)),
        NOTE,
      ),
    ).toThrow(RangeError);
  });
});

describe('parseTlogSize', () => {
  it('reads "<decimal>\\n"', () => {
    expect(parseTlogSize('20852014\n')).toBe(20852014);
    expect(parseTlogSize('0\n')).toBe(0);
  });

  it.each(['', '5', '05\n', '5\n\n', ' 5\n', '-1\n'])(
    'throws WITNESS_RESPONSE_MALFORMED for %j',
    (s) => {
      expect(code(() => parseTlogSize(s))).toBe('WITNESS_RESPONSE_MALFORMED');
    },
  );
});

describe('splitCosignatureLines', () => {
  it('splits an answer into newline-terminated signature lines', () => {
    expect(splitCosignatureLines('\u2014 a AAAA\n\u2014 b BBBB\n')).toEqual([
      '\u2014 a AAAA\n',
      '\u2014 b BBBB\n',
    ]);
  });

  it.each(['', '\u2014 a AAAA', 'x\n', '\u2014 a AAAA\n\n'])(
    'throws WITNESS_RESPONSE_MALFORMED for %j',
    (s) => {
      expect(code(() => splitCosignatureLines(s))).toBe('WITNESS_RESPONSE_MALFORMED');
    },
  );
});

describe('originHash and joinUrl', () => {
  it('hashes the Sunlight test origin to the directory name of its witness data', () => {
    expect(originHash('rome2026h1.example.org')).toBe(
      '000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706',
    );
  });

  it('joins prefixes with and without trailing slashes with one slash', () => {
    expect(joinUrl('http://w.test/', 'add-checkpoint')).toBe('http://w.test/add-checkpoint');
    expect(joinUrl('http://w.test/sub', '/add-checkpoint')).toBe(
      'http://w.test/sub/add-checkpoint',
    );
  });
});
