import * as crypto from 'node:crypto';

/**
 * node:crypto's one-shot `hash()` (Node ≥ 20.12): about a third cheaper than createHash for the
 * 65-byte inputs of Merkle interior nodes, which proofs and integration compute by the million.
 * Older Node 20 releases fall back to createHash.
 */
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer })
  .hash;

function view(d: Buffer): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-256 over the concatenation of the parts (node:crypto; no I/O). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (oneShot !== undefined && parts.length === 1)
    return view(oneShot('sha256', parts[0]!, 'buffer'));
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return view(h.digest());
}

const scratch = new Uint8Array(65);

/** A one-shot digest as a plain Uint8Array (the Buffer's bytes, without copying them). */
function plain(d: Uint8Array): Uint8Array {
  return Buffer.isBuffer(d) ? view(d) : d;
}

/** SHA-256(prefix || a || b): node:crypto's Buffer when it can, else a fresh array. */
function pairDigest(prefix: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  if (oneShot === undefined || a.length !== 32 || b.length !== 32) {
    return sha256(Uint8Array.of(prefix), a, b);
  }
  scratch[0] = prefix;
  scratch.set(a, 1);
  scratch.set(b, 33);
  return oneShot('sha256', scratch, 'buffer');
}

/** Scratch for prefixed one-shot hashes; grows to the largest input seen (entries ≤ 64 KiB). */
let prefixed = new Uint8Array(1024);

/**
 * SHA-256(prefix || data) through a scratch copy: one native call instead of a createHash object
 * per leaf.
 */
function prefixedDigest(prefix: number, data: Uint8Array): Uint8Array {
  if (oneShot === undefined || data.length >= 1 << 20) {
    return sha256(Uint8Array.of(prefix), data);
  }
  if (prefixed.length < data.length + 1) prefixed = new Uint8Array(data.length + 1);
  prefixed[0] = prefix;
  prefixed.set(data, 1);
  return oneShot('sha256', prefixed.subarray(0, data.length + 1), 'buffer');
}

/** SHA-256(prefix || a || b) for one prefix byte and two 32-byte hashes (Merkle nodes). */
export function sha256Pair(prefix: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  return plain(pairDigest(prefix, a, b));
}

/** SHA-256(prefix || data) for one prefix byte (Merkle leaves). */
export function sha256Prefixed(prefix: number, data: Uint8Array): Uint8Array {
  return plain(prefixedDigest(prefix, data));
}

/**
 * SHA-256 of `data` written at out[at…at+32), for hot loops that fill packed hash columns: one
 * native call and no view object per hash.
 */
export function sha256Into(data: Uint8Array, out: Uint8Array, at: number): void {
  out.set(oneShot === undefined ? sha256(data) : oneShot('sha256', data, 'buffer'), at);
}

/** `sha256Prefixed(prefix, data)` written at out[at…at+32). */
export function sha256PrefixedInto(
  prefix: number,
  data: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  out.set(prefixedDigest(prefix, data), at);
}

/**
 * `sha256Pair(prefix, a, b)` written at out[at…at+32); `out` may overlap `a` or `b` (they are
 * copied before the hash is written), so a tree level can be folded in place.
 */
export function sha256PairInto(
  prefix: number,
  a: Uint8Array,
  b: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  out.set(pairDigest(prefix, a, b), at);
}
