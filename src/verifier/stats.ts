/**
 * Statistics for the verifier's physics check (check 6): the standard normal distribution and
 * the run-length distribution of Page's one-sided CUSUM. Pure functions, no I/O, no randomness.
 *
 * Why not simple-statistics: its `probit` is an approximation good to about 3e-3
 * (probit(0.975) = 1.9572 instead of 1.95996) and `cumulativeStdNormalProbability` is a table
 * rounded to two decimals. Thresholds set from false-alarm rates such as 1e-3 need the tails to
 * full double precision, so the normal distribution is computed here from its definition:
 *
 * - Φ(x) for |x|/√2 < 2 from the everywhere-positive series
 *   erf(t) = (2/√π)·e^(−t²)·Σₙ (2t²)ⁿ·t / (1·3·5···(2n+1)), which has no cancellation;
 * - the tails from Laplace's continued fraction
 *   erfc(t) = (e^(−t²)/√π) · 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + 2/(t + …))))),
 *   evaluated with the modified Lentz method, which keeps full relative precision far out;
 * - Φ⁻¹(p) from the Abramowitz & Stegun 26.2.23 starting point, refined by Halley steps on the
 *   accurate Φ until the step is below 1e-15 relative.
 *
 * Accuracy (checked in tests/verifier/physics.stats.test.ts against published values): relative
 * error below 1e-13 for Φ and Q over |x| ≤ 37, and below 1e-13 for Φ⁻¹ over [1e-300, 1 − 1e-16].
 */

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** erf(t) for 0 ≤ t < ~3 by the positive-term series (see the module comment). */
function erfSeries(t: number): number {
  const t2x2 = 2 * t * t;
  let term = t;
  let sum = t;
  for (let n = 1; n < 500; n++) {
    term *= t2x2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-t * t) * sum;
}

/**
 * erfc(t)·e^(t²)·√π for t ≥ 2 by the continued fraction, i.e. the reciprocal of
 * t + (1/2)/(t + 1/(t + (3/2)/(t + …))). Modified Lentz evaluation.
 */
function erfcScaledCf(t: number): number {
  const tiny = 1e-300;
  let f = t;
  let c = t;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = t + a * d;
    if (d === 0) d = tiny;
    d = 1 / d;
    c = t + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / f;
}

/** Upper tail of the standard normal for x ≥ 0 (accurate relative to its own size). */
function upperTailNonNegative(x: number): number {
  const t = x / SQRT2;
  if (t < 2) return 0.5 * (1 - erfSeries(t));
  return (0.5 * Math.exp(-0.5 * x * x) * erfcScaledCf(t)) / SQRT_PI;
}

/**
 * Standard normal cumulative distribution Φ(x) = P(Z ≤ x).
 * @throws {TypeError} when x is NaN
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) throw new TypeError('normalCdf: x is NaN');
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x === Number.NEGATIVE_INFINITY) return 0;
  return x < 0 ? upperTailNonNegative(-x) : 1 - upperTailNonNegative(x);
}

/**
 * Standard normal survival function Q(x) = 1 − Φ(x) = P(Z > x), accurate in the upper tail
 * (use it instead of `1 - normalCdf(x)` for p-values).
 * @throws {TypeError} when x is NaN
 */
export function normalSf(x: number): number {
  if (Number.isNaN(x)) throw new TypeError('normalSf: x is NaN');
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x === Number.NEGATIVE_INFINITY) return 1;
  return x >= 0 ? upperTailNonNegative(x) : 1 - upperTailNonNegative(-x);
}

