import { z } from 'zod';
import { TelemetryError } from './errors.js';

/**
 * One reading of one GPU at one instant: the unit every collector produces, the report
 * aggregates and the sample Merkle tree commits to.
 *
 * Rates (`utilGpu`, `smActive`, `tensorActive`) are fractions in [0, 1]. A field is absent
 * when the source does not report it; it is never guessed by a collector.
 */
export interface GpuSample {
  /** Time of the reading, Unix milliseconds (integer, UTC). */
  t: number;
  /** GPU UUID as NVML prints it (`GPU-…`); MIG instances are folded into their GPU. */
  uuid: string;
  /** Product name as NVML prints it, e.g. `NVIDIA H100 80GB HBM3`. */
  model: string;
  /** Board power draw in watts (nvidia-smi `power.draw`, DCGM `DCGM_FI_DEV_POWER_USAGE`). */
  powerW: number;
  /**
   * Cumulative energy counter in **millijoules** since the driver loaded (DCGM field 156,
   * NVML `nvmlDeviceGetTotalEnergyConsumption`), when the source has one. Decreases are resets.
   */
  energyMJ?: number;
  /** Share of time a kernel was running (`utilization.gpu` / `DCGM_FI_DEV_GPU_UTIL`), 0..1. */
  utilGpu?: number;
  /** Ratio of cycles an SM had a warp assigned (`DCGM_FI_PROF_SM_ACTIVE`), 0..1. */
  smActive?: number;
  /** Ratio of cycles the tensor (HMMA) pipe was active (`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE`), 0..1. */
  tensorActive?: number;
  /** Frame-buffer memory in use, MiB. */
  memUsedMiB?: number;
  /** SM clock, MHz (`clocks.sm` / `DCGM_FI_DEV_SM_CLOCK`). */
  smClockMHz?: number;
  /** Host the GPU sits in, when the collector knows it. */
  host?: string;
}

const fraction = z.number().min(0).max(1);
const nonNegative = z.number().min(0);

/**
 * The schema every sample must satisfy before it is aggregated or committed. Strict: unknown
 * keys are refused, so the committed encoding has exactly the documented fields.
 */
export const gpuSampleSchema = z.strictObject({
  t: z.number().int().min(0).max(8.64e15),
  uuid: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/),
  model: z.string().min(1).max(256),
  powerW: nonNegative,
  energyMJ: nonNegative.optional(),
  utilGpu: fraction.optional(),
  smActive: fraction.optional(),
  tensorActive: fraction.optional(),
  memUsedMiB: nonNegative.optional(),
  smClockMHz: nonNegative.optional(),
  host: z.string().min(1).max(253).optional(),
});

/**
 * Checks one sample against {@link gpuSampleSchema}.
 * @throws {TelemetryError} `SAMPLE_INVALID` naming the first offending field
 */
export function assertGpuSample(s: unknown): asserts s is GpuSample {
  const r = gpuSampleSchema.safeParse(s);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new TelemetryError(
      'SAMPLE_INVALID',
      `invalid GPU sample at ${where}: ${issue?.message ?? 'unknown'}`,
    );
  }
}

/** Time source and sleeper, injected everywhere so tests and the simulator control time. */
export interface Timer {
  /** Current time, Unix milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** The wall clock and `setTimeout`. */
export const systemTimer: Timer = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(h);
        resolve();
      };
      const h = setTimeout(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Which kind of source produced the samples; recorded in the report body. */
export type CollectorKind = 'nvidia-smi' | 'dcgm-exporter' | 'replay' | 'synthetic';

/**
 * A telemetry source. `run` delivers batches (all GPUs read at one instant, or one streamed
 * line) to `onSamples` until `signal` aborts or the source ends (a replay without loop), then
 * resolves. Transient failures of one poll go to the collector's `onError` option and the
 * loop carries on; `run` rejects only for errors that make continuing pointless.
 */
export interface Collector {
  readonly kind: CollectorKind;
  run(onSamples: (batch: GpuSample[]) => void, signal: AbortSignal): Promise<void>;
}

/**
 * Calls `tick` every `periodMs` on a fixed cadence (no drift: ticks are at start + k·period;
 * ticks missed because a tick ran long are skipped, not bunched) until `signal` aborts.
 * Errors thrown by `tick` go to `onError`; the loop continues.
 */
export async function pollEvery(
  periodMs: number,
  timer: Timer,
  signal: AbortSignal,
  tick: () => Promise<void>,
  onError: (e: unknown) => void,
): Promise<void> {
  let next = timer.now();
  while (!signal.aborted) {
    try {
      await tick();
    } catch (e) {
      onError(e);
    }
    if (signal.aborted) break;
    next += periodMs;
    const now = timer.now();
    if (next < now) next = now + ((periodMs - ((now - next) % periodMs)) % periodMs);
    await timer.sleep(next - now, signal);
  }
}
