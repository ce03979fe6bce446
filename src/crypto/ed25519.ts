/**
 * Ed25519 for vpause: one verification rule everywhere.
 *
 * The rule is Go crypto/ed25519's (which OpenSSL, and so node:crypto, agrees with): cofactorless
 * verification, S must be canonical (S < L), R compared as encoded bytes. See
 * docs/decisions/0001-ed25519-verification-rule.md. Key acceptance is stricter than signature
 * verification: wherever vpause accepts a public key (vkeys, registrations, policies) it refuses
 * non-canonical encodings and small-order points (`assertAcceptablePublicKey`).
 *
 * Hot paths use node:crypto; KeyObjects are cached per public key. `verifyEd25519Portable`
 * computes the same rule on @noble/ed25519 for runtimes without node:crypto; the vector tests
 * (tests/crypto) hold both to Go's answer on every Wycheproof and ed25519-speccheck case.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { VPauseError } from '../core/errors.js';

// noble's portable paths need SHA-512 wired in once.
ed.hashes.sha512 = sha512;

export type KeyErrorCode = 'KEY_INVALID' | 'KEY_SMALL_ORDER' | 'KEY_NONCANONICAL';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const pubCache = new Map<string, KeyObject>();
const PUB_CACHE_MAX = 10_000;

function publicKeyObject(pub: Uint8Array): KeyObject {
  const k = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('latin1');
  let ko = pubCache.get(k);
  if (ko === undefined) {
    ko = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
    if (pubCache.size >= PUB_CACHE_MAX) pubCache.clear();
    pubCache.set(k, ko);
  }
  return ko;
}

const privCache = new Map<string, KeyObject>();
const PRIV_CACHE_MAX = 1024;

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

/**
 * Verifies an Ed25519 signature under the vpause rule (Go crypto/ed25519 semantics).
 * Never throws: malformed lengths or undecodable keys verify as false.
 */
export function verifyEd25519(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  let ko: KeyObject;
  try {
    ko = publicKeyObject(pub);
  } catch {
    return false;
  }
  try {
    return verify(null, msg, ko, sig);
  } catch {
    return false;
  }
}

/**
 * `verifyEd25519` with the key fixed: the KeyObject is made once, so a hot loop over many
 * signatures of few keys skips the per-call key lookup. The same rule, the same call; a key that
 * does not import gives a verifier that answers false.
 */
export function ed25519Verifier(pub: Uint8Array): (msg: Uint8Array, sig: Uint8Array) => boolean {
  let ko: KeyObject;
  try {
    if (pub.length !== 32) return () => false;
    ko = publicKeyObject(pub);
  } catch {
    return () => false;
  }
  return (msg, sig) => {
    if (sig.length !== 64) return false;
    try {
      return verify(null, msg, ko, sig);
    } catch {
      return false;
    }
  };
}

// Group order L and the base point, for the portable path.
const ED_L = 2n ** 252n + 27742317777372353535851937790883648493n;

function bytesToBigIntLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

/**
 * The same rule as {@link verifyEd25519}, written out on noble's point arithmetic for runtimes
 * without node:crypto. It follows Go crypto/ed25519 step by step:
 *
 * 1. the signature is 64 bytes and S (its second half, little-endian) is < L;
 * 2. A is decoded permissively, as Go's edwards25519 `SetBytes` does: y is taken mod p
 *    (non-canonical y ≥ p accepted) and x = 0 with the sign bit set is accepted;
 * 3. k = SHA-512(R bytes || A bytes as given || msg) mod L — the bytes as received, not
 *    re-encoded;
 * 4. R' = [S]B − [k]A (cofactorless), and the signature is valid iff the canonical encoding of
 *    R' equals the first 32 signature bytes (so a non-canonical R never verifies).
 *
 * About 11× slower than node:crypto; use it only where node:crypto is unavailable. Never throws.
 */
