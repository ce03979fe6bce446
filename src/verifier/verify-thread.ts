/**
 * One thread of the verification pool of `SplitIngestor` (./ingest.ts): it only checks
 * signatures. The calling thread packs the entries (./packed.ts) and sends each run's deferred
 * checks here as bytes: the PAE messages, the signatures, and for each the number of its key;
 * the keys come first, in number order, as raw Ed25519 public keys. The outcomes go back with the
 * message and signature buffers, for the packer to reuse. The check is `ed25519Verifier`, the
 * one the packer itself makes.
 */
import { parentPort } from 'node:worker_threads';
import { ed25519Verifier } from '../crypto/ed25519.js';

const port = parentPort!;
const verifiers: ((msg: Uint8Array, sig: Uint8Array) => boolean)[] = [];

interface Checks {
  /** public keys that take the next numbers */
  keys?: Uint8Array[];
  id: number;
  msgs: Uint8Array;
  msgAt: Uint32Array;
  sigs: Uint8Array;
  keyNos: Uint32Array;
}

port.on('message', (m: Checks) => {
  if (m.keys !== undefined) for (const k of m.keys) verifiers.push(ed25519Verifier(k));
  if (m.msgs === undefined) return;
  const n = m.keyNos.length;
  const valid = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const verify = verifiers[m.keyNos[j]!];
    // A key never sent is the pool's bug, not an invalid signature: the thread fails, and with
    // it the checks it holds.
    if (verify === undefined) throw new Error(`verify thread: no key number ${m.keyNos[j]}`);
    const msg = m.msgs.subarray(m.msgAt[2 * j]!, m.msgAt[2 * j + 1]!);
    valid[j] = verify(msg, m.sigs.subarray(64 * j, 64 * j + 64)) ? 1 : 0;
  }
  port.postMessage({ id: m.id, valid, msgs: m.msgs, sigs: m.sigs }, [
    valid.buffer,
    m.msgs.buffer,
    m.sigs.buffer,
  ] as ArrayBuffer[]);
});