/** Lower-tail quantile for 0 < q ≤ 0.5: returns x ≤ 0 with Φ(x) = q. */
function lowerQuantile(q: number): number {
  if (q === 0.5) return 0;
  // Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the starting point.
  const t = Math.sqrt(-2 * Math.log(q));
  let x = -(
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
  );
  // Halley's method on f(x) = Φ(x) − q, with f' = φ(x), f'' = −x·φ(x). Φ(x) for x < 0 is
  // computed as the upper tail at −x, so the residual keeps relative precision far out.
  for (let i = 0; i < 50; i++) {
    const cdf = x < 0 ? upperTailNonNegative(-x) : 1 - upperTailNonNegative(x);
    const pdf = normalPdf(x);
    if (pdf === 0) break;
    const u = (cdf - q) / pdf;
    const step = u / (1 + 0.5 * x * u);
    x -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/**
 * Standard normal quantile Φ⁻¹(p): the x with P(Z ≤ x) = p. `normalQuantile(1 - alpha)` is the
 * one-sided critical value z₁₋α.
 * @throws {RangeError} when p is not strictly between 0 and 1
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  return p <= 0.5 ? lowerQuantile(p) : -lowerQuantile(1 - p);
}

/**
 * Upper quantile: the x with P(Z > x) = p, i.e. z₁₋ₚ, computed without forming 1 − p (so it
 * stays exact for p as small as 1e-300).
 * @throws {RangeError} when p is not strictly between 0 and 1
 */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalUpperQuantile: p must be in (0, 1), got ${p}`);
  return p <= 0.5 ? -lowerQuantile(p) : lowerQuantile(1 - p);
}

// ---------------------------------------------------------------------------------------------
// Page's one-sided CUSUM: S₀ = 0, Sᵢ = max(0, Sᵢ₋₁ + zᵢ − k), alarm at the first i with Sᵢ ≥ h,
// where zᵢ ~ N(μ, 1) independent. The run-length distribution is computed by the Nyström method:
// the state after i steps is an atom at 0 plus a density on (0, h), the density is represented
// at Gauss–Legendre nodes, and one step is
//   a'     = a·Φ(−m) + Σⱼ wⱼ f(xⱼ) Φ(−xⱼ − m)
//   f'(y)  = a·φ(y − m) + Σⱼ wⱼ f(xⱼ) φ(y − xⱼ − m)           with m = μ − k.
// The survival P(no alarm in i steps) = a + Σⱼ wⱼ f(xⱼ). After a few dozen steps the conditional
// survival per step converges to the kernel's dominant eigenvalue λ, and the tail is extrapolated
// geometrically: P(no alarm in n) = P(no alarm in i)·λ^(n−i). (Brook & Evans 1972 introduced the
// Markov-chain form; the Nyström/Gauss–Legendre form is standard for normal CUSUMs and converges
// exponentially in the node count because the kernel is smooth.)
// ---------------------------------------------------------------------------------------------

/** Gauss–Legendre nodes and weights on (0, h), by Newton iteration on Pₙ. */
function gaussLegendre(nodes: number, h: number): { x: Float64Array; w: Float64Array } {
  const x = new Float64Array(nodes);
  const w = new Float64Array(nodes);
  for (let i = 0; i < Math.ceil(nodes / 2); i++) {
    let r = Math.cos((Math.PI * (i + 0.75)) / (nodes + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = r;
      for (let j = 2; j <= nodes; j++) {
        const p2 = ((2 * j - 1) * r * p1 - (j - 1) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      dp = (nodes * (r * p1 - p0)) / (r * r - 1);
      const dr = p1 / dp;
      r -= dr;
      if (Math.abs(dr) < 1e-16) break;
    }
    const weight = 2 / ((1 - r * r) * dp * dp);
    // map [-1, 1] → [0, h]
    x[i] = (h / 2) * (1 - r);
    x[nodes - 1 - i] = (h / 2) * (1 + r);
    w[i] = (h / 2) * weight;
    w[nodes - 1 - i] = (h / 2) * weight;
  }
  return { x, w };
}

function nodeCount(h: number): number {
  return Math.max(40, Math.ceil(6 * h));
}

interface CusumKernel {
  w: Float64Array;
  /** φ(xᵢ − xⱼ − m)·wⱼ, row-major [i][j] */
  kern: Float64Array;
  /** φ(xᵢ − m) */
  fromZero: Float64Array;
  /** Φ(−xⱼ − m)·wⱼ */
  toZero: Float64Array;
  stayZero: number;
  /** Q(h − xⱼ − m)·wⱼ: probability of crossing h from node j */
  toAlarm: Float64Array;
  /** Q(h − m): probability of crossing h from the atom */
  zeroToAlarm: number;
}

function cusumKernel(h: number, k: number, shift: number): CusumKernel {
  const n = nodeCount(h);
  const { x, w } = gaussLegendre(n, h);
  const m = shift - k;
  const kern = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) kern[i * n + j] = normalPdf(x[i]! - x[j]! - m) * w[j]!;
  }
  const fromZero = new Float64Array(n);
  const toZero = new Float64Array(n);
  const toAlarm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    fromZero[i] = normalPdf(x[i]! - m);
    toZero[i] = normalCdf(-x[i]! - m) * w[i]!;
    toAlarm[i] = normalSf(h - x[i]! - m) * w[i]!;
  }
  return {
    w,
    kern,
    fromZero,
    toZero,
    stayZero: normalCdf(-m),
    toAlarm,
    zeroToAlarm: normalSf(h - m),
  };
}

/**
 * Steps the CUSUM state from S₀ = 0, i = 1, 2, … until `maxSteps` or until the per-step hazard
 * has converged; returns the converged per-step survival λ, the log-survival at the step it
 * stopped, and the sum of the survival probabilities over the steps made (for the ARL). No
 * callback per step: a different closure on each call made V8 deoptimise and compile this loop
 * again (five compilations, ~85 ms of TurboFan, in a verification). The hazard (probability of
 * crossing h at this step given no alarm before) is summed directly from the crossing
 * probabilities, so it keeps full relative precision even when it is 1e-12; convergence is
 * declared when it changes by less than 1e-10 relative on three consecutive steps (a hazard that
 * is still growing as the distribution spreads towards a high threshold changes by far more).
 */
function iterateSurvival(
  kernel: CusumKernel,
  maxSteps: number,
): { steps: number; logSurvival: number; lambda: number; survivalSum: number } {
  const { kern, fromZero, toZero, stayZero, toAlarm, zeroToAlarm, w } = kernel;
  const n = w.length;
  let atom = 1;
  let f: Float64Array = new Float64Array(n);
  let next: Float64Array = new Float64Array(n);
  let logSurvival = 0;
  let prevHazard = Number.NaN;
  let stable = 0;
  let hazard = 0;
  let survivalSum = 0;
  for (let step = 1; step <= maxSteps; step++) {
    hazard = atom * zeroToAlarm;
    let atomNext = atom * stayZero;
    for (let j = 0; j < n; j++) {
      atomNext += f[j]! * toZero[j]!;
      hazard += f[j]! * toAlarm[j]!;
    }
    let mass = atomNext;
    for (let i = 0; i < n; i++) {
      let s = atom * fromZero[i]!;
      const row = i * n;
      for (let j = 0; j < n; j++) s += kern[row + j]! * f[j]!;
      next[i] = s;
      mass += s * w[i]!;
    }
    // Renormalise to the conditional distribution given no alarm (no underflow on long runs).
    // Dividing by the quadrature's own mass keeps the iteration stable; the survival factor is
    // taken from the directly summed hazard, which is the more accurate of the two when small.
    logSurvival += Math.log1p(-hazard);
    atom = atomNext / mass;
    for (let i = 0; i < n; i++) next[i]! /= mass;
    const swap = f;
    f = next;
    next = swap;
    survivalSum += Math.exp(logSurvival);
    if (hazard > 0 && Math.abs(hazard - prevHazard) <= 1e-10 * hazard) stable++;
    else stable = 0;
    if (stable >= 3) return { steps: step, logSurvival, lambda: 1 - hazard, survivalSum };
    prevHazard = hazard;
  }
  return { steps: maxSteps, logSurvival, lambda: 1 - hazard, survivalSum };
}

function checkCusumArgs(fn: string, h: number, k: number, shift: number): void {
  if (!(Number.isFinite(h) && h > 0)) throw new RangeError(`${fn}: h must be > 0, got ${h}`);
  if (!Number.isFinite(k)) throw new RangeError(`${fn}: k must be finite, got ${k}`);
  if (!Number.isFinite(shift)) throw new RangeError(`${fn}: shift must be finite, got ${shift}`);
}

/** log P(no alarm within n steps). */
function logSurvivalAt(h: number, k: number, n: number, shift: number): number {
  const run = iterateSurvival(cusumKernel(h, k, shift), n);
  return run.steps >= n
    ? run.logSurvival
    : run.logSurvival + (n - run.steps) * Math.log(run.lambda);
}

/**
 * P(the one-sided CUSUM with reference value k and threshold h alarms within n steps), for
 * standardised observations zᵢ ~ N(shift, 1).
 * @throws {RangeError} when h ≤ 0, n is not a positive integer, or k/shift are not finite
 */
export function cusumAlarmProbability(h: number, k: number, n: number, shift = 0): number {
  checkCusumArgs('cusumAlarmProbability', h, k, shift);
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(`cusumAlarmProbability: n must be a positive integer, got ${n}`);
  }
  return -Math.expm1(logSurvivalAt(h, k, n, shift));
}

/**
 * Average run length of the one-sided CUSUM from S₀ = 0: E[first i with Sᵢ ≥ h] for
 * zᵢ ~ N(shift, 1). With shift = 0 this is the in-control ARL₀; with shift = δ the ARL₁.
 * @throws {RangeError} when h ≤ 0 or k/shift are not finite
 */
export function cusumArl(h: number, k: number, shift = 0): number {
  checkCusumArgs('cusumArl', h, k, shift);
  // ARL = Σ_{i≥0} P(RL > i) = 1 + Σ_{i≥1} survival(i); after convergence the tail is geometric.
  const run = iterateSurvival(cusumKernel(h, k, shift), 10_000_000);
  let sum = 1 + run.survivalSum;
  // the geometric tail after the last step, from its survival exp(logSurvival)
  if (run.lambda < 1) sum += (Math.exp(run.logSurvival) * run.lambda) / (1 - run.lambda);
  return sum;
}

const thresholdCache = new Map<string, number>();

/**
 * The CUSUM threshold h for which P(any alarm within n in-control steps) = alpha, for
 * standardised observations zᵢ ~ N(0, 1) and reference value k. log P(alarm) is smooth and
 * decreasing in h (nearly linear once h is a few units), so the root is found by regula falsi
 * (Illinois variant) on log P(alarm) − log alpha inside a bracket, to 1e-9 in h; cached per
 * (n, k, alpha).
 * @throws {RangeError} when n is not a positive integer, k is not finite or alpha ∉ (0, 1)
 */
export function cusumThreshold(n: number, k: number, alpha: number): number {
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new RangeError(`cusumThreshold: n must be a positive integer, got ${n}`);
  }
  if (!Number.isFinite(k)) throw new RangeError(`cusumThreshold: k must be finite, got ${k}`);
  if (!(alpha > 0 && alpha < 1)) {
    throw new RangeError(`cusumThreshold: alpha must be in (0, 1), got ${alpha}`);
  }
  const key = `${n}|${k}|${alpha}`;
  const cached = thresholdCache.get(key);
  if (cached !== undefined) return cached;
  const logAlpha = Math.log(alpha);
  const g = (h: number): number => Math.log(-Math.expm1(logSurvivalAt(h, k, n, 0))) - logAlpha;
  // P(alarm at step 1) = Q(h + k) ≤ P(alarm within n) ≤ n·Q(h + k) brackets the root.
  let a = Math.max(1e-6, normalUpperQuantile(alpha) - k);
  let b = Math.max(a + 1e-6, normalUpperQuantile(Math.min(0.5, alpha / n)) - k + 1e-6);
  let ga = g(a);
  let gb = g(b);
  while (gb > 0) {
    a = b;
    ga = gb;
    b *= 2;
    gb = g(b);
  }
  let h = b;
  if (ga <= 0) h = a;
  else {
    let side = 0;
    for (let it = 0; it < 200 && b - a > 1e-9; it++) {
      const c = (a * gb - b * ga) / (gb - ga);
      const gc = g(c);
      h = c;
      if (gc === 0) break;
      if (gc > 0) {
        a = c;
        ga = gc;
        if (side === 1) gb /= 2;
        side = 1;
      } else {
        b = c;
        gb = gc;
        if (side === -1) ga /= 2;
        side = -1;
      }
      if (Math.abs(gc) < 1e-12) break;
    }
  }
  if (thresholdCache.size >= 1024) thresholdCache.clear();
  thresholdCache.set(key, h);
  return h;
}

/**
 * Wilson score interval for a binomial proportion (used by the Monte Carlo validations).
 * @throws {RangeError} when trials < 1, successes ∉ [0, trials] or confidence ∉ (0, 1)
 */
export function wilsonInterval(
  successes: number,
  trials: number,
  confidence: number,
): { low: number; high: number } {
  if (!(Number.isInteger(trials) && trials >= 1)) {
    throw new RangeError('wilsonInterval: trials must be a positive integer');
  }
  if (!(successes >= 0 && successes <= trials)) {
    throw new RangeError('wilsonInterval: successes must be in [0, trials]');
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError('wilsonInterval: confidence must be in (0, 1)');
  }
  const z = normalUpperQuantile((1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / (1 + z2n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
