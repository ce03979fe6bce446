/**
 * Raw Ed25519 verifications/s over all cores (worker threads, node:crypto, no vpause code).
 *
 * Two kinds of input:
 * - a **sample of real signatures** (`RawSample`: distinct messages, signatures and keys, taken
 *   from the log being benchmarked), cycled, each check on its own (message, key, signature);
 * - **one signature** over a message of `bytes` bytes, verified again and again.
 *
 * They differ by a few per cent. Verification is variable-time: the sliding-window scalar
 * multiplication branches on the bits of the signature's scalars, and a loop over one signature
 * lets the CPU's branch predictor learn that one pattern; distinct keys also miss in the caches
 * that one key stays in. A verifier never sees the same signature twice, so the sample is the
 * raw rate of its own work; the one-signature loop is kept to show the difference.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Signatures to verify: raw 32-byte Ed25519 public keys, and (key, message, signature) items. */
export interface RawSample {
  keys: Uint8Array[];
  items: { key: number; msg: Uint8Array; sig: Uint8Array }[];
}

export async function rawVerifyRate(
  ms = 2000,
  input: number | RawSample = 600,
): Promise<{ cores: number; perSecond: number }> {
  const cores = availableParallelism();
  const workerData = typeof input === 'number' ? { ms, bytes: input } : { ms, sample: input };
  const counts = await Promise.all(
    Array.from(
      { length: cores },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(new URL('./verify-worker.mjs', import.meta.url), {
            // Each core starts at another point of the sample.
            workerData: { ...workerData, offset: i * 7919 },
          });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  return { cores, perSecond: counts.reduce((a, b) => a + b, 0) / (ms / 1000) };
}
