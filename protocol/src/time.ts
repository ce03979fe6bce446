/**
 * vpause times: RFC 3339 UTC with second precision and `Z` (`2026-11-27T00:05:00Z`).
 *
 * The pattern validates real calendar dates (month lengths and Gregorian leap years), so that a
 * JSON Schema validator holding only the pattern refuses `2026-02-30` just as this code does.
 * Leap seconds (`:60`) are refused: vpause times are POSIX times. Because the format is fixed
 * width, comparing two valid times as strings orders them chronologically.
 */

const DATE =
  '(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29' +
  '|[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])' +
  '|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)' +
  '|02-(?:0[1-9]|1[0-9]|2[0-8]))';

/** The regular expression source every vpause time matches (anchored). */
export const TIME_PATTERN = `^(?:${DATE})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$`;

const TIME_RE = new RegExp(TIME_PATTERN);

/** Smallest and largest representable vpause times, as POSIX seconds. */
export const MIN_TIME_SECONDS = -62_167_219_200; // 0000-01-01T00:00:00Z
export const MAX_TIME_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

/** True when `s` is a vpause time (RFC 3339, UTC, second precision, `Z`, a real calendar date). */
export function isTime(s: unknown): s is string {
  return typeof s === 'string' && TIME_RE.test(s);
}

/**
 * Converts a vpause time to POSIX seconds.
 * @throws {TypeError} when `s` is not a vpause time
 */
export function parseTime(s: string): number {
  if (!isTime(s)) throw new TypeError('parseTime: not an RFC 3339 UTC second-precision time');
  const d = new Date(0);
  d.setUTCFullYear(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)));
  d.setUTCHours(Number(s.slice(11, 13)), Number(s.slice(14, 16)), Number(s.slice(17, 19)), 0);
  return d.getTime() / 1000;
}

/**
 * Formats POSIX seconds as a vpause time.
 * @throws {RangeError} when `seconds` is not an integer in [MIN_TIME_SECONDS, MAX_TIME_SECONDS]
 */
export function formatTime(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < MIN_TIME_SECONDS || seconds > MAX_TIME_SECONDS) {
    throw new RangeError('formatTime: seconds out of range');
  }
  const iso = new Date(seconds * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z for years 0..9999
  return `${iso.slice(0, 19)}Z`;
}
