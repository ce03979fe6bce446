/**
 * The transport floor of bench:verify: how long the verifier's machine takes to GET every entry
 * bundle of the log from the same log server and make one raw Ed25519 verification per entry,
 * with node:http and node:crypto on worker threads (one per core, a few GETs in flight each) and
 * no vpause code — no parsing, hashing, decoding or evaluation. A verifier that did nothing but
 * transport and raw signature checks would take this long; what bench:verify measures beyond it
 * is vpause's own work.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { entriesPath, TILE_WIDTH } from '../src/merkle/tiles.js';
import type { RawSample } from './raw-verify.js';

/**
 * Seconds to fetch the `size` entries of the log at `base` in bundles and make one raw
 * verification per entry: of the sample's signatures in turn (bench/raw-verify.ts), or of one
 * signature over `input` bytes.
 */
export async function transportFloor(
  base: string,
  size: number,
  input: number | RawSample = 620,
): Promise<{ seconds: number; bodyBytes: number }> {
  const cores = availableParallelism();
  const shares: { url: string; entries: number }[][] = Array.from({ length: cores }, () => []);
  const bundles = Math.ceil(size / TILE_WIDTH);
  for (let n = 0; n < bundles; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    shares[n % cores]!.push({ url: `${base}/${entriesPath(n, width)}`, entries: width });
  }
  const given = typeof input === 'number' ? { bytes: input } : { sample: input };
  const workers = shares.map(
    (jobs, i) =>
      new Worker(new URL('./floor-worker.mjs', import.meta.url), {
        workerData: { jobs, ...given, inFlight: 4, offset: i * 7919 },
      }),
  );
  try {
    // Started, keys made, before the clock starts (as bench/raw-verify.ts counts).
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    const t0 = performance.now();
    const done = await Promise.all(
      workers.map(
        (w) =>
          new Promise<{ bodyBytes?: number; error?: string }>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage('go');
          }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const failed = done.find((d) => d.error !== undefined);
    if (failed !== undefined) throw new Error(`transport floor: ${failed.error}`);
    return { seconds, bodyBytes: done.reduce((a, d) => a + (d.bodyBytes ?? 0), 0) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
