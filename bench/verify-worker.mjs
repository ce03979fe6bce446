// Raw Ed25519 verification rate of one core: node:crypto with pre-made KeyObjects, no vpause code
// (bench/raw-verify.ts). Either cycles through a sample of real signatures (workerData.sample:
// raw public keys and (key, msg, sig) items) or verifies one signature over `bytes` bytes again
// and again.
import { verify } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { rawItems } from './raw-items.mjs';

const items = rawItems(workerData);
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
