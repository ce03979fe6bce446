/**
 * One thread of `WorkerIngestor`'s verification pool (./ingest.ts): it only checks signatures.
 * The calling thread packs the entries (./packed.ts) and sends each run's deferred checks here
 * as bytes: the PAE messages, the signatures, and for each the number of its key; the keys come
 * first, in number order, as raw Ed25519 public keys. The checks are `checkAll` with
 * `ed25519Verifier`s, as the packer makes them on its own thread; a check naming a key never
 * sent fails the thread, and with it the checks it holds. The outcomes go back with the message
 * and signature buffers, for the packer to reuse.
 */
import { parentPort } from 'node:worker_threads';
import { ed25519Verifier } from '../crypto/ed25519.js';
import { checkAll, type DeferredChecks, type Verify } from './deferred-checks.js';

const port = parentPort!;
const verifiers: Verify[] = [];

type Checks = Pick<DeferredChecks, 'msgs' | 'msgAt' | 'sigs' | 'keyNos'> & {
  id: number;
  /** public keys that take the next numbers */
  keys?: Uint8Array[];
};

port.on('message', (m: Checks) => {
  if (m.keys !== undefined) for (const k of m.keys) verifiers.push(ed25519Verifier(k));
  const valid = checkAll(m, verifiers);
  port.postMessage({ id: m.id, valid, msgs: m.msgs, sigs: m.sigs }, [
    valid.buffer,
    m.msgs.buffer,
    m.sigs.buffer,
  ] as ArrayBuffer[]);
});
