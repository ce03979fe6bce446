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

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding (RFC 4648 §4), as used by signed notes and DSSE. */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/**
 * Strict standard base64 decoding: padding required, no whitespace, canonical trailing bits.
 * @throws {TypeError} when the input is not canonical padded base64
 */
export function fromBase64(s: string): Uint8Array {
  if (!B64_RE.test(s)) throw new TypeError('fromBase64: not padded standard base64');
  const out = new Uint8Array(Buffer.from(s, 'base64'));
  if (toBase64(out) !== s) throw new TypeError('fromBase64: non-canonical base64');
  return out;
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
