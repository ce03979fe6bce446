/**
 * Sources of facility meter readings (cumulative energy counters):
 * - **synthetic**: a seeded facility whose power is `PUE × GPU power + baseline`, with Gaussian
 *   noise, the GPU power drawn from the synthetic GPU workloads of nodes/collectors;
 * - **replay**: a CSV of cumulative readings (`time,counterJ`), played on the clock;
 * - **http**: a JSON endpoint polled through an injected fetch (`{"counterJ": …}` or any field,
 *   with a scale to joules).
 */
import { readFile } from 'node:fs/promises';
import { createPrng } from '../collectors/prng.js';
import { pollEvery, systemTimer, type Timer } from '../collectors/sample.js';
import {
  createSyntheticSource,
  type GpuProfileName,
  type SyntheticWorkload,
} from '../collectors/synthetic.js';
import { DaemonError } from '../daemon/errors.js';
import type { MeterReading } from './readings.js';

/** A meter source. `run` delivers readings until `signal` aborts or the source ends. */
export interface MeterSource {
  readonly kind: 'synthetic' | 'replay' | 'http';
  /**
   * @param resume the last logged reading (time and counter), so a simulated counter continues
   */
  run(
    onReading: (r: MeterReading) => void,
    signal: AbortSignal,
    resume?: MeterReading,
  ): Promise<void>;
}

/** Options of the synthetic facility. */
export interface SyntheticMeterOptions {
  seed: number | string;
  /** Reading period, ms (default 1000). */
  periodMs?: number;
  /** Power usage effectiveness: facility power per unit of IT (here GPU) power (default 1.3). */
  pue?: number;
  /** Non-GPU draw seen at the meter, watts (default 20 000). */
  baselineW?: number;
  /** Relative standard deviation of the power noise (default 0.01). */
  noise?: number;
  /** The GPU fleet behind the feed. */
  gpus: ReadonlyArray<{ model: GpuProfileName; count: number; workload: SyntheticWorkload }>;
  /** Counter at the first reading, joules (default: derived from the seed). */
  initialCounterJ?: number;
  timer?: Timer;
}

/**
 * The synthetic facility meter. Its power at time t is
 * `pue × Σ GPU power(t) + baselineW`, times `(1 + noise × N(0, 1))`; the counter integrates it
 * (trapezoid). After a restart it continues from the last logged counter, adding the energy of
 * the time it was down at the first reading's power.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID for a bad period, PUE, noise or fleet
 */
export function createSyntheticMeterSource(opts: SyntheticMeterOptions): MeterSource {
  const periodMs = opts.periodMs ?? 1000;
  const pue = opts.pue ?? 1.3;
  const baselineW = opts.baselineW ?? 20_000;
  const noise = opts.noise ?? 0.01;
  if (!(periodMs > 0) || !(pue >= 1) || !(baselineW >= 0) || !(noise >= 0) || noise > 0.5) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      'synthetic meter: bad periodMs, pue, baselineW or noise',
    );
  }
  const timer = opts.timer ?? systemTimer;
  return {
    kind: 'synthetic',
    async run(onReading, signal, resume) {
      const rng = createPrng(`meter:${String(opts.seed)}`);
      const fleets = opts.gpus.map((g, i) =>
        createSyntheticSource({
          seed: `${String(opts.seed)}/${i}`,
          workload: g.workload,
          model: g.model,
          gpus: g.count,
          periodMs,
        }),
      );
      const powerAt = (t: number): number => {
        let gpuW = 0;
        for (const f of fleets) for (const s of f.next(t)) gpuW += s.powerW;
        return Math.max(0, (pue * gpuW + baselineW) * (1 + noise * rng.normal()));
      };
      let counter: number | undefined;
      let lastT: number | undefined;
      let lastW: number | undefined;
      await pollEvery(
        periodMs,
        timer,
        signal,
        async () => {
          const t = timer.now();
          if (lastT !== undefined && t <= lastT) return;
          const w = powerAt(t);
          if (counter === undefined) {
            counter =
              resume !== undefined
                ? resume.counterJ + (w * Math.max(0, t - resume.t)) / 1000
                : (opts.initialCounterJ ?? 1e11 + Math.floor(rng.next() * 1e12));
          } else {
            counter += (((lastW ?? w) + w) / 2) * ((t - lastT!) / 1000);
          }
          lastT = t;
          lastW = w;
          onReading({ t, counterJ: Math.round(counter * 1000) / 1000 });
        },
        () => {},
      );
    },
  };
}

/**
 * Parses a CSV of cumulative readings: a header naming a `time` column (RFC 3339, or Unix ms) and
 * a `counterJ` column (joules); other columns are ignored; `#` lines and blank lines are skipped.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID naming the line
 */