export function verifyEd25519Portable(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false;
  const s = bytesToBigIntLE(sig.subarray(32, 64));
  if (s >= ED_L) return false;
  let a: ed.Point;
  try {
    a = ed.Point.fromBytes(pub, true);
  } catch {
    return false;
  }
  const r = sig.subarray(0, 32);
  const k = bytesToBigIntLE(sha512(concat3(r, pub, msg))) % ED_L;
  const rCheck = ed.Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
  const enc = rCheck.toBytes();
  let d = 0;
  for (let i = 0; i < 32; i++) d |= enc[i]! ^ r[i]!;
  return d === 0;
}

function concat3(a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length);
  out.set(a, 0);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}

/** Signs with a 32-byte seed. @throws {RangeError} when the seed is not 32 bytes */
export function signEd25519(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('signEd25519: seed must be 32 bytes');
  // Importing the key costs ~14× a signature; keep the KeyObjects of recently used seeds (in
  // process memory only, where the seeds themselves already are).
  const k = Buffer.from(seed.buffer, seed.byteOffset, 32).toString('latin1');
  let ko = privCache.get(k);
  if (ko === undefined) {
    ko = privateKeyObject(seed);
    if (privCache.size >= PRIV_CACHE_MAX) privCache.delete(privCache.keys().next().value!);
    privCache.set(k, ko);
  }
  const s = sign(null, msg, ko);
  return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
}

/** A signer that keeps its KeyObject, for hot paths that sign many messages with one key. */
export function ed25519Signer(seed: Uint8Array): (msg: Uint8Array) => Uint8Array {
  if (seed.length !== 32) throw new RangeError('ed25519Signer: seed must be 32 bytes');
  const ko = privateKeyObject(seed);
  return (msg) => {
    const s = sign(null, msg, ko);
    return new Uint8Array(s.buffer, s.byteOffset, s.byteLength);
  };
}

/** Derives the 32-byte public key of a 32-byte seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('publicKeyFromSeed: seed must be 32 bytes');
  const der = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/**
 * Refuses public keys vpause will not accept anywhere, even though {@link verifyEd25519} would
 * verify under them: wrong length or not a curve point (`KEY_INVALID`), a non-canonical encoding
 * — y ≥ p, or x = 0 with the sign bit set — (`KEY_NONCANONICAL`), or a point of small order
 * (`KEY_SMALL_ORDER`, the eight torsion points, under which forged "signatures" can verify for
 * many messages).
 * @throws {VPauseError<KeyErrorCode>} when the key is not acceptable
 */
export function assertAcceptablePublicKey(pub: Uint8Array): void {
  if (pub.length !== 32) throw new VPauseError('KEY_INVALID', 'public key must be 32 bytes');
  // The point check costs about as much as a signature verification and its answer never
  // changes, so keys already accepted are remembered (the log admits every usage report by
  // parsing its node's registered vkey).
  const memo = Buffer.from(pub.buffer, pub.byteOffset, 32).toString('latin1');
  if (acceptedKeys.has(memo)) return;
  checkPoint(pub);
  if (acceptedKeys.size >= ACCEPTED_MAX) acceptedKeys.clear();
  acceptedKeys.add(memo);
}

const acceptedKeys = new Set<string>();
const ACCEPTED_MAX = 100_000;

function checkPoint(pub: Uint8Array): void {
  let p: ed.Point;
  try {
    p = ed.Point.fromBytes(pub, false);
  } catch (cause) {
    let decodesPermissively = true;
    try {
      ed.Point.fromBytes(pub, true);
    } catch {
      decodesPermissively = false;
    }
    if (decodesPermissively) {
      throw new VPauseError('KEY_NONCANONICAL', 'public key is not a canonical point encoding', {
        cause,
      });
    }
    throw new VPauseError('KEY_INVALID', 'public key is not a point on the curve', { cause });
  }
  const re = p.toBytes();
  for (let i = 0; i < 32; i++) {
    if (re[i] !== pub[i]) {
      throw new VPauseError('KEY_NONCANONICAL', 'public key is not a canonical point encoding');
    }
  }
  if (p.isSmallOrder()) {
    throw new VPauseError('KEY_SMALL_ORDER', 'public key is a small-order point');
  }
}
