/**
 * C2SP tlog-cosignature v1 (type 0x04). Vectors: ../shared/vectors/sunlight-skylight-testdata
 * (cosigner seeds are SHA-256 of published phrases, so we can re-sign and compare bytes) and the
 * C2SP spec example (format only: its witness key is not published).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
  verifierKeyOf,
} from '../../src/note/keys.js';
import { type NoteSignature, openNote, parseNote } from '../../src/note/note.js';
import { formatCheckpoint } from '../../src/tlog/checkpoint.js';
import {
  cosignatureMessage,
  signCosignature,
  verifiedCosignatures,
  verifyCosignature,
} from '../../src/tlog/cosignature.js';
import { codeOf } from '../helpers/errors.js';

const vectors = (p: string) => new URL(`../../../shared/vectors/${p}`, import.meta.url);
const readText = (p: string) => readFileSync(vectors(p), 'utf8');

const c2sp = JSON.parse(readText('c2sp-spec-examples/c2sp-examples.json')) as {
  cosignature_v1: {
    cosigned_checkpoint: string;
    witness_line_decoded: {
      name: string;
      key_id_hex: string;
      timestamp: number;
      payload_len: number;
    };
    signed_message: string;
  };
};

const H = '000de184301123b9278c086a7d9f68c9577e83872224c197058fd90784ea9706';
const H2 = '88ad7a28caeb0b2aa890fdf0304c2fcaf59fca2ee140134ff8c1300bac493482';
const SUNLIGHT_TIME = 1767139200;

interface SunlightCosigner {
  name: string;
  phrase: string;
  vkey: string;
  file: string;
}
const SUNLIGHT: SunlightCosigner[] = [
  {
    name: 'witness.example.org',
    phrase: 'skylight test witness key',
    vkey: 'witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN',
    file: `sunlight-skylight-testdata/witness/${H}/checkpoint`,
  },
  {
    name: 'witness2.example.org',
    phrase: 'skylight test witness2 key',
    vkey: 'witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9',
    file: `sunlight-skylight-testdata/witness2/${H2}/checkpoint`,
  },
  {
    name: 'mirror.example.org',
    phrase: 'skylight test mirror key',
    vkey: 'mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O',
    file: `sunlight-skylight-testdata/witness/mirror/${H}/checkpoint`,
  },
];

function sunlightSigner(c: SunlightCosigner): SignerKey {
  const seed = sha256(utf8(c.phrase));
  return generateKey(c.name, KEY_TYPE_COSIGNATURE, () => seed).signer;
}

function lineOf(note: string, name: string): string {
  return `${note.split('\n').find((l) => l.startsWith(`\u2014 ${name} `))!}\n`;
}

describe('cosignatureMessage', () => {
  describe('when given the C2SP example checkpoint and time', () => {
    it('builds the exact signed message of the spec', () => {
      const body = parseNote(c2sp.cosignature_v1.cosigned_checkpoint).text;
      const t = c2sp.cosignature_v1.witness_line_decoded.timestamp;
      expect(fromUtf8(cosignatureMessage(body, t))).toBe(c2sp.cosignature_v1.signed_message);
    });
  });

  describe('when the time is negative, fractional or unsafe', () => {
    it('throws a RangeError', () => {
      for (const t of [-1, 1.5, 2 ** 53, Number.NaN]) {
        expect(() => cosignatureMessage('o\n1\nx\n', t)).toThrow(RangeError);
      }
    });
  });
});

describe('the C2SP example cosignature (format only)', () => {
  describe('when its witness line is parsed', () => {
    it('has the key ID, timestamp and 76-byte layout the spec shows', () => {
      const d = c2sp.cosignature_v1.witness_line_decoded;
      const s = parseNote(c2sp.cosignature_v1.cosigned_checkpoint).signatures[1]!;
      expect(s.name).toBe(d.name);
      expect(toHex(s.keyId)).toBe(d.key_id_hex);
      expect(4 + s.sig.length).toBe(d.payload_len);
      const time = new DataView(s.sig.buffer, s.sig.byteOffset).getBigUint64(0, false);
      expect(Number(time)).toBe(d.timestamp);
    });
  });
});

describe('Sunlight cosignature vectors', () => {
  describe.each(SUNLIGHT)('when the cosigner is $name', (c) => {
    const note = readText(c.file);
    const key = parseVerifierKey(c.vkey);
    const body = parseNote(note).text;

    it('derives the published vkey from SHA-256 of the seed phrase', () => {
      expect(verifierKeyOf(sunlightSigner(c)).vkey).toBe(c.vkey);
    });

    it('verifies its cosignature with time 1767139200', () => {
      const sig = parseNote(note).signatures.find((s) => s.name === c.name)!;
      expect(verifyCosignature(body, sig, key)).toEqual({ time: SUNLIGHT_TIME });
    });

    it('opens the note with only the cosigner key, ignoring other signature types', () => {
      const n = openNote(note, [key]);
      expect(n.verified.map((k) => k.vkey)).toEqual([c.vkey]);
      expect(verifiedCosignatures(n, n.text, [key])).toEqual([{ key, time: SUNLIGHT_TIME }]);
    });

    it('re-signs the checkpoint to the exact same signature line', () => {
      expect(signCosignature(body, sunlightSigner(c), SUNLIGHT_TIME)).toBe(lineOf(note, c.name));
    });

    it('rejects the note with NOTE_BAD_SIGNATURE when the size is changed', () => {
      const forged = note.replace('\n300\n', '\n301\n');
      expect(codeOf(() => openNote(forged, [key]))).toBe('NOTE_BAD_SIGNATURE');
      const sig = parseNote(forged).signatures.find((s) => s.name === c.name)!;
      expect(verifyCosignature(parseNote(forged).text, sig, key)).toBeUndefined();
    });
  });

  describe('when the witness checkpoint also carries the log’s RFC 6962 (type 0x05) signature', () => {
    it('lists that line as an unknown signature', () => {
      const n = openNote(readText(SUNLIGHT[0]!.file), [parseVerifierKey(SUNLIGHT[0]!.vkey)]);
      expect(n.signatures.map((s) => s.name)).toEqual([
        'rome2026h1.example.org',
        'witness.example.org',
      ]);
      expect(n.signatures[0]!.sig).toHaveLength(83);
    });
  });

  describe('when asking which of several witnesses cosigned', () => {
    it('returns only those whose cosignature is in the note and verifies', () => {
      const keys = SUNLIGHT.map((c) => parseVerifierKey(c.vkey));
      const note = readText(SUNLIGHT[0]!.file);
      const n = openNote(note, keys);
      expect(verifiedCosignatures(n, n.text, keys).map((v) => v.key.name)).toEqual([
        'witness.example.org',
      ]);
      // Against another body, nothing verifies.
      expect(verifiedCosignatures(n, n.text.replace('300', '299'), keys)).toEqual([]);
    });
  });
});

describe('verifyCosignature', () => {
  const w = generateKey('w.example', KEY_TYPE_COSIGNATURE, (n) => new Uint8Array(n).fill(5));
  const W = verifierKeyOf(w.signer);
  const body = formatCheckpoint({
    origin: 'log.example',
    size: 10,
    rootHash: new Uint8Array(32).fill(1),
    extensions: [],
  });
  const sigOf = (line: string): NoteSignature => parseNote(`${body}\n${line}`).signatures[0]!;

  /** A signature line over an arbitrary time string (to reach times our signer refuses). */
  function rawCosignature(time: bigint): NoteSignature {
    const msg = utf8(`cosignature/v1\ntime ${time}\n${body}`);
    const sig = new Uint8Array(72);
    new DataView(sig.buffer).setBigUint64(0, time, false);
    sig.set(signEd25519(w.signer.seed, msg), 8);
    return { name: W.name, keyId: W.keyId, sig };
  }

  describe('when the key is the same public key registered as type 0x01', () => {
    it('returns undefined (the key ID differs)', () => {
      const seed = new Uint8Array(32).fill(5);
      const as01: VerifierKey = verifierKeyOf(generateKey('w.example', 1, () => seed).signer);
      expect(as01.publicKey).toEqual(W.publicKey);
      expect(
        verifyCosignature(body, sigOf(signCosignature(body, w.signer, 5)), as01),
      ).toBeUndefined();
    });
  });

  describe('when the timestamp is 2^63 (above the spec’s maximum)', () => {
    it('returns undefined even though the Ed25519 signature is valid', () => {
      expect(verifyCosignature(body, rawCosignature(2n ** 63n), W)).toBeUndefined();
    });
  });

  describe('when the timestamp is above 2^53 − 1 (not representable as a number)', () => {
    it('returns undefined', () => {
      expect(verifyCosignature(body, rawCosignature(2n ** 53n), W)).toBeUndefined();
      expect(verifyCosignature(body, rawCosignature(2n ** 53n - 1n), W)).toEqual({
        time: Number.MAX_SAFE_INTEGER,
      });
    });
  });

  describe('when the signature is not 72 bytes', () => {
    it('returns undefined', () => {
      const s = sigOf(signCosignature(body, w.signer, 5));
      expect(verifyCosignature(body, { ...s, sig: s.sig.subarray(0, 71) }, W)).toBeUndefined();
    });
  });

  describe('when the timestamp bytes are changed', () => {
    it('returns undefined', () => {
      const s = sigOf(signCosignature(body, w.signer, 5));
      const sig = s.sig.slice();
      sig[7] = 6;
      expect(verifyCosignature(body, { ...s, sig }, W)).toBeUndefined();
    });
  });

  describe('when random checkpoints are cosigned at random times', () => {
    it('verifies our own cosignatures and returns the time', () => {
      fc.assert(
        fc.property(
          fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (size, time, rootHash) => {
            const b = formatCheckpoint({ origin: 'log.example', size, rootHash, extensions: [] });
            const line = signCosignature(b, w.signer, time);
            const n = openNote(`${b}\n${line}`, [W]);
            expect(verifiedCosignatures(n, b, [W])).toEqual([{ key: W, time }]);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});

describe('signCosignature', () => {
  describe('when the signer is a type 0x01 key', () => {
    it('refuses it with COSIGNATURE_SIGNER', () => {
      const s = generateKey('log.example', KEY_TYPE_ED25519, (n) => new Uint8Array(n)).signer;
      expect(codeOf(() => signCosignature('o\n1\nx\n', s, 1))).toBe('COSIGNATURE_SIGNER');
    });
  });

  describe('when the body does not end in a newline or has a control character', () => {
    it('refuses it with COSIGNATURE_BODY', () => {
      const s = generateKey('w', KEY_TYPE_COSIGNATURE, (n) => new Uint8Array(n)).signer;
      expect(codeOf(() => signCosignature('o\n1\nx', s, 1))).toBe('COSIGNATURE_BODY');
      expect(codeOf(() => signCosignature('o\r\n1\nx\n', s, 1))).toBe('COSIGNATURE_BODY');
    });
  });
});
