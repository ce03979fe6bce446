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
