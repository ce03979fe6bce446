/** Byte helpers shared by the pure core. No I/O. */

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Decodes lowercase hex.
 * @throws {TypeError} when the input is not even-length lowercase hex
 */
export function fromHex(s: string): Uint8Array {
  if (!HEX_RE.test(s)) throw new TypeError('fromHex: not lowercase even-length hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Standard base64 with padding (RFC 4648 §4), as used by signed notes and DSSE. */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/**
 * Strict standard base64 decoding, or undefined: padding required, no whitespace, canonical
 * trailing bits. Node's decoder is lenient (it skips what is not base64, takes the URL-safe
 * alphabet, needs no padding), and exactly the canonical text is what re-encodes to itself. The
 * bytes may be a view of Node's shared buffer pool: copy them before keeping them.
 */
export function tryFromBase64(s: string): Uint8Array | undefined {
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) return undefined;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The value of each standard base64 digit, 64 for every other byte. */
const B64 = new Uint8Array(256).fill(64);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}

/**
 * The 12 bits of each pair of base64 digits (first byte << 8 | second byte), 0xffff where either
 * is not a digit: one lookup per two characters, which makes `decodeBase64Into` about twice as
 * fast as a lookup per character (128 KiB, made on first use).
 */
let B64_PAIRS: Uint16Array | undefined;

function base64Pairs(): Uint16Array {
  const t = new Uint16Array(65536).fill(0xffff);
  for (let a = 0; a < 256; a++) {
    if (B64[a]! === 64) continue;
    for (let b = 0; b < 256; b++) if (B64[b]! !== 64) t[(a << 8) | b] = (B64[a]! << 6) | B64[b]!;
  }
  return t;
}

/**
 * Texts at least this long, between two Buffers, are decoded by Node, its leniency checked
 * apart: for a 600-byte payload (800 characters) ~0.25 µs against ~0.6 µs for the loop below,
 * whose 128 KiB table also competes for the cache with the signature checks on other threads.
 * Shorter texts (an 88-character signature) are faster through the loop, which makes no strings.
 */
const NATIVE_FROM = 256;

/**
 * `tryFromBase64` over bytes, for hot paths that read base64 straight out of a buffer: decodes
 * the ASCII text src[from, to) into out[at…) and returns the number of bytes written, or -1 (out
 * unchanged past (to − from) / 4 × 3 bytes at `at`) when the text is not exactly what
 * `tryFromBase64` accepts: standard alphabet, padded to a multiple of 4, no whitespace, zero
 * trailing bits. The caller leaves room for (to − from) / 4 × 3 bytes at `at`.
 */
export function decodeBase64Into(
  src: Uint8Array,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): number {
  const n = to - from;
  if (n % 4 !== 0 || from < 0 || to > src.length) return -1;
  if (n === 0) return 0;
  if (n >= NATIVE_FROM && src instanceof Buffer && out instanceof Buffer) {
    // Node's decoder is lenient in three ways, each checked here rather than by encoding the
    // bytes back (a second string as long as the text, and the time to make it): it skips every
    // byte outside the alphabet (whitespace, any other byte) and stops at an '=' before the
    // padding, each of which leaves the output short of the length the text's length and
    // padding give; it reads '-' and '_' as the URL-safe alphabet's 62 and 63; and it drops the
    // unused bits of a padded last group.
    const text = src.toString('latin1', from, to);
    const pad = text.charCodeAt(n - 1) !== 0x3d ? 0 : text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
    if (text.indexOf('-') !== -1 || text.indexOf('_') !== -1) return -1;
    if (pad === 1 && (B64[src[to - 2]!]! & 3) !== 0) return -1;
    if (pad === 2 && (B64[src[to - 3]!]! & 15) !== 0) return -1;
    const len = out.write(text, at, 'base64');
    return len === (n / 4) * 3 - pad ? len : -1;
  }
  B64_PAIRS ??= base64Pairs();
  const pairs = B64_PAIRS;
  let o = at;
  const last = to - 4;
  for (let i = from; i < last; i += 4) {
    const x = pairs[(src[i]! << 8) | src[i + 1]!]!;
    const y = pairs[(src[i + 2]! << 8) | src[i + 3]!]!;
    if ((x | y) & 0xf000) return -1;
    out[o] = x >> 4;
    out[o + 1] = ((x & 15) << 4) | (y >> 8);
    out[o + 2] = y & 255;
    o += 3;
  }
  // The last group: "abcd", "abc=" (c's low 2 bits zero) or "ab==" (b's low 4 bits zero).
  const a = B64[src[last]!]!;
  const b = B64[src[last + 1]!]!;
  if ((a | b) & 64) return -1;
  out[o++] = (a << 2) | (b >> 4);
  if (src[last + 2] === 0x3d) {
    if (src[last + 3] !== 0x3d || (b & 15) !== 0) return -1;
    return o - at;
  }
  const c = B64[src[last + 2]!]!;
  if (c & 64) return -1;
  out[o++] = ((b & 15) << 4) | (c >> 2);
  if (src[last + 3] === 0x3d) {
    if ((c & 3) !== 0) return -1;
    return o - at;
  }
  const d = B64[src[last + 3]!]!;
  if (d & 64) return -1;
  out[o++] = ((c & 3) << 6) | d;
  return o - at;
}

/**
 * Strict standard base64 decoding (`tryFromBase64`), into a fresh array.
 * @throws {TypeError} when the input is not canonical padded base64
 */
export function fromBase64(s: string): Uint8Array {
  const out = tryFromBase64(s);
  if (out === undefined) throw new TypeError('fromBase64: not canonical padded standard base64');
  return out.slice();
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

/**
 * Strict UTF-8 decoding.
 * @throws {TypeError} on invalid UTF-8
 */
export function fromUtf8(b: Uint8Array): string {
  return dec.decode(b);
}
