/**
 * Ed25519 for vpause: one verification rule everywhere.
 *
 * The rule is Go crypto/ed25519's (which OpenSSL, and so node:crypto, agrees with): cofactorless
 * verification, S must be canonical (S < L), R compared as encoded bytes. See
 * docs/decisions/0001-ed25519-verification-rule.md. Key acceptance is stricter than signature
 * verification: wherever vpause accepts a public key (vkeys, registrations, policies) it refuses
 * non-canonical encodings and small-order points (`assertAcceptablePublicKey`).
 *
 * Hot paths use node:crypto; KeyObjects are cached per public key.
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

/** Signs with a 32-byte seed. @throws {RangeError} when the seed is not 32 bytes */
export function signEd25519(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError('signEd25519: seed must be 32 bytes');
  const s = sign(null, msg, privateKeyObject(seed));
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
 * Refuses public keys vpause will not accept anywhere: wrong length, not a point,
 * a non-canonical encoding (y ≥ p, or x = 0 with the sign bit set), or a small-order point.
 * @throws {VPauseError<KeyErrorCode>}
 */
export function assertAcceptablePublicKey(pub: Uint8Array): void {
  if (pub.length !== 32) throw new VPauseError('KEY_INVALID', 'public key must be 32 bytes');
  let p: ed.Point;
  try {
    p = ed.Point.fromBytes(pub, false);
  } catch (cause) {
    throw new VPauseError('KEY_NONCANONICAL', 'public key is not a canonical point encoding', {
      cause,
    });
  }
  const re = p.toBytes();
  for (let i = 0; i < 32; i++) {
    if (re[i] !== pub[i]) {
      throw new VPauseError('KEY_NONCANONICAL', 'public key is not a canonical point encoding');
    }
  }
  if (p.isSmallOrder())
    throw new VPauseError('KEY_SMALL_ORDER', 'public key is a small-order point');
}
