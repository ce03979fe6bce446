import { VPauseError } from '../../src/core/errors.js';

/**
 * The closed set of error codes raised by the telemetry side of the attestation node
 * (collectors and the per-interval report). Tests assert these codes, never messages.
 *
 * - `TELEMETRY_MALFORMED`: a source printed something that does not parse (CSV row with the
 *   wrong column count, a number that is not a number, a Prometheus line the parser rejects).
 * - `TELEMETRY_INCOMPLETE`: the text parsed but lacks a value a sample cannot do without
 *   (no UUID, no model, no power reading).
 * - `TELEMETRY_SOURCE_FAILED`: running `nvidia-smi` or scraping dcgm-exporter failed.
 * - `CONFIG_INVALID`: a collector or report option is out of range.
 * - `SAMPLE_INVALID`: a `GpuSample` handed to the report violates the sample schema.
 * - `INTERVAL_INVALID`: an interval that is not aligned, empty, or not a divisor of a day.
 */
export type TelemetryErrorCode =
  | 'TELEMETRY_MALFORMED'
  | 'TELEMETRY_INCOMPLETE'
  | 'TELEMETRY_SOURCE_FAILED'
  | 'CONFIG_INVALID'
  | 'SAMPLE_INVALID'
  | 'INTERVAL_INVALID';

/** The error every collector and report function throws. */
export class TelemetryError extends VPauseError<TelemetryErrorCode> {
  constructor(code: TelemetryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TelemetryError';
  }
}

/** Wraps anything thrown by a source into a TelemetryError (keeps TelemetryErrors as they are). */
export function asTelemetryError(
  e: unknown,
  code: TelemetryErrorCode,
  what: string,
): TelemetryError {
  if (e instanceof TelemetryError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new TelemetryError(code, `${what}: ${msg}`, { cause: e });
}
