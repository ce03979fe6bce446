/**
 * Reporting intervals: half-open `[start, end)` windows aligned to multiples of the reporting
 * interval since the Unix epoch (so a 300 s interval runs `[00:05:00, 00:10:00)`). The interval
 * length must divide a day, so that intervals tile each UTC day (the pause's `maxFlopPerDay` is
 * per UTC day). Pure.
 */
import { formatTime } from '../../protocol/src/time.js';
import { TelemetryError } from '../collectors/errors.js';

/** One reporting interval, Unix milliseconds, `[startMs, endMs)`. */
export interface Interval {
  startMs: number;
  endMs: number;
}

const DAY_S = 86_400;

/**
 * Checks a reporting interval length.
 * @throws {TelemetryError} `INTERVAL_INVALID` unless `seconds` is a positive integer dividing 86 400
 */
export function checkIntervalSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || DAY_S % seconds !== 0) {
    throw new TelemetryError(
      'INTERVAL_INVALID',
      `interval ${seconds} s must be a positive integer dividing 86400`,
    );
  }
}

/**
 * The interval containing time `tMs`: `start = floor(t / len) · len`.
 * @throws {TelemetryError} `INTERVAL_INVALID` for a bad length or a non-finite time
 */
export function alignInterval(tMs: number, intervalSeconds: number): Interval {
  checkIntervalSeconds(intervalSeconds);
  if (!Number.isFinite(tMs)) throw new TelemetryError('INTERVAL_INVALID', 'time is not finite');
  const len = intervalSeconds * 1000;
  const startMs = Math.floor(tMs / len) * len;
  return { startMs, endMs: startMs + len };
}

/**
 * Every interval that overlaps `[fromMs, toMs)`, in order.
 * @throws {TelemetryError} `INTERVAL_INVALID` for a bad length or `toMs < fromMs`
 */
export function intervalsBetween(
  fromMs: number,
  toMs: number,
  intervalSeconds: number,
): Interval[] {
  if (!(toMs >= fromMs)) throw new TelemetryError('INTERVAL_INVALID', 'toMs before fromMs');
  const out: Interval[] = [];
  if (toMs === fromMs) return out;
  let iv = alignInterval(fromMs, intervalSeconds);
  while (iv.startMs < toMs) {
    out.push(iv);
    iv = { startMs: iv.endMs, endMs: iv.endMs + intervalSeconds * 1000 };
  }
  return out;
}

/**
 * Checks that an interval is non-empty and on whole seconds (statement times have second precision).
 * @throws {TelemetryError} `INTERVAL_INVALID` otherwise
 */
export function checkInterval(iv: Interval): void {
  if (
    !Number.isSafeInteger(iv.startMs) ||
    !Number.isSafeInteger(iv.endMs) ||
    iv.startMs % 1000 !== 0 ||
    iv.endMs % 1000 !== 0 ||
    iv.endMs <= iv.startMs
  ) {
    throw new TelemetryError('INTERVAL_INVALID', 'interval must be whole seconds with end > start');
  }
}

/**
 * RFC 3339 UTC, second precision (`2026-11-27T00:05:00Z`), the statement time format.
 * @throws {TelemetryError} `INTERVAL_INVALID` when `ms` is not a whole second in range
 */
export function toStatementTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms % 1000 !== 0) {
    throw new TelemetryError('INTERVAL_INVALID', 'statement times are whole seconds');
  }
  try {
    return formatTime(ms / 1000);
  } catch (e) {
    throw new TelemetryError('INTERVAL_INVALID', 'time out of range', { cause: e });
  }
}
