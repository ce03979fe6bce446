/**
 * One thread of the log's preparation pool (./prepare-pool.ts): parsing, leaf hashes and
 * signature outcomes for the bodies it is sent (./prepare-batch.ts, ./prepare.ts), against the
 * candidate keys the main thread has pushed to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeyRing } from './prepare.js';
import { BatchPreparer } from './prepare-batch.js';
import type { FromWorker, ToWorker } from './prepare-pool.js';

const ring = new KeyRing();
const init = workerData as { admit: string[]; nodes: string[] };
ring.setAdmitKeys(init.admit);
ring.addNodeKeys(init.nodes);
const port = parentPort!;
const batch = new BatchPreparer(ring);

port.on('message', (m: ToWorker) => {
  if (m.t === 'admit') {
    ring.setAdmitKeys(m.vkeys);
    return;
  }
  if (m.t === 'keys') {
    ring.addNodeKeys(m.vkeys);
    return;
  }
  const n = m.offsets.length - 1;
  const bodies: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) bodies[i] = m.buf.subarray(m.offsets[i]!, m.offsets[i + 1]!);
  const { entries, leaf, meta, packed } = batch.prepare(bodies);
  let total = 0;
  for (const e of entries) total += e.length;
  const buf = new Uint8Array(total);
  const offsets = new Uint32Array(n + 1);
  let o = 0;
  for (let i = 0; i < n; i++) {
    buf.set(entries[i]!, o);
    o += entries[i]!.length;
    offsets[i + 1] = o;
  }
  const out: FromWorker = { id: m.id, buf, offsets, leaf, meta, packed };
  port.postMessage(out, [buf.buffer, offsets.buffer, leaf.buffer]);
});
port.postMessage({ ready: true });
