import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignInterval,
  checkInterval,
  intervalsBetween,
  toStatementTime,
} from '../../nodes/report/interval.js';

const T = (h: number, m: number, s: number, ms = 0) => Date.UTC(2026, 10, 27, h, m, s, ms);

describe('alignInterval with a 300 s reporting interval', () => {
  it('puts 00:07:31 in [00:05:00, 00:10:00)', () => {
    const iv = alignInterval(T(0, 7, 31, 250), 300);
    expect(iv).toEqual({ startMs: T(0, 5, 0), endMs: T(0, 10, 0) });
    expect(toStatementTime(iv.startMs)).toBe('2026-11-27T00:05:00Z');
    expect(toStatementTime(iv.endMs)).toBe('2026-11-27T00:10:00Z');
  });

  it('puts a time exactly on a boundary in the interval that starts there (half-open)', () => {
    expect(alignInterval(T(0, 10, 0), 300).startMs).toBe(T(0, 10, 0));
    expect(alignInterval(T(0, 10, 0) - 1, 300).startMs).toBe(T(0, 5, 0));
  });
});

describe('when the interval length does not divide a day', () => {
  it.each([7, 0, -300, 1.5, 86_401])('refuses %s s with INTERVAL_INVALID', (s) => {
    expect(() => alignInterval(0, s)).toThrow(
      expect.objectContaining({ code: 'INTERVAL_INVALID' }),
    );
  });
});

describe('intervalsBetween', () => {
  it('lists the three 300 s intervals overlapping [00:04:00, 00:15:00)', () => {
    expect(
      intervalsBetween(T(0, 4, 0), T(0, 15, 0), 300).map((i) => toStatementTime(i.startMs)),
    ).toEqual(['2026-11-27T00:00:00Z', '2026-11-27T00:05:00Z', '2026-11-27T00:10:00Z']);
  });
});

describe('checkInterval', () => {
  it('refuses an interval with milliseconds or with end ≤ start (INTERVAL_INVALID)', () => {
    expect(() => checkInterval({ startMs: 500, endMs: 300_000 })).toThrow(
      expect.objectContaining({ code: 'INTERVAL_INVALID' }),
    );
    expect(() => checkInterval({ startMs: 300_000, endMs: 300_000 })).toThrow(
      expect.objectContaining({ code: 'INTERVAL_INVALID' }),
    );
  });
});

describe('property: aligned intervals', () => {
  const divisors = [1, 2, 5, 10, 30, 60, 300, 600, 900, 3600, 7200, 21_600, 86_400];
  it('contain the time, start on a multiple of the length, and tile each UTC day', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Date.UTC(9999, 0, 1) }),
        fc.constantFrom(...divisors),
        (t, len) => {
          const iv = alignInterval(t, len);
          expect(iv.startMs <= t && t < iv.endMs).toBe(true);
          expect(iv.startMs % (len * 1000)).toBe(0);
          expect(iv.endMs - iv.startMs).toBe(len * 1000);
          const dayStart = Math.floor(t / 86_400_000) * 86_400_000;
          expect((iv.startMs - dayStart) % (len * 1000)).toBe(0);
          expect(iv.endMs <= dayStart + 86_400_000).toBe(true);
        },
      ),
    );
  });
});
