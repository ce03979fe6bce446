// The (key, msg, sig) items a raw-verification worker cycles through (bench/verify-worker.mjs,
// bench/floor-worker.mjs): the sample of real signatures it was given (raw public keys made into
// KeyObjects once), or else one signature over `bytes` bytes. node:crypto only, no vpause code.
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';

/** @param {{ sample?: { keys: Uint8Array[], items: { key: number, msg: Uint8Array, sig: Uint8Array }[] }, bytes?: number }} given */
export function rawItems({ sample, bytes = 600 }) {
  if (sample !== undefined) {
    const keys = sample.keys.map((raw) =>
      createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
        format: 'jwk',
      }),
    );
    return sample.items.map((t) => ({ key: keys[t.key], msg: t.msg, sig: t.sig }));
  }
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(bytes, 7);
  return [{ key: publicKey, msg, sig: sign(null, msg, privateKey) }];
}
