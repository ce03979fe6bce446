/**
 * A small seeded pseudo-random generator for synthetic telemetry and simulations: a 32-bit Weyl
 * sequence (step 0x9E3779B9, the golden-ratio increment) passed through the MurmurHash3 32-bit
 * finaliser. Deterministic for a seed, period 2^32, statistically good enough for noise; not for
 * cryptography. Pure: no I/O, no global state.
 */

/** A deterministic random source. */
export interface Prng {
  /** Uniform integer in [0, 2^32). */
  nextU32(): number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Standard normal variate (Box–Muller). */
  normal(): number;
}

/** Folds a string seed to 32 bits (FNV-1a). */
function hashSeed(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a generator from a numeric or string seed. Equal seeds give equal sequences.
 * @throws {TypeError} when a numeric seed is not a finite integer
 */
export function createPrng(seed: number | string): Prng {
  if (typeof seed === 'number' && !Number.isInteger(seed)) {
    throw new TypeError('createPrng: seed must be an integer or a string');
  }
  let s = typeof seed === 'string' ? hashSeed(seed) : seed >>> 0;
  let spare: number | undefined;
  const nextU32 = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  const next = () => nextU32() / 4294967296;
  return {
    nextU32,
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal: () => {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}
