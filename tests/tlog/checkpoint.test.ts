import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  parsePrivateKey,
  parseVerifierKey,
  verifierKeyOf,
} from '../../src/note/keys.js';
import { openNote, parseNote, signNote } from '../../src/note/note.js';
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../src/tlog/checkpoint.js';
import { signCosignature } from '../../src/tlog/cosignature.js';
import { codeOf } from '../helpers/errors.js';

const vectors = (p: string) => new URL(`../../../shared/vectors/${p}`, import.meta.url);
const readText = (p: string) => readFileSync(vectors(p), 'utf8');

const c2sp = JSON.parse(readText('c2sp-spec-examples/c2sp-examples.json')) as {
  checkpoint: { text: string; origin: string; tree_size: number; root_b64: string; signed: string };
};
const sumdb = JSON.parse(readText('golang-x-mod-sumdb/realworld-sumdb-checkpoint.json')) as {
  vkey: string;
  note: string;
  origin: string;
  tree_size: number;
  root_b64: string;
};
const tlogNote = JSON.parse(readText('golang-x-mod-sumdb/tlog-note-vectors.json')) as {
  format_tree: { tree_size: number; root_b64: string; text: string };
  parse_tree_bad: string[];
};
const tesseraRoots = (
  JSON.parse(readText('tessera-testdata-log/derived/proofs.json')) as { roots_b64: string[] }
).roots_b64;
const TESSERA_VKEY =
  'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const TESSERA_SKEY =
  'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
const H = '000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706';

const ROOT = new Uint8Array(32).fill(7);
const logSigner = generateKey('log.example/1', 1, (n) => new Uint8Array(n).fill(1)).signer;
const LOG = verifierKeyOf(logSigner);

describe('parseCheckpoint', () => {
  describe('when the body is the C2SP tlog-checkpoint example', () => {
    it('gives its origin, size and root, and formats back byte for byte', () => {
      const c = parseCheckpoint(c2sp.checkpoint.text);
      expect(c.origin).toBe('example.com/behind-the-sofa');
      expect(c.size).toBe(20852163);
      expect(toBase64(c.rootHash)).toBe(c2sp.checkpoint.root_b64);
      expect(c.extensions).toEqual([]);
      expect(formatCheckpoint(c)).toBe(c2sp.checkpoint.text);
      expect(parseNote(c2sp.checkpoint.signed).text).toBe(c2sp.checkpoint.text);
    });
  });

  describe('when the body is the x/mod sumdb tree note (size above 2^32)', () => {
    it('parses it', () => {
      const c = parseCheckpoint(tlogNote.format_tree.text);
      expect(c.size).toBe(123456789012);
      expect(toBase64(c.rootHash)).toBe(tlogNote.format_tree.root_b64);
    });
  });

  describe.each([
    ['a hex size (x/mod parse_tree_bad[1])', tlogNote.parse_tree_bad[1]!],
    [
      'a root that is not base64 of 32 bytes (x/mod parse_tree_bad[2])',
      tlogNote.parse_tree_bad[2]!,
    ],
    ['a size with a leading zero', 'o\n07\n' + toBase64(ROOT) + '\n'],
    ['a size of 00', 'o\n00\n' + toBase64(ROOT) + '\n'],
    ['a negative size', 'o\n-1\n' + toBase64(ROOT) + '\n'],
    ['a plus-signed size', 'o\n+1\n' + toBase64(ROOT) + '\n'],
    ['a size with a space', 'o\n 1\n' + toBase64(ROOT) + '\n'],
    ['a fractional size', 'o\n1.0\n' + toBase64(ROOT) + '\n'],
    ['a size of 2^53', 'o\n9007199254740992\n' + toBase64(ROOT) + '\n'],
    ['a 20-digit size', 'o\n18446744073709551615\n' + toBase64(ROOT) + '\n'],
    ['an empty size', 'o\n\n' + toBase64(ROOT) + '\n'],
    ['a 31-byte root', 'o\n1\n' + toBase64(ROOT.subarray(1)) + '\n'],
    ['a 33-byte root', 'o\n1\n' + toBase64(new Uint8Array(33)) + '\n'],
    ['an unpadded root', 'o\n1\n' + toBase64(ROOT).replace('=', '') + '\n'],
    ['a root with non-zero trailing bits', 'o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwd=\n'],
    ['an empty origin', '\n1\n' + toBase64(ROOT) + '\n'],
    ['only two lines', 'o\n1\n'],
    ['no final newline', 'o\n1\n' + toBase64(ROOT)],
    ['an empty extension line', 'o\n1\n' + toBase64(ROOT) + '\next\n\n'],
    ['a carriage return', 'o\r\n1\n' + toBase64(ROOT) + '\n'],
    ['a NUL in the origin', 'o\u0000\n1\n' + toBase64(ROOT) + '\n'],
  ])('when the body has %s', (_what, body) => {
    it('rejects it with CHECKPOINT_MALFORMED', () => {
      expect(codeOf(() => parseCheckpoint(body))).toBe('CHECKPOINT_MALFORMED');
    });
  });

  describe('when the size is 2^53 − 1 and there are extension lines', () => {
    it('keeps both', () => {
      const c = parseCheckpoint(`o\n9007199254740991\n${toBase64(ROOT)}\nx y\n— z\n`);
      expect(c.size).toBe(Number.MAX_SAFE_INTEGER);
      expect(c.extensions).toEqual(['x y', '— z']);
    });
  });

  describe('when the size is 0 with the empty-tree root (Tessera checkpoint.0)', () => {
    it('parses it', () => {
      const c = parseCheckpoint(parseNote(readText('tessera-testdata-log/log/checkpoint.0')).text);
      expect(c.size).toBe(0);
      expect(c.rootHash).toEqual(sha256());
    });
  });
});

