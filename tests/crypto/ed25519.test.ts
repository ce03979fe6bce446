/**
 * The vpause Ed25519 rule = Go crypto/ed25519 (see docs/decisions/0001-ed25519-verification-rule.md).
 * Vectors: ../shared/vectors/wycheproof (C2SP/wycheproof ed25519_test.json; `result` is the
 * expected answer, and Go's crypto/ed25519 passes Wycheproof) and ../shared/vectors/ed25519-speccheck
 * (no expected field upstream; Go's answers are derived below from Go's verification steps).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertAcceptablePublicKey,
  ed25519Signer,
  ed25519Verifier,
  publicKeyFromSeed,
  signEd25519,
  verifyEd25519,
  verifyEd25519Portable,
} from '../../src/crypto/ed25519.js';
import { codeOf } from '../helpers/errors.js';

const vectors = (p: string) => new URL(`../../../shared/vectors/${p}`, import.meta.url);
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
}
interface WycheproofFile {
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: WycheproofTest[] }[];
}
const wycheproof = JSON.parse(
  readFileSync(vectors('wycheproof/ed25519_test.json'), 'utf8'),
) as WycheproofFile;
const wycheproofCases = wycheproof.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ pk: g.publicKey.pk, ...t })),
);

interface SpeccheckCase {
  message: string;
  pub_key: string;
  signature: string;
}
const speccheck = JSON.parse(
  readFileSync(vectors('ed25519-speccheck/cases.json'), 'utf8'),
) as SpeccheckCase[];

/**
 * Go crypto/ed25519 on the speccheck cases. Go: S < L (SetCanonicalBytes), A decoded as
 * edwards25519 SetBytes does (non-canonical y and x=0-with-sign accepted), k hashed over the
 * bytes as given, cofactorless R' = [S]B − [k]A compared with R as encoded bytes.
 *  0-3: the cofactorless equation holds → accept; 4-5: only the cofactored one holds → reject;
 *  6-7: S ≥ L → reject; 8-9: R non-canonical, never equal to an encoding → reject;
 *  10: A non-canonical, signed over the reduced A bytes → k differs → reject;
 *  11: A non-canonical, signed over the bytes as given → accept.
 * OpenSSL (node:crypto), an independent implementation, gives the same row (vectors README).
 */
const GO_SPECCHECK = [
  true,
  true,
  true,
  true,
  false,
  false,
  false,
  false,
  false,
  false,
  false,
  true,
];

