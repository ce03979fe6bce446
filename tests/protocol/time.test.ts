import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatTime,
  isTime,
  MAX_TIME_SECONDS,
  MIN_TIME_SECONDS,
  parseTime,
} from '../../protocol/src/time.js';

describe('vpause times', () => {
  describe('when a time is a real UTC calendar instant at second precision with Z', () => {
    it.each([
      ['2026-11-27T00:05:00Z', 1_795_737_900],
      ['1970-01-01T00:00:00Z', 0],
      ['2024-02-29T23:59:59Z', 1_709_251_199],
      ['2000-02-29T00:00:00Z', 951_782_400],
      ['0000-01-01T00:00:00Z', MIN_TIME_SECONDS],
      ['9999-12-31T23:59:59Z', MAX_TIME_SECONDS],
    ])('accepts %s as %i POSIX seconds', (t, s) => {
      expect(isTime(t)).toBe(true);
      expect(parseTime(t)).toBe(s);
      expect(formatTime(s)).toBe(t);
    });
  });

  describe('when a time is not', () => {
    it.each([
      ['2026-02-30T00:00:00Z', 'February 30'],
      ['2026-02-29T00:00:00Z', 'February 29 of a common year'],
      ['2100-02-29T00:00:00Z', 'February 29 of a century not divisible by 400'],
      ['2026-04-31T00:00:00Z', 'April 31'],
      ['2026-13-01T00:00:00Z', 'month 13'],
      ['2026-00-01T00:00:00Z', 'month 0'],
      ['2026-01-00T00:00:00Z', 'day 0'],
      ['2026-01-01T24:00:00Z', 'hour 24'],
      ['2026-01-01T00:60:00Z', 'minute 60'],
      ['2026-12-31T23:59:60Z', 'a leap second'],
      ['2026-01-01T00:00:00.000Z', 'fractional seconds'],
      ['2026-01-01T00:00Z', 'no seconds'],
      ['2026-01-01T00:00:00+00:00', 'a numeric offset'],
      ['2026-01-01T00:00:00z', 'lower-case z'],
      ['2026-01-01t00:00:00Z', 'lower-case t'],
      ['2026-01-01 00:00:00Z', 'a space separator'],
      ['2026-01-01T00:00:00', 'no zone'],
      ['+02026-01-01T00:00:00Z', 'an expanded year'],
      ['2026-01-01T00:00:00Z\n', 'a trailing newline'],
    ])('refuses %s (%s)', (t) => {
      expect(isTime(t)).toBe(false);
      expect(() => parseTime(t)).toThrow(TypeError);
    });
  });

  describe('when POSIX seconds are formatted and parsed back', () => {
    it('round-trips every second of years 0000..9999', () => {
      fc.assert(
        fc.property(fc.integer({ min: MIN_TIME_SECONDS, max: MAX_TIME_SECONDS }), (s) => {
          const t = formatTime(s);
          expect(isTime(t)).toBe(true);
          expect(parseTime(t)).toBe(s);
        }),
        { numRuns: 500 },
      );
    });

    it('orders times as strings exactly as it orders their seconds', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: MIN_TIME_SECONDS, max: MAX_TIME_SECONDS }),
          fc.integer({ min: MIN_TIME_SECONDS, max: MAX_TIME_SECONDS }),
          (a, b) => {
            expect(formatTime(a) < formatTime(b)).toBe(a < b);
          },
        ),
      );
    });
  });

  describe('when seconds are out of range or fractional', () => {
    it.each([[MAX_TIME_SECONDS + 1], [MIN_TIME_SECONDS - 1], [1.5], [Number.NaN]])(
      'formatTime(%s) throws RangeError',
      (s) => {
        expect(() => formatTime(s)).toThrow(RangeError);
      },
    );
  });
});
