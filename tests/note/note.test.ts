/**
 * Signed notes against Go x/mod's own vectors (../shared/vectors/golang-x-mod-sumdb, transcribed
 * from sumdb/note/note_test.go and example_test.go), the real sum.golang.org checkpoint, and the
 * C2SP signed-note examples. x/mod's errors map to our codes as:
 *   errMalformedNote → NOTE_MALFORMED (NOTE_TOO_BIG for x/mod's over-100-signatures case),
 *   UnverifiedNoteError → NOTE_UNVERIFIED, InvalidSignatureError → NOTE_BAD_SIGNATURE,
 *   ambiguousVerifierError → NOTE_AMBIGUOUS_KEY.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  parsePrivateKey,
  parseVerifierKey,
  type VerifierKey,
} from '../../src/note/keys.js';
import {
  formatNote,
  formatSignatureLine,
  openNote,
  parseNote,
  signNote,
} from '../../src/note/note.js';
import { codeOf } from '../helpers/errors.js';

const vectors = (p: string) => new URL(`../../../shared/vectors/${p}`, import.meta.url);
const readText = (p: string) => readFileSync(vectors(p), 'utf8');

const goNote = JSON.parse(readText('golang-x-mod-sumdb/note-vectors.json')) as {
  keys: { name: string; vkey: string; skey?: string; seed_hex: string }[];
  text: string;
  signatures: { name: string; line: string; ed25519_signature_hex: string }[];
  signed_notes: { file: string; note: string }[];
};
const c2sp = JSON.parse(readText('c2sp-spec-examples/c2sp-examples.json')) as {
  signed_note: { verifiable: { vkey: string; note: string }; format_only: { note: string } };
};
const sumdb = JSON.parse(readText('golang-x-mod-sumdb/realworld-sumdb-checkpoint.json')) as {
  vkey: string;
  note: string;
  tree_size: number;
  root_b64: string;
};

const PETER = parseVerifierKey(goNote.keys[0]!.vkey);
const ENOCH = parseVerifierKey(goNote.keys[1]!.vkey);
const peterSigner = parsePrivateKey(goNote.keys[0]!.skey!);
const enochSigner = generateKey('EnochRoot', 1, (n) => new Uint8Array(n)).signer;
const TEXT = goNote.text;
const PETER_LINE = goNote.signatures[0]!.line;
const ENOCH_LINE = goNote.signatures[1]!.line;
const PETER_NOTE = readText('golang-x-mod-sumdb/peterneumann.note');
const BOTH_NOTE = readText('golang-x-mod-sumdb/peterneumann-enochroot.note');

const names = (ks: readonly VerifierKey[]) => ks.map((k) => k.name);

describe('signNote', () => {
  describe('when signing the x/mod text with PeterNeumann (TestSign / ExampleSign)', () => {
    it('produces peterneumann.note byte for byte', () => {
      expect(signNote(TEXT, [peterSigner])).toBe(PETER_NOTE);
      expect(PETER_NOTE).toBe(goNote.signed_notes[0]!.note);
    });
  });

  describe('when signing with PeterNeumann then EnochRoot (ExampleSign_add_signatures)', () => {
    it('produces peterneumann-enochroot.note byte for byte', () => {
      expect(signNote(TEXT, [peterSigner, enochSigner])).toBe(BOTH_NOTE);
    });
  });

  describe('when the text does not end with a newline', () => {
    it('rejects it with NOTE_MALFORMED', () => {
      expect(codeOf(() => signNote('no newline', [peterSigner]))).toBe('NOTE_MALFORMED');
      expect(codeOf(() => signNote('', [peterSigner]))).toBe('NOTE_MALFORMED');
    });
  });

  describe('when the text contains a control character or a lone surrogate', () => {
    it('rejects it with NOTE_MALFORMED', () => {
      expect(codeOf(() => signNote('a\rb\n', [peterSigner]))).toBe('NOTE_MALFORMED');
      expect(codeOf(() => signNote('a\u0000\n', [peterSigner]))).toBe('NOTE_MALFORMED');
      expect(codeOf(() => signNote('a\ud800\n', [peterSigner]))).toBe('NOTE_MALFORMED');
    });
  });

  describe('when the signer is a cosigner (type 0x04) or there is no signer', () => {
    it('rejects it with NOTE_INVALID_SIGNER', () => {
      const w = generateKey('w.example', KEY_TYPE_COSIGNATURE, (n) => new Uint8Array(n).fill(3));
      expect(codeOf(() => signNote(TEXT, [w.signer]))).toBe('NOTE_INVALID_SIGNER');
      expect(codeOf(() => signNote(TEXT, []))).toBe('NOTE_INVALID_SIGNER');
    });
  });

  describe('when the text has an empty last line', () => {
    it('still opens to the same text (the separator is the last blank line)', () => {
      const t = 'a\n\n';
      expect(openNote(signNote(t, [peterSigner]), [PETER]).text).toBe(t);
    });
  });
});

describe('openNote on the x/mod vectors', () => {
  describe('when only PeterNeumann is known and the note carries Peter and Enoch', () => {
    it('verifies Peter and lists Enoch as an ignored signature', () => {
      const n = openNote(BOTH_NOTE, [PETER]);
      expect(n.text).toBe(TEXT);
      expect(names(n.verified)).toEqual(['PeterNeumann']);
      expect(n.signatures.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
      expect(toHex(n.signatures[0]!.keyId)).toBe('c74f20a3');
      expect(toHex(n.signatures[0]!.sig)).toBe(goNote.signatures[0]!.ed25519_signature_hex);
    });
  });

  describe('when both keys are known', () => {
    it('verifies both, in note order', () => {
      expect(names(openNote(BOTH_NOTE, [ENOCH, PETER]).verified)).toEqual([
        'PeterNeumann',
        'EnochRoot',
      ]);
    });
  });

  describe('when no key is known', () => {
    it('rejects it with NOTE_UNVERIFIED', () => {
      expect(codeOf(() => openNote(BOTH_NOTE, []))).toBe('NOTE_UNVERIFIED');
    });
  });

  describe('when a needed key is listed twice (x/mod "ambiguous key")', () => {
    const dup = [ENOCH, PETER, ENOCH];

    it('rejects a note signed by that key with NOTE_AMBIGUOUS_KEY', () => {
      expect(codeOf(() => openNote(`${TEXT}\n${ENOCH_LINE}`, dup))).toBe('NOTE_AMBIGUOUS_KEY');
      expect(codeOf(() => openNote(BOTH_NOTE, dup))).toBe('NOTE_AMBIGUOUS_KEY');
    });

    it('accepts a note that only the unique key signed', () => {
      expect(names(openNote(PETER_NOTE, dup).verified)).toEqual(['PeterNeumann']);
    });
  });

  describe('when the note carries 101 signature lines (x/mod caps at 100)', () => {
    it('rejects it with NOTE_TOO_BIG, and accepts 100', () => {
      expect(codeOf(() => openNote(`${TEXT}\n${PETER_LINE.repeat(101)}`, [PETER]))).toBe(
        'NOTE_TOO_BIG',
      );
      const n = openNote(`${TEXT}\n${PETER_LINE.repeat(100)}`, [PETER]);
      expect(n.signatures).toHaveLength(1);
    });
  });

  describe('when the cap is lowered to the C2SP minimum of 16', () => {
    it('accepts 16 signatures, rejects 17, and refuses a cap below 16', () => {
      const unknown = (i: number) => `\u2014 other${i}.example AAAAAAA=\n`;
      const lines = (k: number) => Array.from({ length: k - 1 }, (_, i) => unknown(i)).join('');
      expect(
        openNote(`${TEXT}\n${PETER_LINE}${lines(16)}`, [PETER], { maxSignatures: 16 }).signatures,
      ).toHaveLength(16);
      expect(
        codeOf(() =>
          openNote(`${TEXT}\n${PETER_LINE}${lines(17)}`, [PETER], { maxSignatures: 16 }),
        ),
      ).toBe('NOTE_TOO_BIG');
      expect(() => openNote(PETER_NOTE, [PETER], { maxSignatures: 15 })).toThrow(RangeError);
    });
  });

  describe('when "ABCD" is inserted at byte 60 of Peter’s signature line', () => {
    it('rejects the whole note with NOTE_BAD_SIGNATURE', () => {
      const b = Buffer.from(PETER_LINE, 'utf8');
      const bad = Buffer.concat([b.subarray(0, 60), Buffer.from('ABCD'), b.subarray(60)]);
      expect(codeOf(() => openNote(`${TEXT}\n${bad.toString('utf8')}`, [PETER]))).toBe(
        'NOTE_BAD_SIGNATURE',
      );
    });
  });

  describe('when a known key’s signature fails next to another that verifies', () => {
    it('rejects the whole note with NOTE_BAD_SIGNATURE', () => {
      const badEnoch = ENOCH_LINE.replace('rwz+eBzm', 'rwz+eBzn');
      expect(codeOf(() => openNote(`${TEXT}\n${PETER_LINE}${badEnoch}`, [PETER, ENOCH]))).toBe(
        'NOTE_BAD_SIGNATURE',
      );
      // The same line from an unknown key is ignored.
      expect(names(openNote(`${TEXT}\n${PETER_LINE}${badEnoch}`, [PETER]).verified)).toEqual([
        'PeterNeumann',
      ]);
    });
  });

  describe('when a signature line has the key name "Bad Name"', () => {
    it('rejects it with NOTE_MALFORMED', () => {
      const line = PETER_LINE.replace('PeterNeumann', 'Bad Name');
      expect(codeOf(() => openNote(`${TEXT}\n${line}`, [PETER]))).toBe('NOTE_MALFORMED');
    });
  });

  describe.each([
    ['the text has no blank line before the signatures', `${TEXT}${PETER_LINE}`],
    ['there are no signature lines', `${TEXT}\n`],
    ['the last signature line has no newline', `${TEXT}\n${PETER_LINE.slice(0, -1)}`],
    ['the note starts with a 0x01 byte', `\u0001${PETER_NOTE}`],
    ['the note starts with a 0xff byte', Buffer.concat([Buffer.of(0xff), Buffer.from(PETER_NOTE)])],
    ['a non-signature line follows the signatures', `${PETER_NOTE}hello\n`],
    ['a signature line has no space before the base64', `${TEXT}\n\u2014 PeterNeumann\n`],
    ['the base64 is unpadded', `${TEXT}\n${PETER_LINE.replace('=\n', '\n')}`],
    ['the signature is shorter than 5 bytes', `${TEXT}\n\u2014 PeterNeumann AAAAAA==\n`],
    ['the dash is a hyphen', `${TEXT}\n${PETER_LINE.replace('\u2014', '-')}`],
    ['the text contains a carriage return', `${TEXT.replace('\n', '\r\n')}\n${PETER_LINE}`],
    ['the bytes are not UTF-8', Buffer.concat([Buffer.from(PETER_NOTE), Buffer.of(0xc3)])],
    ['the string holds a lone surrogate', `\ud800${PETER_NOTE}`],
  ])('when %s', (_what, note) => {
    it('rejects it with NOTE_MALFORMED', () => {
      const input = typeof note === 'string' ? note : new Uint8Array(note);
      expect(codeOf(() => openNote(input, [PETER]))).toBe('NOTE_MALFORMED');
    });
  });

  describe('when the note is given as bytes', () => {
    it('opens it exactly as the string', () => {
      const n = openNote(new Uint8Array(Buffer.from(BOTH_NOTE)), [PETER, ENOCH]);
      expect(n.text).toBe(TEXT);
      expect(n.verified).toHaveLength(2);
    });
  });

  describe('when the note is larger than maxBytes', () => {
    it('rejects it with NOTE_TOO_BIG before parsing', () => {
      expect(codeOf(() => openNote(PETER_NOTE, [PETER], { maxBytes: 100 }))).toBe('NOTE_TOO_BIG');
      expect(
        codeOf(() => openNote(new Uint8Array(Buffer.from(PETER_NOTE)), [PETER], { maxBytes: 100 })),
      ).toBe('NOTE_TOO_BIG');
      expect(openNote(PETER_NOTE, [PETER], { maxBytes: utf8(PETER_NOTE).length }).text).toBe(TEXT);
    });
  });
});

describe('openNote key matching (C2SP signed-note)', () => {
  describe('when a signature shares the known key’s name but not its ID', () => {
    it('ignores it', () => {
      const other = generateKey('PeterNeumann', 1, (n) => new Uint8Array(n).fill(9)).signer;
      const note = `${PETER_NOTE}${signNote(TEXT, [other]).slice(TEXT.length + 1)}`;
      const n = openNote(note, [PETER]);
      expect(names(n.verified)).toEqual(['PeterNeumann']);
      expect(n.signatures).toHaveLength(2);
    });
  });

  describe('when a signature shares the known key’s ID but not its name', () => {
    it('ignores it', () => {
      const line = PETER_LINE.replace('PeterNeumann', 'PeterNeuman');
      expect(names(openNote(`${PETER_NOTE}${line}`, [PETER]).verified)).toEqual(['PeterNeumann']);
    });
  });

  describe('when the known key signs twice and the second signature is bad', () => {
    it('checks only the first, as x/mod does, and lists it once', () => {
      const bad = PETER_LINE.replace('x08go/ZJ', 'x08go/ZK');
      const n = openNote(`${PETER_NOTE}${bad}`, [PETER]);
      expect(n.signatures).toHaveLength(1);
      expect(codeOf(() => openNote(`${TEXT}\n${bad}${PETER_LINE}`, [PETER]))).toBe(
        'NOTE_BAD_SIGNATURE',
      );
    });
  });

  describe('when an unknown signature line repeats', () => {
    it('lists it once', () => {
      expect(openNote(`${BOTH_NOTE}${ENOCH_LINE}`, [PETER]).signatures).toHaveLength(2);
    });
  });

  describe('when an unknown signature’s base64 has non-zero trailing bits', () => {
    it('ignores it like Go’s non-strict StdEncoding rather than calling the note malformed', () => {
      const n = openNote(`${PETER_NOTE}\u2014 other.example AAAAAAB=\n`, [PETER]);
      expect(n.signatures[1]!.name).toBe('other.example');
    });
  });

  describe('when the text starts with a byte order mark', () => {
    it('keeps it in the text and in the signed bytes', () => {
      const t = `\ufeff${TEXT}`;
      const n = openNote(new Uint8Array(Buffer.from(signNote(t, [peterSigner]))), [PETER]);
      expect(n.text).toBe(t);
    });
  });

  describe('when the note text is changed after signing', () => {
    it('rejects it with NOTE_BAD_SIGNATURE', () => {
      expect(codeOf(() => openNote(PETER_NOTE.replace('answer', 'Answer'), [PETER]))).toBe(
        'NOTE_BAD_SIGNATURE',
      );
    });
  });
});

describe('openNote on real and specified notes', () => {
  describe('when the note is the C2SP signed-note example', () => {
    it('verifies it with example.com/foo', () => {
      const note = readText('c2sp-spec-examples/example-foo.note');
      expect(note).toBe(c2sp.signed_note.verifiable.note);
      const n = openNote(note, [parseVerifierKey(c2sp.signed_note.verifiable.vkey)]);
      expect(n.text).toBe('This is an example message.\n');
      expect(names(n.verified)).toEqual(['example.com/foo']);
    });
  });

  describe('when the note is the real sum.golang.org checkpoint', () => {
    it('verifies it with the live sum.golang.org key', () => {
      const note = readText('golang-x-mod-sumdb/sum.golang.org-1514086.note');
      expect(note).toBe(sumdb.note);
      const n = openNote(note, [parseVerifierKey(sumdb.vkey)]);
      expect(n.text).toBe(`go.sum database tree\n${sumdb.tree_size}\n${sumdb.root_b64}\n`);
      expect(toHex(n.verified[0]!.keyId)).toBe('033de0ae');
    });
  });

  describe('when the note is the Quasimodo example (text with an empty line, no key published)', () => {
    const q = c2sp.signed_note.format_only.note;

    it('splits text and signatures at the last blank line', () => {
      const p = parseNote(q);
      expect(p.text).toBe(
        'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
      );
      expect(p.signatures.map((s) => s.name)).toEqual(['quasimodo.example/salvatore']);
      expect(p.signatures[0]!.sig).toHaveLength(64);
      expect(formatNote(p)).toBe(q);
    });

    it('rejects it with NOTE_UNVERIFIED without the key', () => {
      expect(codeOf(() => openNote(q, [PETER]))).toBe('NOTE_UNVERIFIED');
    });
  });
});

describe('formatSignatureLine', () => {
  describe('when given a parsed x/mod signature', () => {
    it('writes the original line back', () => {
      expect(formatSignatureLine(parseNote(PETER_NOTE).signatures[0]!)).toBe(PETER_LINE);
    });
  });

  describe('when the key ID is not 4 bytes or the name is invalid', () => {
    it('rejects it with NOTE_INVALID_SIGNER', () => {
      const sig = new Uint8Array(64);
      expect(codeOf(() => formatSignatureLine({ name: 'a', keyId: new Uint8Array(3), sig }))).toBe(
        'NOTE_INVALID_SIGNER',
      );
      expect(
        codeOf(() => formatSignatureLine({ name: 'a b', keyId: new Uint8Array(4), sig })),
      ).toBe('NOTE_INVALID_SIGNER');
    });
  });
});