export function parseMeterCsv(text: string): MeterReading[] {
  const lines = text.split(/\r?\n/);
  let header: string[] | undefined;
  const out: MeterReading[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',').map((c) => c.trim());
    if (header === undefined) {
      header = cells;
      if (!header.includes('time') || !header.includes('counterJ')) {
        throw new DaemonError(
          'DAEMON_CONFIG_INVALID',
          `meter CSV line ${i + 1}: the header must name the columns time and counterJ`,
        );
      }
      continue;
    }
    if (cells.length !== header.length) {
      throw new DaemonError(
        'DAEMON_CONFIG_INVALID',
        `meter CSV line ${i + 1}: ${cells.length} cells, not ${header.length}`,
      );
    }
    const ts = cells[header.indexOf('time')]!;
    const t = /^\d+$/.test(ts) ? Number(ts) : Date.parse(ts);
    const counterJ = Number(cells[header.indexOf('counterJ')]);
    if (
      !Number.isFinite(t) ||
      !Number.isFinite(counterJ) ||
      counterJ < 0 ||
      cells[header.indexOf('counterJ')] === ''
    ) {
      throw new DaemonError(
        'DAEMON_CONFIG_INVALID',
        `meter CSV line ${i + 1}: bad time or counterJ`,
      );
    }
    if (out.length > 0 && t <= out[out.length - 1]!.t) {
      throw new DaemonError(
        'DAEMON_CONFIG_INVALID',
        `meter CSV line ${i + 1}: times must increase`,
      );
    }
    out.push({ t, counterJ });
  }
  if (out.length === 0) throw new DaemonError('DAEMON_CONFIG_INVALID', 'meter CSV has no readings');
  return out;
}

/** Options of the replay source. */
export interface ReplayMeterOptions {
  readings: readonly MeterReading[];
  /**
   * Data time of the first reading (Unix ms); later readings keep their spacing. Default: the
   * readings' own times. A fixed value keeps the replay identical across restarts.
   */
  shiftToMs?: number;
  timer?: Timer;
}

/**
 * Plays readings on the clock: each is delivered once the clock reaches its (shifted) time;
 * readings already in the past are delivered at once. Ends after the last one.
 */
export function createReplayMeterSource(opts: ReplayMeterOptions): MeterSource {
  const timer = opts.timer ?? systemTimer;
  const first = opts.readings[0];
  const shift = first !== undefined && opts.shiftToMs !== undefined ? opts.shiftToMs - first.t : 0;
  return {
    kind: 'replay',
    async run(onReading, signal) {
      for (const r of opts.readings) {
        const t = r.t + shift;
        while (!signal.aborted && timer.now() < t) await timer.sleep(t - timer.now(), signal);
        if (signal.aborted) return;
        onReading({ t, counterJ: r.counterJ });
      }
    },
  };
}

/** Reads a meter CSV file for {@link createReplayMeterSource}. @throws {DaemonError} */
export async function readMeterCsv(path: string): Promise<MeterReading[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseMeterCsv(text);
}

/** Options of the HTTP source. */
export interface HttpMeterOptions {
  url: string;
  /** Poll period, ms (default 5 000). */
  periodMs?: number;
  timeoutMs?: number;
  /** Dot path of the counter in the JSON answer (default `counterJ`). */
  counterField?: string;
  /** Dot path of the reading time (Unix ms or RFC 3339); default: the clock at the poll. */
  timeField?: string;
  /** Factor from the counter's unit to joules (default 1; 3.6e6 for kWh). */
  scale?: number;
  fetch?: (
    url: string,
    init: { signal: AbortSignal },
  ) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;
  timer?: Timer;
  onError?: (e: Error) => void;
}

function pick(o: unknown, path: string): unknown {
  let v = o;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/**
 * Polls a JSON endpoint for the meter's counter. Failed or malformed polls go to `onError`; the
 * source keeps polling.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID for a bad URL, period or scale
 */
export function createHttpMeterSource(opts: HttpMeterOptions): MeterSource {
  try {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `meter url ${opts.url}: ${(e as Error).message}`,
    );
  }
  const periodMs = opts.periodMs ?? 5_000;
  const scale = opts.scale ?? 1;
  if (!(periodMs > 0) || !(scale > 0)) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', 'http meter: periodMs and scale must be > 0');
  }
  const timer = opts.timer ?? systemTimer;
  const f = opts.fetch ?? ((u: string, init: { signal: AbortSignal }) => fetch(u, init));
  const counterField = opts.counterField ?? 'counterJ';
  const onError = opts.onError ?? (() => {});
  return {
    kind: 'http',
    async run(onReading, signal) {
      await pollEvery(
        periodMs,
        timer,
        signal,
        async () => {
          const now = timer.now();
          const r = await f(opts.url, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs ?? 5_000)]),
          });
          if (!r.ok) throw new Error(`meter endpoint answered HTTP ${r.status}`);
          const j = await r.json();
          const c = pick(j, counterField);
          if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) {
            throw new Error(`meter answer has no non-negative number at ${counterField}`);
          }
          let t = now;
          if (opts.timeField !== undefined) {
            const v = pick(j, opts.timeField);
            t = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN;
            if (!Number.isFinite(t))
              throw new Error(`meter answer has no time at ${opts.timeField}`);
          }
          onReading({ t: Math.round(t), counterJ: c * scale });
        },
        (e) => onError(e as Error),
      );
    },
  };
}