describe('formatCheckpoint', () => {
  describe.each<[string, Checkpoint]>([
    ['an empty origin', { origin: '', size: 1, rootHash: ROOT, extensions: [] }],
    ['a newline in the origin', { origin: 'a\nb', size: 1, rootHash: ROOT, extensions: [] }],
    ['a negative size', { origin: 'o', size: -1, rootHash: ROOT, extensions: [] }],
    ['a fractional size', { origin: 'o', size: 1.5, rootHash: ROOT, extensions: [] }],
    ['an unsafe size', { origin: 'o', size: 2 ** 53, rootHash: ROOT, extensions: [] }],
    ['a 31-byte root', { origin: 'o', size: 1, rootHash: ROOT.subarray(1), extensions: [] }],
    ['an empty extension', { origin: 'o', size: 1, rootHash: ROOT, extensions: [''] }],
    ['a newline in an extension', { origin: 'o', size: 1, rootHash: ROOT, extensions: ['a\n'] }],
  ])('when the checkpoint has %s', (_what, c) => {
    it('refuses it with CHECKPOINT_MALFORMED', () => {
      expect(codeOf(() => formatCheckpoint(c))).toBe('CHECKPOINT_MALFORMED');
    });
  });

  describe('when checkpoints are random', () => {
    it('parse(format(c)) gives c back', () => {
      const line = fc
        .string({ unit: 'binary', minLength: 1, maxLength: 30 })
        .map((s) => s.replace(/[\u0000-\u001f]/g, ''))
        .filter((s) => s.length > 0);
      fc.assert(
        fc.property(
          line,
          fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.array(line, { maxLength: 3 }),
          (origin, size, rootHash, extensions) => {
            const c = { origin, size, rootHash, extensions };
            const body = formatCheckpoint(c);
            expect(parseCheckpoint(body)).toEqual(c);
            expect(formatCheckpoint(parseCheckpoint(body))).toBe(body);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});

describe('openCheckpoint', () => {
  describe('when the note is one of Tessera’s 16 test-log checkpoints', () => {
    const key = parseVerifierKey(TESSERA_VKEY);
    const signer = parsePrivateKey(TESSERA_SKEY);

    it.each(Array.from({ length: 16 }, (_, n) => n))(
      'verifies checkpoint.%i with the log’s vkey, and its root matches the recomputed one',
      (n) => {
        const note = readText(`tessera-testdata-log/log/checkpoint.${n}`);
        const { checkpoint } = openCheckpoint(note, key);
        expect(checkpoint.origin).toBe('example.com/log/testdata');
        expect(checkpoint.size).toBe(n);
        expect(toBase64(checkpoint.rootHash)).toBe(tesseraRoots[n]);
        // Ed25519 is deterministic: signing the same checkpoint with Tessera's key gives its file.
        expect(signCheckpoint(checkpoint, signer)).toBe(note);
      },
    );

    it('finds `checkpoint` identical to checkpoint.15', () => {
      expect(readText('tessera-testdata-log/log/checkpoint')).toBe(
        readText('tessera-testdata-log/log/checkpoint.15'),
      );
    });
  });

  describe('when the note is the real sum.golang.org checkpoint', () => {
    const key = parseVerifierKey(sumdb.vkey);

    it('verifies it when told the origin is "go.sum database tree"', () => {
      const { checkpoint } = openCheckpoint(sumdb.note, key, [], { origin: sumdb.origin });
      expect(checkpoint.size).toBe(sumdb.tree_size);
      expect(toBase64(checkpoint.rootHash)).toBe(sumdb.root_b64);
    });

    it('rejects it with CHECKPOINT_ORIGIN when the origin must be the key name', () => {
      expect(codeOf(() => openCheckpoint(sumdb.note, key))).toBe('CHECKPOINT_ORIGIN');
    });

    it('rejects a copy whose size was changed with NOTE_BAD_SIGNATURE', () => {
      const forged = sumdb.note.replace('1514086', '1514087');
      expect(codeOf(() => openCheckpoint(forged, key, [], { origin: sumdb.origin }))).toBe(
        'NOTE_BAD_SIGNATURE',
      );
    });
  });

  describe('when the note is Sunlight’s mirror checkpoint, signed only by a type-0x04 cosigner', () => {
    it('verifies it with the mirror’s cosigner key as the signing key', () => {
      const note = readText(`sunlight-skylight-testdata/witness/mirror/${H}/checkpoint`);
      const mirror = parseVerifierKey(
        'mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O',
      );
      const { checkpoint } = openCheckpoint(note, mirror, [], { origin: 'rome2026h1.example.org' });
      expect(checkpoint.size).toBe(300);
      expect(toBase64(checkpoint.rootHash)).toBe('gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=');
    });
  });

  describe('when the note is Sunlight’s log checkpoint (RFC 6962 type-0x05 signature only)', () => {
    it('parses the body, but no Ed25519 key can open it (NOTE_UNVERIFIED)', () => {
      const note = readText('sunlight-skylight-testdata/tree/checkpoint');
      const c = parseCheckpoint(parseNote(note).text);
      expect(c.origin).toBe('rome2026h1.example.org');
      expect(c.size).toBe(300);
      const logish = generateKey('rome2026h1.example.org', 1, (n) => new Uint8Array(n)).signer;
      expect(codeOf(() => openCheckpoint(note, verifierKeyOf(logish)))).toBe('NOTE_UNVERIFIED');
    });
  });

  describe('when a checkpoint is signed by our log and cosigned by a witness', () => {
    const c: Checkpoint = { origin: LOG.name, size: 42, rootHash: ROOT, extensions: [] };
    const witness = generateKey('w.example', KEY_TYPE_COSIGNATURE, (n) =>
      new Uint8Array(n).fill(2),
    );
    const W = verifierKeyOf(witness.signer);
    const signed = signCheckpoint(c, logSigner);
    const cosigned = signed + signCosignature(formatCheckpoint(c), witness.signer, 1_700_000_000);

    it('opens with the log key alone and with the witness as an extra verifier', () => {
      expect(openCheckpoint(cosigned, LOG).checkpoint).toEqual(c);
      const { note } = openCheckpoint(cosigned, LOG, [W, LOG]);
      expect(note.verified.map((k) => k.name)).toEqual([LOG.name, 'w.example']);
    });

    it('rejects a copy without the log signature with CHECKPOINT_UNSIGNED', () => {
      const witnessOnly = `${formatCheckpoint(c)}\n${cosigned.split('\n').at(-2)}\n`;
      expect(openNote(witnessOnly, [W]).verified).toHaveLength(1);
      expect(codeOf(() => openCheckpoint(witnessOnly, LOG, [W]))).toBe('CHECKPOINT_UNSIGNED');
    });

    it('rejects it with NOTE_AMBIGUOUS_KEY when an extra verifier collides with the log key', () => {
      const clash = { ...LOG, publicKey: W.publicKey };
      expect(codeOf(() => openCheckpoint(cosigned, LOG, [clash]))).toBe('NOTE_AMBIGUOUS_KEY');
    });
  });

  describe('when a validly signed note is not a checkpoint', () => {
    it('rejects it with CHECKPOINT_MALFORMED', () => {
      const signed = signNote('log.example/1\nnot a size\n', [logSigner]);
      expect(codeOf(() => openCheckpoint(signed, LOG))).toBe('CHECKPOINT_MALFORMED');
    });
  });

  describe('when the origin is another log’s', () => {
    it('rejects it with CHECKPOINT_ORIGIN', () => {
      const signed = signCheckpoint(
        { origin: 'other.example', size: 1, rootHash: ROOT, extensions: [] },
        logSigner,
      );
      expect(codeOf(() => openCheckpoint(signed, LOG))).toBe('CHECKPOINT_ORIGIN');
      expect(openCheckpoint(signed, LOG, [], { origin: 'other.example' }).checkpoint.size).toBe(1);
    });
  });
});
