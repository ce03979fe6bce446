/**
 * One thread of the ingestion pool: decodes the runs it is sent and checks the signatures of the
 * keys it knows (src/verifier/ingest.ts `decodeRun`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRun, type IngestInput, KeyRing } from './ingest.js';

const ring = new KeyRing((workerData as { vkeys: string[] }).vkeys);
const port = parentPort!;

interface Message {
  keys?: string[];
  id: number;
  start: number;
  buf?: Uint8Array;
  offsets?: Uint32Array;
  bundle?: Uint8Array;
  width?: number;
  skip?: number;
  count?: number;
}

port.on('message', (m: Message) => {
  if (m.keys !== undefined) {
    for (const k of m.keys) ring.add(k);
    return;
  }
  let input: IngestInput;
  if (m.bundle !== undefined) {
    input = { start: m.start, bundle: m.bundle, width: m.width!, skip: m.skip!, count: m.count! };
  } else {
    const entries: Uint8Array[] = [];
    for (let i = 0; i + 1 < m.offsets!.length; i++) {
      entries.push(m.buf!.subarray(m.offsets![i]!, m.offsets![i + 1]!));
    }
    input = { start: m.start, entries };
  }
  try {
    const batch = decodeRun(ring, input);
    port.postMessage({ id: m.id, batch }, [batch.leaf.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({
      id: m.id,
      error: { code: (e as { code?: string }).code, message: (e as Error).message },
    });
  }
});
