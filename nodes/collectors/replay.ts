/**
 * Replay collector: plays back captured telemetry (nvidia-smi CSV, the query-gpu sections of a
 * capture file, or dcgm-exporter Prometheus scrapes) at a chosen speed through the injected timer.
 */
import { captureQueryGpuTables } from './capture.js';
import { dcgmDeviceToSample, parseDcgmMetrics } from './dcgm.js';
import { TelemetryError } from './errors.js';
import {
  type NvidiaSmiTable,
  nvidiaSmiRowToSample,
  parseNvidiaSmiCsv,
  type RowToSampleOptions,
} from './nvidia-smi-csv.js';
import { type Collector, type GpuSample, systemTimer, type Timer } from './sample.js';

/** Samples read at one instant. */
export interface ReplayFrame {
  t: number;
  samples: GpuSample[];
}

/** Groups samples into frames by timestamp, in time order. */
export function framesFromSamples(samples: readonly GpuSample[]): ReplayFrame[] {
  const byT = new Map<number, GpuSample[]>();
  for (const s of samples) {
    const f = byT.get(s.t);
    if (f) f.push(s);
    else byT.set(s.t, [s]);
  }
  return [...byT.entries()].sort((a, b) => a[0] - b[0]).map(([t, samples]) => ({ t, samples }));
}

function tableSamples(table: NvidiaSmiTable, opts: RowToSampleOptions): GpuSample[] {
  return table.rows.map((r) => nvidiaSmiRowToSample(r, opts));
}

/**
 * Frames from nvidia-smi CSV with a header (such as the DERIVED fixture) or, given `fields`,
 * without one.
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` / `TELEMETRY_INCOMPLETE` from the CSV parser
 */
export function framesFromNvidiaSmiCsv(
  text: string,
  opts: RowToSampleOptions & { fields?: readonly string[] } = {},
): ReplayFrame[] {
  const { fields, ...rowOpts } = opts;
  return framesFromSamples(
    tableSamples(parseNvidiaSmiCsv(text, fields ? { fields } : {}), rowOpts),
  );
}

/**
 * Frames from the query-gpu sections of an nvidia-smi capture file (idle, then load).
 * @param phases which sections to use (default all)
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` / `TELEMETRY_INCOMPLETE` from the CSV parser
 */
export function framesFromCapture(
  text: string,
  opts: RowToSampleOptions & { phases?: readonly string[] } = {},
): ReplayFrame[] {
  const { phases, ...rowOpts } = opts;
  const samples = captureQueryGpuTables(text)
    .filter((x) => phases === undefined || phases.includes(x.phase))
    .flatMap((x) => tableSamples(x.table, rowOpts));
  return framesFromSamples(samples);
}

/**
 * Frames from a sequence of dcgm-exporter scrapes (which carry no timestamps): scrape k is
 * stamped `startMs + k·stepMs`. Devices without a power reading are skipped.
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` when a text is not Prometheus text format
 */
export function framesFromPrometheus(
  texts: readonly string[],
  opts: { startMs: number; stepMs: number; host?: string },
): ReplayFrame[] {
  return texts.map((text, k) => {
    const t = opts.startMs + k * opts.stepMs;
    const samples: GpuSample[] = [];
    for (const d of parseDcgmMetrics(text).devices) {
      if (d.powerW === undefined || d.model === undefined) continue;
      const s = dcgmDeviceToSample(d, t);
      if (s.host === undefined && opts.host !== undefined) s.host = opts.host;
      samples.push(s);
    }
    return { t, samples };
  });
}

/** Options of {@link createReplayCollector}. */
export interface ReplayOptions {
  frames: readonly ReplayFrame[];
  /** Playback speed: 1 = real time, 10 = ten times faster, Infinity = no waiting. Default 1. */
  speed?: number;
  /** Start over after the last frame; times keep increasing (each pass is shifted). */
  loop?: boolean;
  /**
   * Data time of the first frame: a number (Unix ms) or `now` (the timer's time when `run`
   * starts). Default: the frames' own times. Later frames keep their spacing.
   */
  startAt?: number | 'now';
  /** Spacing between the last frame of one pass and the first of the next (default 1000 ms). */
  loopGapMs?: number;
  /** Stop after this many frames (counting all passes). */
  maxFrames?: number;
  timer?: Timer;
}

/**
 * Creates a replay collector. Between frames it sleeps the frames' time difference divided by
 * `speed`. Sample times are data times (original or shifted by `startAt`), never wall time.
 * @throws {TelemetryError} `CONFIG_INVALID` for no frames, frames out of order, or a bad speed
 */
export function createReplayCollector(opts: ReplayOptions): Collector {
  const frames = opts.frames;
  const speed = opts.speed ?? 1;
  const loopGapMs = opts.loopGapMs ?? 1000;
  if (frames.length === 0) throw new TelemetryError('CONFIG_INVALID', 'replay has no frames');
  for (let i = 1; i < frames.length; i++) {
    if (frames[i]!.t <= frames[i - 1]!.t) {
      throw new TelemetryError('CONFIG_INVALID', 'replay frames must have increasing times');
    }
  }
  if (!(speed > 0)) throw new TelemetryError('CONFIG_INVALID', 'speed must be > 0');
  if (!(loopGapMs > 0)) throw new TelemetryError('CONFIG_INVALID', 'loopGapMs must be > 0');
  const timer = opts.timer ?? systemTimer;
  const first = frames[0]!.t;
  const span = frames[frames.length - 1]!.t - first;

  return {
    kind: 'replay',
    async run(onSamples, signal) {
      const base =
        opts.startAt === undefined ? first : opts.startAt === 'now' ? timer.now() : opts.startAt;
      let shift = base - first;
      let emitted = 0;
      let prevT: number | undefined;
      while (!signal.aborted) {
        for (const f of frames) {
          if (signal.aborted) return;
          if (opts.maxFrames !== undefined && emitted >= opts.maxFrames) return;
          const t = f.t + shift;
          if (prevT !== undefined && Number.isFinite(speed)) {
            await timer.sleep((t - prevT) / speed, signal);
            if (signal.aborted) return;
          }
          prevT = t;
          onSamples(f.samples.map((s) => ({ ...s, t })));
          emitted++;
        }
        if (!opts.loop) return;
        shift += span + loopGapMs;
      }
    },
  };
}
