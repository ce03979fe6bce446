import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  formatPrivateKey,
  formatVerifierKey,
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  KeysById,
  keyIdFor,
  keyIdString,
  parsePrivateKey,
  parseVerifierKey,
  verifierKeyOf,
} from '../../src/note/keys.js';
import { codeOf } from '../helpers/errors.js';

const vectors = (p: string) => new URL(`../../../shared/vectors/${p}`, import.meta.url);
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

interface GoKey {
  name: string;
  key_id_hex: string;
  vkey: string;
  skey?: string;
  seed_hex: string;
  public_key_hex: string;
}
const goNote = JSON.parse(
  readFileSync(vectors('golang-x-mod-sumdb/note-vectors.json'), 'utf8'),
) as {
  keys: GoKey[];
  bad_vkeys: { vkey?: string }[];
};
const peter = goNote.keys.find((k) => k.name === 'PeterNeumann')!;
const enoch = goNote.keys.find((k) => k.name === 'EnochRoot')!;

/** A vkey with a correct key ID around arbitrary key material (to reach the point checks). */
function vkeyWithMaterial(name: string, type: number, material: Uint8Array): string {
  const id = sha256(utf8(name), Uint8Array.of(0x0a, type), material).subarray(0, 4);
  return `${name}+${toHex(id)}+${Buffer.from(Uint8Array.of(type, ...material)).toString('base64')}`;
}

const PUBLISHED_VKEYS: [string, number, string][] = [
  [peter.vkey, KEY_TYPE_ED25519, 'golang-x-mod-sumdb PeterNeumann'],
  [enoch.vkey, KEY_TYPE_ED25519, 'golang-x-mod-sumdb EnochRoot'],
  ['example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', 1, 'C2SP signed-note'],
  ['sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8', 1, 'sum.golang.org'],
  ['example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx', 1, 'Tessera'],
  ['witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN', 4, 'Sunlight'],
  ['witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9', 4, 'Sunlight'],
  ['mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O', 4, 'Sunlight'],
];

