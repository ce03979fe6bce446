/**
 * The samples a node holds between collection and reporting. Pure.
 *
 * Samples are kept from `keepFromMs` on: the start of the next interval to report minus the
 * bridged gap, so that each report also sees the last sample before its start and the first at
 * or after its end (the report uses them to complete the edge segments). Older samples arrive
 * too late for any report and are counted and dropped.
 */
import type { GpuSample } from '../collectors/sample.js';
import type { Interval } from '../report/interval.js';

export class SampleBuffer {
  private samples: GpuSample[] = [];
  private keepFromMs = Number.NEGATIVE_INFINITY;
  /** Samples dropped because they were too old for any report still to come. */
  late = 0;
  /** Samples dropped because the buffer was full. */
  overflow = 0;

  constructor(private readonly maxSamples = 2_000_000) {}

  get size(): number {
    return this.samples.length;
  }

  /** Adds a batch; returns how many were kept. */
  add(batch: readonly GpuSample[]): number {
    let kept = 0;
    for (const s of batch) {
      if (s.t < this.keepFromMs) {
        this.late++;
        continue;
      }
      this.samples.push(s);
      kept++;
    }
    if (this.samples.length > this.maxSamples) {
      const drop = this.samples.length - this.maxSamples;
      this.samples.sort((a, b) => a.t - b.t);
      this.samples.splice(0, drop);
      this.overflow += drop;
    }
    return kept;
  }

  /** Samples a report of `iv` needs: within `marginMs` of it. */
  window(iv: Interval, marginMs: number): GpuSample[] {
    const from = iv.startMs - marginMs;
    const to = iv.endMs + marginMs;
    return this.samples.filter((s) => s.t >= from && s.t <= to);
  }

  /** Forgets samples before `t` and refuses such samples from now on. */
  forgetBefore(t: number): void {
    if (t <= this.keepFromMs) return;
    this.keepFromMs = t;
    this.samples = this.samples.filter((s) => s.t >= t);
  }
}
