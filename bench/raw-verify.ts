/** Raw Ed25519 verifications/s over all cores (worker threads, node:crypto, no vpause code). */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export async function rawVerifyRate(
  ms = 2000,
  bytes = 600,
): Promise<{ cores: number; perSecond: number }> {
  const cores = availableParallelism();
  const counts = await Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(new URL('./verify-worker.mjs', import.meta.url), {
            workerData: { ms, bytes },
          });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  return { cores, perSecond: counts.reduce((a, b) => a + b, 0) / (ms / 1000) };
}
