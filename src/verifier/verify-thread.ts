/**
 * One thread of `WorkerIngestor`'s verification pool (./ingest.ts): it only checks signatures.
 * The calling thread packs the entries (./packed.ts) and sends each run's deferred checks to
 * every thread of the pool, as bytes in SharedArrayBuffers: the PAE messages, the signatures,
 * and for each the number of its key; new keys come with the first run that may need them, in
 * number order, as raw Ed25519 public keys. A run's claim word says which thread makes its
 * checks: the first to set it; the others pass over the run (after taking its keys). The checks
 * are `checkAll` with `ed25519Verifier`s, as the packer makes them on its own thread; a check
 * naming a key never sent fails the thread, and with it the pool. The outcomes go back alone.
 */
import { parentPort } from 'node:worker_threads';
import { ed25519Verifier } from '../crypto/ed25519.js';
import { checkAll, type DeferredChecks, type Verify } from './deferred-checks.js';

const port = parentPort!;
const verifiers: Verify[] = [];

type Checks = Pick<DeferredChecks, 'msgs' | 'msgAt' | 'sigs' | 'keyNos'> & {
  id: number;
  /** 0 until a thread claims the run */
  claim: Int32Array;
  /** public keys that take the next numbers */
  keys?: Uint8Array[];
};

port.on('message', (m: Checks) => {
  if (m.keys !== undefined) for (const k of m.keys) verifiers.push(ed25519Verifier(k));
  if (Atomics.compareExchange(m.claim, 0, 0, 1) !== 0) return;
  const valid = checkAll(m, verifiers);
  port.postMessage({ id: m.id, valid }, [valid.buffer] as ArrayBuffer[]);
});