describe('the Ed25519 verification rule', () => {
  describe('on the Wycheproof vectors', () => {
    it('has all 151 cases of the file', () => {
      expect(wycheproofCases).toHaveLength(wycheproof.numberOfTests);
      expect(wycheproofCases).toHaveLength(151);
    });

    it.each(wycheproofCases)('verifyEd25519 gives Go’s answer on tcId $tcId ($result)', (t) => {
      expect(verifyEd25519(hex(t.pk), hex(t.msg), hex(t.sig))).toBe(t.result === 'valid');
    });

    it.each(wycheproofCases)(
      'ed25519Verifier gives the same answer on tcId $tcId ($result)',
      (t) => {
        expect(ed25519Verifier(hex(t.pk))(hex(t.msg), hex(t.sig))).toBe(t.result === 'valid');
      },
    );

    it.each(wycheproofCases)(
      'verifyEd25519Portable gives the same answer on tcId $tcId ($result)',
      (t) => {
        expect(verifyEd25519Portable(hex(t.pk), hex(t.msg), hex(t.sig))).toBe(t.result === 'valid');
      },
    );
  });

  describe('on the ed25519-speccheck cases', () => {
    it('has the 12 cases the README describes', () => {
      expect(speccheck).toHaveLength(12);
    });

    it.each(speccheck.map((c, i) => ({ i, c, go: GO_SPECCHECK[i]! })))(
      'case $i: both paths answer as Go does ($go)',
      ({ c, go }) => {
        const args = [hex(c.pub_key), hex(c.message), hex(c.signature)] as const;
        expect(verifyEd25519(...args)).toBe(go);
        expect(verifyEd25519Portable(...args)).toBe(go);
        expect(ed25519Verifier(args[0])(args[1], args[2])).toBe(go);
      },
    );
  });

  describe('when the signature or key has the wrong length', () => {
    const seed = new Uint8Array(32).fill(1);
    const pub = publicKeyFromSeed(seed);
    const msg = new Uint8Array([1, 2, 3]);
    const sig = signEd25519(seed, msg);

    it('returns false instead of throwing', () => {
      const fixed = (p: Uint8Array, m: Uint8Array, s: Uint8Array) => ed25519Verifier(p)(m, s);
      for (const f of [verifyEd25519, verifyEd25519Portable, fixed]) {
        expect(f(pub, msg, sig)).toBe(true);
        expect(f(pub, msg, sig.subarray(0, 63))).toBe(false);
        expect(f(pub, msg, new Uint8Array([...sig, 0]))).toBe(false);
        expect(f(pub.subarray(0, 31), msg, sig)).toBe(false);
      }
    });
  });

  describe('when a key or message is random', () => {
    it('both paths accept what we sign and reject a one-bit change', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ maxLength: 200 }),
          fc.nat(),
          (seed, msg, bit) => {
            const pub = publicKeyFromSeed(seed);
            const sig = ed25519Signer(seed)(msg);
            expect(sig).toEqual(signEd25519(seed, msg));
            expect(verifyEd25519(pub, msg, sig)).toBe(true);
            expect(verifyEd25519Portable(pub, msg, sig)).toBe(true);
            const bad = sig.slice();
            const i = bit % (64 * 8);
            bad[i >> 3]! ^= 1 << (i & 7);
            expect(verifyEd25519(pub, msg, bad)).toBe(false);
            expect(verifyEd25519Portable(pub, msg, bad)).toBe(false);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe('when the seed is the RFC 8032 §7.1 TEST 1 key', () => {
    it('derives its public key and signature', () => {
      const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
      expect(Buffer.from(publicKeyFromSeed(seed)).toString('hex')).toBe(
        'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      );
      expect(Buffer.from(signEd25519(seed, new Uint8Array())).toString('hex')).toBe(
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      );
    });
  });
});

describe('public key acceptance', () => {
  describe('when the key is the speccheck small-order point (cases 0-1)', () => {
    it('refuses it with KEY_SMALL_ORDER', () => {
      expect(codeOf(() => assertAcceptablePublicKey(hex(speccheck[0]!.pub_key)))).toBe(
        'KEY_SMALL_ORDER',
      );
    });
  });

  describe('when the key is the speccheck non-canonical encoding (cases 10-11)', () => {
    it('refuses it with KEY_NONCANONICAL although Go verifies under it', () => {
      const pk = hex(speccheck[11]!.pub_key);
      expect(codeOf(() => assertAcceptablePublicKey(pk))).toBe('KEY_NONCANONICAL');
      expect(verifyEd25519(pk, hex(speccheck[11]!.message), hex(speccheck[11]!.signature))).toBe(
        true,
      );
    });
  });

  describe('when y ≥ p encodes a valid point', () => {
    it('refuses it with KEY_NONCANONICAL', () => {
      // y = p + 1 ≡ 1 (the identity's y), x = 0: the non-canonical twin of 0100…00.
      const pk = hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
      expect(codeOf(() => assertAcceptablePublicKey(pk))).toBe('KEY_NONCANONICAL');
    });
  });

  describe('when the key is each of the eight small-order points', () => {
    it('refuses every canonical one with KEY_SMALL_ORDER', () => {
      const torsion = [
        '0100000000000000000000000000000000000000000000000000000000000000',
        'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
        '0000000000000000000000000000000000000000000000000000000000000000',
        '0000000000000000000000000000000000000000000000000000000000000080',
        'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
        'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
        '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
        '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
      ];
      for (const t of torsion) {
        expect(
          codeOf(() => assertAcceptablePublicKey(hex(t))),
          t,
        ).toBe('KEY_SMALL_ORDER');
      }
    });
  });

  describe('when the bytes are not a curve point', () => {
    it('refuses them with KEY_INVALID', () => {
      // y = 2: (y² − 1)/(d y² + 1) is not a square mod p.
      const pk = hex('0200000000000000000000000000000000000000000000000000000000000000');
      expect(codeOf(() => assertAcceptablePublicKey(pk))).toBe('KEY_INVALID');
      expect(codeOf(() => assertAcceptablePublicKey(new Uint8Array(31)))).toBe('KEY_INVALID');
    });
  });

  describe('when the key is an honestly generated one', () => {
    it('accepts it', () => {
      expect(codeOf(() => assertAcceptablePublicKey(publicKeyFromSeed(new Uint8Array(32))))).toBe(
        undefined,
      );
      const rfc = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      expect(codeOf(() => assertAcceptablePublicKey(rfc))).toBe(undefined);
    });
  });
});
