/**
 * A small seeded pseudo-random generator for the verifier's and simulator's Monte Carlo work.
 * Randomness is injected (STYLE practice 6): nothing in the pure core calls Math.random.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018): 128-bit state, 32-bit output, period
 * 2^128 − 1, passes BigCrush; written here from the published algorithm. Seeding: the 32-bit seed
 * is expanded to the four state words by a Weyl sequence (step 0x9E3779B9) passed through the
 * MurmurHash3 32-bit finaliser, so nearby seeds give unrelated streams and the state is never all
 * zero. Not for cryptography.
 *
 * Normal variates: Marsaglia's polar method on two uniforms, with the second variate of each pair
 * kept for the next call.
 */

/** A seeded source of uniform and normal variates. */
export interface Prng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** Standard normal variate N(0, 1). */
  nextNormal(): number;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function fmix32(h0: number): number {
  let h = h0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Creates an xoshiro128** generator. A number seed is expanded to the 128-bit state (see the
 * module comment); four numbers are taken as the raw state words s0..s3 (used by the reference
 * test vectors).
 * @throws {RangeError} when the seed is not a 32-bit unsigned integer, or the raw state is all zero
 */
export function xoshiro128(seed: number | readonly [number, number, number, number]): Prng {
  let s0: number;
  let s1: number;
  let s2: number;
  let s3: number;
  if (typeof seed === 'number') {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
      throw new RangeError(`xoshiro128: seed must be a 32-bit unsigned integer, got ${seed}`);
    }
    let w = seed >>> 0;
    const next = (): number => {
      w = (w + 0x9e3779b9) >>> 0;
      return fmix32(w);
    };
    s0 = next();
    s1 = next();
    s2 = next();
    s3 = next();
    if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  } else {
    for (const word of seed) {
      if (!(Number.isInteger(word) && word >= 0 && word <= 0xffffffff)) {
        throw new RangeError('xoshiro128: state words must be 32-bit unsigned integers');
      }
    }
    [s0, s1, s2, s3] = seed;
    if ((s0 | s1 | s2 | s3) === 0) throw new RangeError('xoshiro128: state must not be all zero');
  }

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  const nextFloat = (): number => {
    const hi = nextUint32() >>> 5; // 27 bits
    const lo = nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };

  let spare: number | undefined;
  const nextNormal = (): number => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    for (;;) {
      const u = 2 * nextFloat() - 1;
      const v = 2 * nextFloat() - 1;
      const q = u * u + v * v;
      if (q > 0 && q < 1) {
        const f = Math.sqrt((-2 * Math.log(q)) / q);
        spare = v * f;
        return u * f;
      }
    }
  };

  return { nextUint32, nextFloat, nextNormal };
}
