/**
 * The body of the proof routes, `{"hashes":["<base64>",…]}`, encoded straight into bytes:
 * one allocation instead of a base64 string per hash, an array, a join and a UTF-8 encode
 * (2.4–4 µs for a 24-hash proof, against ~6 µs for JSON.stringify over base64 strings). Standard base64 with padding, the same text as
 * `JSON.stringify({ hashes: hashes.map(toBase64) })` (tests/log/proof-json.test.ts). Pure.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODES = Uint8Array.from(ALPHABET, (ch) => ch.charCodeAt(0));
const OPEN = Uint8Array.from('{"hashes":[', (ch) => ch.charCodeAt(0));
const QUOTE = 0x22;
const COMMA = 0x2c;
const PAD = 0x3d;

function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

export function hashesJson(hashes: readonly Uint8Array[]): Uint8Array {
  let len = OPEN.length + 2; // "]}"
  for (const h of hashes) len += base64Length(h.length) + 2;
  if (hashes.length > 1) len += hashes.length - 1;
  const out = new Uint8Array(len);
  out.set(OPEN, 0);
  let o = OPEN.length;
  for (let k = 0; k < hashes.length; k++) {
    if (k > 0) out[o++] = COMMA;
    out[o++] = QUOTE;
    const h = hashes[k]!;
    const n = h.length;
    let i = 0;
    for (; i + 3 <= n; i += 3) {
      const v = (h[i]! << 16) | (h[i + 1]! << 8) | h[i + 2]!;
      out[o++] = CODES[v >>> 18]!;
      out[o++] = CODES[(v >>> 12) & 63]!;
      out[o++] = CODES[(v >>> 6) & 63]!;
      out[o++] = CODES[v & 63]!;
    }
    if (n - i === 1) {
      const v = h[i]! << 16;
      out[o++] = CODES[v >>> 18]!;
      out[o++] = CODES[(v >>> 12) & 63]!;
      out[o++] = PAD;
      out[o++] = PAD;
    } else if (n - i === 2) {
      const v = (h[i]! << 16) | (h[i + 1]! << 8);
      out[o++] = CODES[v >>> 18]!;
      out[o++] = CODES[(v >>> 12) & 63]!;
      out[o++] = CODES[(v >>> 6) & 63]!;
      out[o++] = PAD;
    }
    out[o++] = QUOTE;
  }
  out[o++] = 0x5d; // ]
  out[o++] = 0x7d; // }
  return out;
}
