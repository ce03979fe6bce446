/**
 * One thread of the log's preparation pool (./prepare-pool.ts): strict parsing, leaf hashes and
 * signature outcomes for the bodies it is sent (./prepare.ts), against the candidate keys the
 * main thread has pushed to it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  admissionPayload,
  KeyRing,
  prepareParsed,
  type SignatureOutcome,
  toWireError,
} from './prepare.js';
import type { FromWorker, ToWorker, WireMeta } from './prepare-pool.js';

const ring = new KeyRing();
const init = workerData as { admit: string[]; nodes: string[] };
ring.setAdmitKeys(init.admit);
ring.addNodeKeys(init.nodes);
const port = parentPort!;

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
  const meta: WireMeta[] = [];
  const entries: Uint8Array[] = [];
  const leaf = new Uint8Array(n * 32);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const body = m.buf.subarray(m.offsets[i]!, m.offsets[i + 1]!);
    try {
      const { parsed, leafHash, outcomes } = prepareParsed(body, ring);
      entries.push(parsed.entry);
      total += parsed.entry.length;
      leaf.set(leafHash, i * 32);
      meta.push({
        payloadType: parsed.payloadType,
        payload: admissionPayload(parsed.payloadType, parsed.payload),
        keyids: parsed.envelope.signatures.map((s) => s.keyid),
        outcomes: outcomes as Map<string, SignatureOutcome>,
      });
    } catch (e) {
      entries.push(new Uint8Array(0));
      meta.push({ error: toWireError(e) });
    }
  }
  const buf = new Uint8Array(total);
  const offsets = new Uint32Array(n + 1);
  let o = 0;
  for (let i = 0; i < n; i++) {
    buf.set(entries[i]!, o);
    o += entries[i]!.length;
    offsets[i + 1] = o;
  }
  const out: FromWorker = { id: m.id, buf, offsets, leaf, meta };
  port.postMessage(out, [buf.buffer, offsets.buffer, leaf.buffer]);
});
port.postMessage({ ready: true });
