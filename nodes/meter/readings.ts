/**
 * From cumulative meter readings to per-interval energy. Pure.
 *
 * A facility meter exposes a cumulative energy counter (joules). The energy of an interval
 * `[s, e)` is the counter's increase over it; the counter at the interval edges is linearly
 * interpolated between the readings around them, so readings need not fall on the edges. The
 * counter at the end of each reported interval is the start of the next (the chain telescopes:
 * the energies of consecutive statements add up exactly to the counter's increase), and after a
 * restart the last logged `counterJ` is that anchor again.
 *
 * A counter that decreases by more than {@link RESET_TOLERANCE_J} was reset (meter replaced or
 * rolled over): the energy after the reset is counted from zero, never as negative energy.
 * Readings that do not advance in time are ignored.
 */
import type { Interval } from '../report/interval.js';

/** One reading of the meter's cumulative counter. */
export interface MeterReading {
  /** Time of the reading, Unix ms. */
  t: number;
  /** Cumulative energy, joules. */
  counterJ: number;
}

/** The energy of one interval and the counter at its end. */
export interface MeterInterval {
  energyJ: number;
  counterJ: number;
  /** Readings that fell inside the interval (edges excluded). */
  readings: number;
  /** Counter resets seen inside the interval. */
  resets: number;
}

const r3 = (x: number) => Math.round(x * 1e3) / 1e3;

/**
 * A counter decrease larger than this is a reset; a smaller one is jitter or rounding (the
 * logged counter is rounded to the millijoule) and counts as no energy.
 */
export const RESET_TOLERANCE_J = 1;

/**
 * Accumulates readings and settles intervals in order.
 */
export class MeterIntegrator {
  private readings: MeterReading[] = [];
  private anchor: MeterReading | undefined;
  /** Readings refused (not after the previous one, or not finite / negative). */
  refused = 0;

  /**
   * @param lenMs the reporting interval, ms
   * @param resume the end and counter of the last reported interval (from the outbox)
   */
  constructor(
    private readonly lenMs: number,
    resume?: MeterReading,
  ) {
    if (resume !== undefined) this.anchor = { ...resume };
  }

  /** Adds a reading; false when it is refused. */
  add(r: MeterReading): boolean {
    const last = this.readings[this.readings.length - 1];
    if (
      !Number.isFinite(r.t) ||
      !Number.isFinite(r.counterJ) ||
      r.counterJ < 0 ||
      (last !== undefined && r.t <= last.t) ||
      (this.anchor !== undefined && r.t <= this.anchor.t)
    ) {
      this.refused++;
      return false;
    }
    this.readings.push({ t: r.t, counterJ: r.counterJ });
    if (this.anchor === undefined) this.tryAnchor();
    return true;
  }

  /** The interval to settle next, once the start of the chain is known. */
  next(): Interval | undefined {
    if (this.anchor === undefined) return undefined;
    const s = this.anchor.t;
    return { startMs: s, endMs: (Math.floor(s / this.lenMs) + 1) * this.lenMs };
  }

  /** The first ever interval starts at the first interval boundary at or after the first reading. */
  private tryAnchor(): void {
    const first = this.readings[0];
    if (first === undefined) return;
    const s = Math.ceil(first.t / this.lenMs) * this.lenMs;
    const v = this.valueAt(s);
    if (v === undefined) return;
    this.anchor = { t: s, counterJ: r3(v) };
    this.readings = this.readings.filter((r) => r.t > s);
  }

  /** Interpolated counter at t from the readings around it (no reset between them), or undefined. */
  private valueAt(t: number): number | undefined {
    let before: MeterReading | undefined;
    for (const r of this.readings) {
      if (r.t === t) return r.counterJ;
      if (r.t < t) before = r;
      else {
        if (before === undefined) return undefined;
        if (r.counterJ < before.counterJ) return before.counterJ;
        return (
          before.counterJ + ((r.counterJ - before.counterJ) * (t - before.t)) / (r.t - before.t)
        );
      }
    }
    return undefined;
  }

  /**
   * Settles the next interval when a reading at or after its end exists: its energy and the
   * counter at its end; the next interval starts at its end. Undefined while the readings do not
   * reach it.
   */
  settle(): (MeterInterval & Interval) | undefined {
    const s = this.peek();
    if (s !== undefined) this.advance(s);
    return s;
  }

  /** What {@link settle} would return, without moving on. */
  peek(): (MeterInterval & Interval) | undefined {
    const iv = this.next();
    if (iv === undefined || this.anchor === undefined) return undefined;
    const e = iv.endMs;
    const after = this.readings.find((r) => r.t >= e);
    if (after === undefined) return undefined;
    let prev: MeterReading = this.anchor;
    let energy = 0;
    let readings = 0;
    let resets = 0;
    const inside = this.readings.filter((r) => r.t > prev.t && r.t <= e);
    for (const r of inside) {
      const d = r.counterJ - prev.counterJ;
      if (r.t < e) readings++;
      if (d >= 0) {
        energy += d;
        prev = r;
      } else if (-d > RESET_TOLERANCE_J) {
        resets++;
        energy += r.counterJ;
        prev = r;
      } else {
        // Jitter or rounding, not a reset: no energy, and the higher value stays the reference.
        prev = { t: r.t, counterJ: prev.counterJ };
      }
    }
    // The counter at e, rounded to the millijoule as it is logged (the next interval starts
    // from exactly the logged value, here and after a restart).
    let atEnd = r3(prev.counterJ);
    if (prev.t < e && after.counterJ >= prev.counterJ) {
      // The segment from the last reading before e to the first after it. (A reset inside that
      // segment leaves its energy to the next interval.)
      atEnd = r3(
        prev.counterJ + ((after.counterJ - prev.counterJ) * (e - prev.t)) / (after.t - prev.t),
      );
    }
    energy += atEnd - prev.counterJ;
    return { ...iv, energyJ: r3(Math.max(0, energy)), counterJ: atEnd, readings, resets };
  }

  /**
   * Moves past an interval returned by {@link peek} (once its statement is stored).
   * @throws {RangeError} when `s` is not the next interval
   */
  advance(s: Interval & { counterJ: number }): void {
    if (this.anchor === undefined || s.startMs !== this.anchor.t) {
      throw new RangeError('advance: not the next interval');
    }
    this.anchor = { t: s.endMs, counterJ: s.counterJ };
    this.readings = this.readings.filter((r) => r.t > s.endMs);
  }

  /** Readings held. */
  get size(): number {
    return this.readings.length;
  }
}
