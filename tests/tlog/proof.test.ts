/**
 * C2SP tlog-proof: the Tessera-derived proofs (../shared/vectors/tessera-testdata-log/derived),
 * the spec example's layout (../shared/vectors/c2sp-spec-examples), strict parsing, round trip.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import { hashLeaf, inclusionProofNodes } from '../../src/merkle/rfc9162.js';
import {
  formatTlogProof,
  parseTlogProof,
  type TlogProof,
  verifyTlogProofInclusion,
} from '../../src/tlog/proof.js';

const VECTORS = path.resolve(process.cwd(), '../shared/vectors');
const TESSERA = path.join(VECTORS, 'tessera-testdata-log');
const read = (p: string) => readFileSync(path.join(TESSERA, p));

/** Size and root from the checkpoint body (origin, size, root); signatures are checked elsewhere. */
function checkpointOf(text: string) {
  const [, size, root] = text.split('\n');
  return { size: Number(size), rootHash: fromBase64(root!) };
}

function codeOf(f: () => void): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!isVPauseError(e)) throw e;
    return e.code;
  }
}

const FILES = [
  ['tlog-proof-index-0.txt', 0, false],
  ['tlog-proof-index-7.txt', 7, false],
  ['tlog-proof-index-14.txt', 14, false],
  ['tlog-proof-index-3-extra.txt', 3, true],
] as const;

describe('the Tessera-derived tlog-proofs against checkpoint.15', () => {
  const checkpoint15 = read('log/checkpoint.15').toString('utf8');

  it.each(FILES)(
    '%s parses, carries checkpoint.15 verbatim and proves entry %i included',
    (file, index, extra) => {
      const text = read(`derived/${file}`).toString('utf8');
      const p = parseTlogProof(text);
      expect(p.index).toBe(index);
      expect(p.checkpoint).toBe(checkpoint15);
      expect(p.extraData !== undefined).toBe(extra);
      expect(p.hashes.length).toBe(inclusionProofNodes(index, 15).length);
      const entry = new Uint8Array(read(`derived/entry-${index}.bin`));
      verifyTlogProofInclusion(p, hashLeaf(entry), checkpointOf(p.checkpoint));
      expect(formatTlogProof(p)).toBe(text);
      expect(parseTlogProof(new Uint8Array(Buffer.from(text)))).toEqual(p);
    },
  );

  it.each(FILES)('%s refuses another entry with PROOF_INVALID', (file, index) => {
    const p = parseTlogProof(read(`derived/${file}`).toString('utf8'));
    const other = new Uint8Array(read(`derived/entry-${index === 0 ? 7 : 0}.bin`));
    expect(
      codeOf(() => verifyTlogProofInclusion(p, hashLeaf(other), checkpointOf(p.checkpoint))),
    ).toBe('PROOF_INVALID');
  });

  it('refuses the proof against another checkpoint than its own with TLOG_PROOF_CHECKPOINT_MISMATCH', () => {
    const p = parseTlogProof(read('derived/tlog-proof-index-7.txt').toString('utf8'));
    const entry = new Uint8Array(read('derived/entry-7.bin'));
    const cp14 = checkpointOf(read('log/checkpoint.14').toString('utf8'));
    expect(codeOf(() => verifyTlogProofInclusion(p, hashLeaf(entry), cp14))).toBe(
      'TLOG_PROOF_CHECKPOINT_MISMATCH',
    );
  });

  it('refuses an index at or beyond the checkpoint size with PROOF_MALFORMED', () => {
    const p = parseTlogProof(read('derived/tlog-proof-index-14.txt').toString('utf8'));
    const entry = new Uint8Array(read('derived/entry-14.bin'));
    const moved: TlogProof = { ...p, index: 15 };
    expect(
      codeOf(() => verifyTlogProofInclusion(moved, hashLeaf(entry), checkpointOf(p.checkpoint))),
    ).toBe('PROOF_MALFORMED');
  });

  it('reads the extra data of tlog-proof-index-3-extra.txt', () => {
    const p = parseTlogProof(read('derived/tlog-proof-index-3-extra.txt').toString('utf8'));
    expect(Buffer.from(p.extraData!).toString('utf8')).toBe('vpause test extra data');
  });
});

