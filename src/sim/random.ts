/**
 * Seeded randomness for the simulator. Every random choice of a run comes from a stream named
 * after what it is for (`lab-a.example/f1/meter`, `key:lab-a.example/root`), derived from the
 * scenario seed, the sweep point and the run index by SHA-256. Streams are therefore independent
 * of the order in which the engine consumes them, of the worker that runs the run and of the
 * mode (full or fast): adding a strategy or a lab never changes another component's draws.
 */
import { sha256 } from '../crypto/sha256.js';
import { type Prng, xoshiro128 } from '../verifier/prng.js';

const enc = new TextEncoder();

/** The first 32 bits of SHA-256(label), as an unsigned integer. */
export function hash32(label: string): number {
  const h = sha256(enc.encode(label));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

/** The seed of one run: a function of the scenario seed, the sweep point and the run index. */
export function runSeed(seed: number, point: number, run: number): number {
  return hash32(`vpause-sim/${seed}/${point}/${run}`);
}

/** A named stream with the draws the simulator needs. */
export interface Stream extends Prng {
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Normal with mean `mu` and standard deviation `sigma`. */
  normal(mu?: number, sigma?: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/** The stream `label` of the run with seed `seed`. */
export function stream(seed: number, label: string): Stream {
  const g = xoshiro128(hash32(`${seed}/${label}`));
  return {
    ...g,
    uniform: (a, b) => a + (b - a) * g.nextFloat(),
    normal: (mu = 0, sigma = 1) => mu + sigma * g.nextNormal(),
    chance: (p) => g.nextFloat() < p,
  };
}

/**
 * Deterministic bytes for key generation: SHA-256 in counter mode over the run seed and a label
 * (keys are real Ed25519 keys; only their seeds are reproducible).
 */
export function keyRandom(seed: number, label: string): (n: number) => Uint8Array {
  let ctr = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) {
      const h = sha256(enc.encode(`vpause-sim-key/${seed}/${label}/${ctr++}`));
      out.set(h.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}
