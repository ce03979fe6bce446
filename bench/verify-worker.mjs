// Raw Ed25519 verification rate of one core: node:crypto with pre-made KeyObjects, no vpause code
// (bench/raw-verify.ts). Either cycles through a sample of real signatures (workerData.sample:
// raw public keys and (key, msg, sig) items) or verifies one signature over `bytes` bytes again
// and again.
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/** A KeyObject for a raw 32-byte Ed25519 public key. */
function ed25519Key(raw) {
  const x = Buffer.from(raw).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

let items;
if (workerData.sample !== undefined) {
  const keys = workerData.sample.keys.map(ed25519Key);
  items = workerData.sample.items.map((t) => ({ key: keys[t.key], msg: t.msg, sig: t.sig }));
} else {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(workerData.bytes ?? 600, 7);
  items = [{ key: publicKey, msg, sig: sign(null, msg, privateKey) }];
}
const size = items.length;
let at = (workerData.offset ?? 0) % size;
const end = performance.now() + workerData.ms;
let n = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) {
    const t = items[at];
    if (!verify(null, t.msg, t.key, t.sig)) throw new Error('raw verification failed');
    at = at + 1 === size ? 0 : at + 1;
  }
  n += 100;
}
parentPort.postMessage(n);