describe('the tlog-proof spec example (signatures elided: layout only)', () => {
  const example = JSON.parse(
    readFileSync(path.join(VECTORS, 'c2sp-spec-examples/c2sp-examples.json'), 'utf8'),
  ).tlog_proof.text as string;

  it('parses to index 73894, 5 hashes, extra data and the checkpoint text, and formats back byte for byte', () => {
    const p = parseTlogProof(example);
    expect(p.index).toBe(73894);
    expect(p.hashes.length).toBe(5);
    expect(p.extraData?.length).toBe(39);
    expect(p.checkpoint.startsWith('example.com/fancylog\n109482\n')).toBe(true);
    expect(formatTlogProof(p)).toBe(example);
  });
});

describe('parseTlogProof when the text is not strictly a tlog-proof', () => {
  const good = read('derived/tlog-proof-index-3-extra.txt').toString('utf8');
  const lines = good.split('\n');
  const h = lines[3]!; // a proof hash line
  const replaceLine = (i: number, s: string) => lines.map((l, k) => (k === i ? s : l)).join('\n');

  it.each([
    ['a wrong header', replaceLine(0, 'c2sp.org/tlog-proof@v2')],
    ['CRLF line endings', good.replaceAll('\n', '\r\n')],
    ['an index with a leading zero', replaceLine(2, 'index 03')],
    ['a negative index', replaceLine(2, 'index -3')],
    ['an index beyond 2^53 − 1', replaceLine(2, 'index 9007199254740992')],
    ['an index with a plus sign', replaceLine(2, 'index +3')],
    ['no index line', lines.filter((_, k) => k !== 2).join('\n')],
    ['two spaces after index', replaceLine(2, 'index  3')],
    ['extra data that is not base64', replaceLine(1, 'extra !!!')],
    ['extra data without padding', replaceLine(1, 'extra dnBhdXNlIA')],
    [
      'the extra line after the index',
      [lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n'),
    ],
    ['a hash without padding', replaceLine(3, h.slice(0, -1))],
    ['a 31-byte hash', replaceLine(3, Buffer.alloc(31).toString('base64'))],
    ['a 33-byte hash', replaceLine(3, Buffer.alloc(33).toString('base64'))],
    ['a hash with trailing space', replaceLine(3, `${h} `)],
    ['64 proof hashes', replaceLine(3, Array(61).fill(h).join('\n'))],
    ['no empty line before the checkpoint', good.replace('\n\n', '\n')],
    ['no checkpoint', good.slice(0, good.indexOf('\n\n') + 2)],
    ['a checkpoint without its final newline', good.slice(0, -1)],
    ['an empty line after the empty line', good.replace('\n\n', '\n\n\n')],
  ])('refuses %s with TLOG_PROOF_MALFORMED', (_, text) => {
    expect(codeOf(() => parseTlogProof(text))).toBe('TLOG_PROOF_MALFORMED');
  });

  it('refuses bytes that are not UTF-8 with TLOG_PROOF_MALFORMED', () => {
    expect(codeOf(() => parseTlogProof(new Uint8Array([0xff, 0x0a, 0x0a])))).toBe(
      'TLOG_PROOF_MALFORMED',
    );
  });
});

describe('formatTlogProof', () => {
  const checkpoint =
    'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.com/log AAAA\n';

  it('round-trips with parseTlogProof for any index, hashes and extra data', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 63 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        (index, hashes, extraData) => {
          const proof: TlogProof = {
            index,
            hashes,
            checkpoint,
            ...(extraData ? { extraData } : {}),
          };
          const text = formatTlogProof(proof);
          expect(parseTlogProof(text)).toEqual(proof);
          expect(formatTlogProof(parseTlogProof(text))).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ['a negative index', { index: -1, hashes: [], checkpoint }],
    ['a fractional index', { index: 1.5, hashes: [], checkpoint }],
    ['a 31-byte hash', { index: 0, hashes: [new Uint8Array(31)], checkpoint }],
    ['64 hashes', { index: 0, hashes: Array(64).fill(new Uint8Array(32)), checkpoint }],
    [
      'a checkpoint without its final newline',
      { index: 0, hashes: [], checkpoint: checkpoint.slice(0, -1) },
    ],
    ['an empty checkpoint', { index: 0, hashes: [], checkpoint: '' }],
  ])('refuses %s with TLOG_PROOF_MALFORMED', (_, p) => {
    expect(codeOf(() => formatTlogProof(p))).toBe('TLOG_PROOF_MALFORMED');
  });
});
