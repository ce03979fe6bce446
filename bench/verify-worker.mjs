// Raw Ed25519 verification rate of one core: node:crypto with a pre-made KeyObject, no vpause code.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const msg = Buffer.alloc(workerData.bytes ?? 600, 7);
const sig = sign(null, msg, privateKey);
const end = performance.now() + workerData.ms;
let n = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100; i++) if (!verify(null, msg, publicKey, sig)) throw new Error('bad');
  n += 100;
}
parentPort.postMessage(n);