describe('parseVerifierKey', () => {
  describe.each(PUBLISHED_VKEYS)('when the vkey is %s', (vkey, type, source) => {
    it(`parses it (${source}) and formats it back byte for byte`, () => {
      const k = parseVerifierKey(vkey);
      expect(k.type).toBe(type);
      expect(k.vkey).toBe(vkey);
      expect(`${k.name}+${toHex(k.keyId)}`).toBe(vkey.split('+').slice(0, 2).join('+'));
      expect(keyIdString(k)).toBe(vkey.split('+').slice(0, 2).join('+'));
      expect(formatVerifierKey(k.name, k.type, k.publicKey)).toBe(vkey);
    });
  });

  describe('when the vkey is a Go test key', () => {
    it('gives the published public key and key ID', () => {
      const k = parseVerifierKey(peter.vkey);
      expect(k.name).toBe('PeterNeumann');
      expect(toHex(k.keyId)).toBe(peter.key_id_hex);
      expect(toHex(k.publicKey)).toBe(peter.public_key_hex);
    });
  });

  describe('when the key material has the wrong length (x/mod bad_vkeys[0])', () => {
    it('rejects it with KEY_MALFORMED', () => {
      expect(codeOf(() => parseVerifierKey(goNote.bad_vkeys[0]!.vkey!))).toBe('KEY_MALFORMED');
    });
  });

  describe('when the algorithm byte is unknown (x/mod bad_vkeys[1])', () => {
    it('rejects it with KEY_TYPE_UNSUPPORTED', () => {
      expect(codeOf(() => parseVerifierKey(goNote.bad_vkeys[1]!.vkey!))).toBe(
        'KEY_TYPE_UNSUPPORTED',
      );
    });
  });

  describe('when the vkey is any proper prefix, suffix or substring of a good one (x/mod TestNewVerifier)', () => {
    it('rejects every one of them', () => {
      const v = peter.vkey;
      let n = 0;
      for (let i = 0; i < v.length; i++) {
        for (let j = i + 1; j <= v.length; j++) {
          if (i === 0 && j === v.length) continue;
          expect(
            codeOf(() => parseVerifierKey(v.slice(i, j))),
            v.slice(i, j),
          ).toBeDefined();
          n++;
        }
      }
      expect(n).toBe((v.length * (v.length + 1)) / 2 - 1);
    });
  });

  describe('when one byte of a good vkey is incremented (x/mod TestNewVerifier)', () => {
    it('rejects every variant', () => {
      const v = Buffer.from(peter.vkey, 'latin1');
      for (let i = 0; i < v.length; i++) {
        const b = Buffer.from(v);
        b[i] = b[i]! + 1;
        expect(
          codeOf(() => parseVerifierKey(b.toString('latin1'))),
          `byte ${i}`,
        ).toBeDefined();
      }
    });
  });

  describe('when the key ID does not match', () => {
    it('rejects it with KEY_ID_MISMATCH', () => {
      expect(codeOf(() => parseVerifierKey(peter.vkey.replace('c74f20a3', 'c74f20a4')))).toBe(
        'KEY_ID_MISMATCH',
      );
    });
  });

  describe('when the key ID is uppercase hex', () => {
    it('rejects it with KEY_MALFORMED (C2SP writes lowercase)', () => {
      const sumdb = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
      expect(codeOf(() => parseVerifierKey(sumdb.replace('033de0ae', '033DE0AE')))).toBe(
        'KEY_MALFORMED',
      );
    });
  });

  describe('when the public key is a small-order point (speccheck case 0 key)', () => {
    it('rejects it with KEY_SMALL_ORDER', () => {
      const small = hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa');
      expect(codeOf(() => parseVerifierKey(vkeyWithMaterial('log.example', 1, small)))).toBe(
        'KEY_SMALL_ORDER',
      );
      expect(codeOf(() => parseVerifierKey(vkeyWithMaterial('w.example', 4, small)))).toBe(
        'KEY_SMALL_ORDER',
      );
    });
  });

  describe('when the public key is a non-canonical encoding (speccheck case 10 key)', () => {
    it('rejects it with KEY_NONCANONICAL', () => {
      const nc = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff');
      expect(codeOf(() => parseVerifierKey(vkeyWithMaterial('log.example', 1, nc)))).toBe(
        'KEY_NONCANONICAL',
      );
    });
  });

  describe('when the public key is not a curve point', () => {
    it('rejects it with KEY_INVALID', () => {
      const notPoint = hex('0200000000000000000000000000000000000000000000000000000000000000');
      expect(codeOf(() => parseVerifierKey(vkeyWithMaterial('log.example', 1, notPoint)))).toBe(
        'KEY_INVALID',
      );
    });
  });

  describe.each([
    ['an empty name', ''],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a no-break space', 'a\u00a0b'],
    ['a next-line character', 'a\u0085b'],
    ['an ideographic space', 'a\u3000b'],
    ['a control character', 'a\u0001b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('when the name has %s', (_what, name) => {
    it('rejects it with KEY_NAME_INVALID', () => {
      const pub = parseVerifierKey(peter.vkey).publicKey;
      expect(codeOf(() => parseVerifierKey(vkeyWithMaterial(name, 1, pub)))).toBe(
        'KEY_NAME_INVALID',
      );
      expect(codeOf(() => formatVerifierKey(name, 1, pub))).toBe('KEY_NAME_INVALID');
    });
  });

  describe('when the vkey is not a string', () => {
    it('rejects it with KEY_MALFORMED', () => {
      expect(codeOf(() => parseVerifierKey(42 as unknown as string))).toBe('KEY_MALFORMED');
    });
  });
});

describe('keyIdFor', () => {
  describe('when computing the IDs of the published keys', () => {
    it('reproduces them for type 0x01 and type 0x04 alike', () => {
      for (const [vkey, type] of PUBLISHED_VKEYS) {
        const k = parseVerifierKey(vkey);
        expect(toHex(keyIdFor(k.name, type, k.publicKey))).toBe(vkey.split('+')[1]);
      }
    });
  });

  describe('when the same key is used as type 0x01 and 0x04', () => {
    it('gives different key IDs', () => {
      const pub = parseVerifierKey(peter.vkey).publicKey;
      expect(toHex(keyIdFor('n', 1, pub))).not.toBe(toHex(keyIdFor('n', 4, pub)));
    });
  });
});

describe('parsePrivateKey', () => {
  describe('when the key is the Go x/mod PeterNeumann skey (its base64 contains "+")', () => {
    it('gives the published seed, public key and key ID', () => {
      const s = parsePrivateKey(peter.skey!);
      expect(s.name).toBe('PeterNeumann');
      expect(s.type).toBe(KEY_TYPE_ED25519);
      expect(toHex(s.seed)).toBe(peter.seed_hex);
      expect(toHex(s.publicKey)).toBe(peter.public_key_hex);
      expect(toHex(s.keyId)).toBe(peter.key_id_hex);
      expect(verifierKeyOf(s).vkey).toBe(peter.vkey);
      expect(formatPrivateKey(s.name, s.type, s.seed)).toBe(peter.skey);
    });
  });

  describe('when the key is Tessera’s test log key', () => {
    it('gives the seed and public key its README lists', () => {
      const s = parsePrivateKey(
        'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg',
      );
      expect(toHex(s.seed)).toBe(
        'eca663f499017d2365c27c7a7679158d43cfec1330bdb259290afbd0d21777a0',
      );
      expect(toHex(s.publicKey)).toBe(
        'e1d3bb843784420c1cda9ce9f01232cab7aca371dbcd0d23ea0ee710859244b1',
      );
    });
  });

  describe('when the key file ends with a newline', () => {
    it('tolerates one LF or CRLF, but not two', () => {
      expect(parsePrivateKey(`${peter.skey}\n`).name).toBe('PeterNeumann');
      expect(parsePrivateKey(`${peter.skey}\r\n`).name).toBe('PeterNeumann');
      expect(codeOf(() => parsePrivateKey(`${peter.skey}\n\n`))).toBe('KEY_MALFORMED');
    });
  });

  describe('when the key ID does not match the derived public key', () => {
    it('rejects it with KEY_ID_MISMATCH', () => {
      expect(codeOf(() => parsePrivateKey(peter.skey!.replace('c74f20a3', 'c74f20a4')))).toBe(
        'KEY_ID_MISMATCH',
      );
    });
  });

  describe.each([
    ['the PRIVATE+KEY prefix is missing', (s: string) => s.slice('PRIVATE+KEY+'.length)],
    ['the prefix is lowercase', (s: string) => s.replace('PRIVATE+KEY', 'private+key')],
    ['the base64 is cut', (s: string) => s.slice(0, -4)],
    ['the seed is missing', (s: string) => s.replace(/\+[^+]{8}\+.*$/, '+c74f20a3+AQ==')],
    ['it is a vkey', () => peter.vkey],
  ])('when %s', (_what, mutate) => {
    it('rejects it with KEY_MALFORMED', () => {
      expect(codeOf(() => parsePrivateKey(mutate(peter.skey!)))).toBe('KEY_MALFORMED');
    });
  });

  describe('when the type byte is not 0x01 or 0x04', () => {
    it('rejects it with KEY_TYPE_UNSUPPORTED', () => {
      const raw = Buffer.from(Uint8Array.of(0x02, ...hex(peter.seed_hex))).toString('base64');
      expect(codeOf(() => parsePrivateKey(`PRIVATE+KEY+PeterNeumann+c74f20a3+${raw}`))).toBe(
        'KEY_TYPE_UNSUPPORTED',
      );
    });
  });
});

describe('generateKey', () => {
  describe('when the randomness is 32 zero bytes (as x/mod example_test.go)', () => {
    it('generates the EnochRoot key', () => {
      const g = generateKey('EnochRoot', KEY_TYPE_ED25519, (n) => new Uint8Array(n));
      expect(g.vkey).toBe(enoch.vkey);
      expect(toHex(g.signer.publicKey)).toBe(enoch.public_key_hex);
      expect(parsePrivateKey(g.privateKey)).toEqual(g.signer);
    });
  });

  describe('when the randomness is SHA-256 of a Sunlight seed phrase', () => {
    it('generates the Sunlight cosigner vkey', () => {
      const seed = sha256(utf8('skylight test witness key'));
      const g = generateKey('witness.example.org', KEY_TYPE_COSIGNATURE, () => seed);
      expect(g.vkey).toBe(PUBLISHED_VKEYS[5]![0]);
      expect(g.privateKey.startsWith('PRIVATE+KEY+witness.example.org+b8a2cf20+')).toBe(true);
    });
  });

  describe('when the randomness source returns the wrong length', () => {
    it('throws a RangeError', () => {
      expect(() => generateKey('a', 1, () => new Uint8Array(31))).toThrow(RangeError);
    });
  });

  describe('when the name or type is invalid', () => {
    it('throws KEY_NAME_INVALID or KEY_TYPE_UNSUPPORTED', () => {
      const r = (n: number) => new Uint8Array(n);
      expect(codeOf(() => generateKey('a+b', 1, r))).toBe('KEY_NAME_INVALID');
      expect(codeOf(() => generateKey('a', 2, r))).toBe('KEY_TYPE_UNSUPPORTED');
    });
  });
});

// Names as signed-note allows them: no '+', no Unicode White_Space, no C0 control.
const goodName = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 24 })
  .filter(
    (s) => !/[+\u0000-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.test(s),
  );

describe('key text round trips', () => {
  it('parse(format(k)) gives k back for random names, types and seeds', () => {
    fc.assert(
      fc.property(
        goodName,
        fc.constantFrom(KEY_TYPE_ED25519, KEY_TYPE_COSIGNATURE),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (name, type, seed) => {
          const g = generateKey(name, type, () => seed);
          const s = parsePrivateKey(g.privateKey);
          expect(s).toEqual(g.signer);
          const v = parseVerifierKey(g.vkey);
          expect(v).toEqual(verifierKeyOf(g.signer));
          expect(formatVerifierKey(v.name, v.type, v.publicKey)).toBe(g.vkey);
          expect(keyIdString(v)).toBe(keyIdString(s));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('KeysById', () => {
  const a = generateKey('lab.example/n1', KEY_TYPE_ED25519, (n) => new Uint8Array(n).fill(1));
  const b = generateKey('lab.example/n2', KEY_TYPE_ED25519, (n) => new Uint8Array(n).fill(2));
  const va = a.vkey;
  const vb = b.vkey;

  it('finds each key under its keyid, and skips repeats and vkeys that do not parse', () => {
    const ks = new KeysById([va]);
    expect(ks.add(va)).toBe(false);
    expect(ks.add('not a vkey')).toBe(false);
    expect(ks.add(vb)).toBe(true);
    expect(ks.size).toBe(2);
    expect(ks.has(vb)).toBe(true);
    const ka = parseVerifierKey(va);
    expect(ks.get(keyIdString(ka))?.map((k) => k.vkey)).toEqual([ka.vkey]);
    expect(ks.get('lab.example/n3+00000000')).toBeUndefined();
    ks.clear();
    expect(ks.size).toBe(0);
    expect(ks.get(keyIdString(ka))).toBeUndefined();
  });
});
