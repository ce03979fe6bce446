/**
 * Time integrals of one GPU's samples over one interval: observed time, busy time, tensor-active
 * time, SM activity and energy. Pure.
 *
 * Between two consecutive samples `a`, `b` of one GPU (a *segment*), every rate (power,
 * utilisation, SM and tensor activity) is taken to vary linearly, so its integral is the
 * trapezoid `(f(a) + f(b)) / 2 · (b.t − a.t)`. A segment that straddles an interval boundary is
 * clipped, with the values at the boundary interpolated linearly, so that the pieces of a segment
 * in two adjacent intervals add up to the whole. Samples outside the interval therefore matter:
 * the last sample before the start and the first one at or after the end complete the edge
 * segments; without them the edges are unobserved.
 *
 * A segment longer than `maxGapMs` is a *gap*: it is not bridged (its time is unobserved and
 * no power is integrated across it) and it is reported. An energy counter, when both ends carry
 * one and it did not decrease, still measures the energy drawn during a gap; that energy is
 * counted and reported separately (`gapEnergyJ`).
 *
 * Energy per segment: the counter difference when both ends carry the cumulative counter and it
 * did not decrease (`counter`); otherwise the trapezoid of the power readings (`trapezoid`). A
 * decrease of the counter is a reset (driver reload): it is recorded, and that segment falls back
 * to the trapezoid, so energy is never negative.
 */
import type { GpuSample } from '../collectors/sample.js';
import type { Interval } from './interval.js';

/** A gap between two samples longer than the bound, clipped to the interval. */
export interface Gap {
  fromMs: number;
  toMs: number;
}

/** Integrals of one GPU over one interval. Seconds and joules, unrounded. */
export interface GpuIntegral {
  /** Time covered by segments no longer than the gap bound. */
  observedSeconds: number;
  /** ∫ activity dt, activity = max(utilGpu, smActive, tensorActive) of the sample. */
  busySeconds: number;
  /** Observed seconds where neither end had any activity metric; counted as busy. */
  activityUnknownSeconds: number;
  /** ∫ tensor-active fraction dt (measured where both ends have it, else the activity bound). */
  tensorSeconds: number;
  /** Observed seconds whose tensor activity is the activity upper bound, not a measurement. */
  tensorProxySeconds: number;
  /** ∫ smActive dt over the seconds where both ends report it, and those seconds. */
  smSeconds: number;
  smObservedSeconds: number;
  /** ∫ power dt over observed segments (trapezoid), joules. */
  trapezoidJ: number;
  /** Energy reported: counter differences where usable, trapezoid elsewhere, plus `gapEnergyJ`. */
  energyJ: number;
  /** Observed seconds whose energy came from the counter / from the trapezoid. */
  counterSeconds: number;
  trapezoidSeconds: number;
  /** Energy the counter measured across gaps, joules (included in `energyJ`). */
  gapEnergyJ: number;
  /** Times (ms) of samples at which the counter had decreased, for samples in the interval. */
  counterResets: number[];
  gaps: Gap[];
}

/** max of the activity metrics present, or undefined when the sample has none. */
export function activityOf(s: GpuSample): number | undefined {
  let a: number | undefined;
  for (const v of [s.utilGpu, s.smActive, s.tensorActive]) {
    if (v !== undefined) a = a === undefined ? v : Math.max(a, v);
  }
  return a;
}

/** Integral over the clipped part [r0, r1] (fractions of the segment) of a linear function. */
function linearIntegral(fa: number, fb: number, r0: number, r1: number, lenS: number): number {
  const v0 = fa + (fb - fa) * r0;
  const v1 = fa + (fb - fa) * r1;
  return ((v0 + v1) / 2) * lenS;
}

/**
 * Integrates one GPU's samples over `iv`.
 * @param samples this GPU's samples, sorted by `t` with no two equal times; may extend beyond `iv`
 * @param maxGapMs longest segment still bridged
 */
export function integrateGpu(
  samples: readonly GpuSample[],
  iv: Interval,
  maxGapMs: number,
): GpuIntegral {
  const r: GpuIntegral = {
    observedSeconds: 0,
    busySeconds: 0,
    activityUnknownSeconds: 0,
    tensorSeconds: 0,
    tensorProxySeconds: 0,
    smSeconds: 0,
    smObservedSeconds: 0,
    trapezoidJ: 0,
    energyJ: 0,
    counterSeconds: 0,
    trapezoidSeconds: 0,
    gapEnergyJ: 0,
    counterResets: [],
    gaps: [],
  };
  for (let i = 0; i + 1 < samples.length; i++) {
    const a = samples[i]!;
    const b = samples[i + 1]!;
    const dt = b.t - a.t;
    const counterDrop =
      a.energyMJ !== undefined && b.energyMJ !== undefined && b.energyMJ < a.energyMJ;
    if (counterDrop && b.t >= iv.startMs && b.t < iv.endMs) r.counterResets.push(b.t);
    const lo = Math.max(a.t, iv.startMs);
    const hi = Math.min(b.t, iv.endMs);
    if (hi <= lo || dt <= 0) continue;
    const r0 = (lo - a.t) / dt;
    const r1 = (hi - a.t) / dt;
    const lenS = (hi - lo) / 1000;
    const useCounter = a.energyMJ !== undefined && b.energyMJ !== undefined && !counterDrop;
    const counterJ = useCounter ? ((b.energyMJ! - a.energyMJ!) / 1000) * (r1 - r0) : 0;

    if (dt > maxGapMs) {
      r.gaps.push({ fromMs: lo, toMs: hi });
      if (useCounter) {
        r.gapEnergyJ += counterJ;
        r.energyJ += counterJ;
      }
      continue;
    }

    r.observedSeconds += lenS;

    const trap = linearIntegral(a.powerW, b.powerW, r0, r1, lenS);
    r.trapezoidJ += trap;
    if (useCounter) {
      r.energyJ += counterJ;
      r.counterSeconds += lenS;
    } else {
      r.energyJ += trap;
      r.trapezoidSeconds += lenS;
    }

    const actA = activityOf(a);
    const actB = activityOf(b);
    let busyA: number;
    let busyB: number;
    if (actA === undefined && actB === undefined) {
      busyA = 1;
      busyB = 1;
      r.activityUnknownSeconds += lenS;
    } else {
      busyA = actA ?? actB!;
      busyB = actB ?? actA!;
    }
    r.busySeconds += linearIntegral(busyA, busyB, r0, r1, lenS);

    const measured = a.tensorActive !== undefined && b.tensorActive !== undefined;
    if (!measured) r.tensorProxySeconds += lenS;
    const tA = a.tensorActive ?? busyA;
    const tB = b.tensorActive ?? busyB;
    r.tensorSeconds += linearIntegral(tA, tB, r0, r1, lenS);

    if (a.smActive !== undefined && b.smActive !== undefined) {
      r.smSeconds += linearIntegral(a.smActive, b.smActive, r0, r1, lenS);
      r.smObservedSeconds += lenS;
    }
  }
  return r;
}
