// One core's share of the transport floor (bench/transport-floor.ts): GETs entry bundles with
// node:http (keep-alive, a few at once) and makes one raw Ed25519 verification per entry
// (node:crypto, pre-made KeyObjects), cycling through the sample of real signatures that
// bench/verify-worker.mjs uses (or one signature over `bytes` bytes without one); no vpause code.
import { verify } from 'node:crypto';
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { rawItems } from './raw-items.mjs';

const { jobs, inFlight, offset } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
const items = rawItems(workerData);
let at = (offset ?? 0) % items.length;

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
      const t = items[at];
      if (!verify(null, t.msg, t.key, t.sig)) throw new Error('raw verification failed');
      at = at + 1 === items.length ? 0 : at + 1;
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
