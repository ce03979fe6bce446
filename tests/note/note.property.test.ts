import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VPauseError } from '../../src/core/errors.js';
import { generateKey, KEY_TYPE_ED25519, verifierKeyOf } from '../../src/note/keys.js';
import { formatNote, openNote, parseNote, signNote } from '../../src/note/note.js';

// Names as signed-note allows them: no '+', no Unicode White_Space, no C0 control.
const keyName = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 20 })
  .filter(
    (s) => !/[+\u0000-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(s),
  );

// A note text: lines of any Unicode without C0 controls (empty lines allowed), final newline.
const line = fc
  .string({ unit: 'binary', maxLength: 30 })
  .map((s) => s.replace(/[\u0000-\u001f]/g, ''));
const noteText = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => `${ls.join('\n')}\n`);

const signer = fc
  .tuple(keyName, fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([name, seed]) => generateKey(name, KEY_TYPE_ED25519, () => seed).signer);

describe('signNote then openNote', () => {
  describe('when random texts are signed by 1-3 random keys', () => {
    it('opens to the same text, every signer verified in order', () => {
      fc.assert(
        fc.property(noteText, fc.array(signer, { minLength: 1, maxLength: 3 }), (text, signers) => {
          const keys = signers.map(verifierKeyOf);
          const uniq = new Set(
            keys.map((k) => `${k.name}+${Buffer.from(k.keyId).toString('hex')}`),
          );
          fc.pre(uniq.size === keys.length);
          const note = signNote(text, signers);
          const n = openNote(note, keys);
          expect(n.text).toBe(text);
          expect(n.verified.map((k) => k.vkey)).toEqual(keys.map((k) => k.vkey));
          expect(openNote(new TextEncoder().encode(note), keys).text).toBe(text);
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('when one character of the signed text is changed', () => {
    it('never opens', () => {
      fc.assert(
        fc.property(
          noteText,
          signer,
          fc.nat(),
          fc.constantFrom('x', '\u00e9', '\n', ' '),
          (text, s, i, c) => {
            const chars = Array.from(text); // code points, so no lone surrogate is made
            const at = i % chars.length;
            fc.pre(chars[at] !== c);
            chars[at] = c;
            const tampered = chars.join('');
            const note = signNote(text, [s]);
            const forged = `${tampered}${note.slice(text.length)}`;
            let code: string | undefined;
            try {
              openNote(forged, [verifierKeyOf(s)]);
            } catch (e) {
              code = (e as VPauseError).code;
            }
            // Usually the signature fails; a changed final newline can also break the layout.
            expect(['NOTE_BAD_SIGNATURE', 'NOTE_MALFORMED']).toContain(code);
            if (at !== chars.length - 1) expect(code).toBe('NOTE_BAD_SIGNATURE');
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});

describe('parseNote and formatNote', () => {
  describe('when a note is built from random text, names and signature bytes', () => {
    it('round-trips both ways', () => {
      const sig = fc.record({
        name: keyName,
        keyId: fc.uint8Array({ minLength: 4, maxLength: 4 }),
        sig: fc.uint8Array({ minLength: 1, maxLength: 100 }),
      });
      fc.assert(
        fc.property(
          noteText,
          fc.array(sig, { minLength: 1, maxLength: 20 }),
          (text, signatures) => {
            const s = formatNote({ text, signatures });
            const p = parseNote(s);
            expect(p).toEqual({ text, signatures });
            expect(formatNote(p)).toBe(s);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
