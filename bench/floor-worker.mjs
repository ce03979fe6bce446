// One core's share of the transport floor (bench/transport-floor.ts): GETs entry bundles with
// node:http (keep-alive, a few at once) and makes one raw Ed25519 verification (node:crypto, a
// pre-made KeyObject, the message size of bench/verify-worker.mjs) per entry; no vpause code.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { jobs, bytes, inFlight } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const msg = Buffer.alloc(bytes, 7);
const sig = sign(null, msg, privateKey);

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

let next = 0;
let bodyBytes = 0;
async function lane() {
  while (next < jobs.length) {
    const { url, entries } = jobs[next++];
    const body = await get(url);
    bodyBytes += body.length;
    for (let i = 0; i < entries; i++) {
      if (!verify(null, msg, publicKey, sig)) throw new Error('raw verification failed');
    }
  }
}

parentPort.once('message', async () => {
  try {
    await Promise.all(Array.from({ length: inFlight }, lane));
    agent.destroy();
    parentPort.postMessage({ bodyBytes });
  } catch (e) {
    parentPort.postMessage({ error: String(e) });
  }
});
parentPort.postMessage({ ready: true });
