/**
 * nvidia-smi collector: runs `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` every
 * period (or once in `-lms` streaming mode) through an injected `exec`/`spawnLines`, parses
 * the CSV strictly and hands samples on. nvidia-smi has no energy field: energy is integrated
 * from `power.draw` by the report (trapezoid), which records that method.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { asTelemetryError, TelemetryError } from './errors.js';
import { nvidiaSmiRowToSample, parseNvidiaSmiCsv } from './nvidia-smi-csv.js';
import { type Collector, type GpuSample, pollEvery, systemTimer, type Timer } from './sample.js';

/** Fields the node cannot work without (all drivers since 2015 have them). */
export const NVIDIA_SMI_REQUIRED_FIELDS = [
  'timestamp',
  'uuid',
  'name',
  'power.draw',
  'utilization.gpu',
  'memory.used',
] as const;

/** Fields queried when the driver lists them in `--help-query-gpu`. */
export const NVIDIA_SMI_OPTIONAL_FIELDS = ['power.draw.instant', 'clocks.sm'] as const;

/**
 * Lists every field name (aliases included) that `nvidia-smi --help-query-gpu` documents.
 * The help prints each field as a line `"power.draw.instant" or "gpu.power.draw.instant"`.
 */
export function parseHelpQueryGpu(helpText: string): Set<string> {
  const out = new Set<string>();
  for (const line of helpText.split(/\r?\n/)) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([A-Za-z0-9_.]+)"/g)) out.add(m[1]!);
  }
  return out;
}

/**
 * The query field list: the required fields, plus each optional field the driver supports.
 * Without `supported` (no probe) only the required fields are used, since nvidia-smi refuses the
 * whole query when one field is unknown to it.
 * @throws {TelemetryError} `CONFIG_INVALID` when `supported` lacks a required field
 */
export function selectQueryFields(supported?: ReadonlySet<string>): string[] {
  const fields: string[] = [...NVIDIA_SMI_REQUIRED_FIELDS];
  if (supported) {
    for (const f of NVIDIA_SMI_REQUIRED_FIELDS) {
      if (!supported.has(f)) {
        throw new TelemetryError('CONFIG_INVALID', `nvidia-smi does not support field ${f}`);
      }
    }
    for (const f of NVIDIA_SMI_OPTIONAL_FIELDS) if (supported.has(f)) fields.push(f);
  }
  return fields;
}

/** A command line, without a shell. */
export interface Command {
  file: string;
  args: string[];
}

/**
 * Builds the nvidia-smi invocation. With `loopMs` nvidia-smi keeps running and prints one block
 * every `loopMs` milliseconds (`-lms`).
 * @throws {TelemetryError} `CONFIG_INVALID` for an empty or malformed field list or a bad loop period
 */
export function buildNvidiaSmiCommand(
  fields: readonly string[],
  opts: { binary?: string; loopMs?: number } = {},
): Command {
  if (fields.length === 0 || fields.some((f) => !/^[A-Za-z0-9_.]+$/.test(f))) {
    throw new TelemetryError('CONFIG_INVALID', 'query fields must be non-empty field names');
  }
  const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
  if (opts.loopMs !== undefined) {
    if (!Number.isInteger(opts.loopMs) || opts.loopMs < 1) {
      throw new TelemetryError('CONFIG_INVALID', 'loopMs must be a positive integer');
    }
    args.push(`--loop-ms=${opts.loopMs}`);
  }
  return { file: opts.binary ?? 'nvidia-smi', args };
}

/** Runs a command to completion and returns its stdout. Rejects on non-zero exit. */
export type Exec = (file: string, args: readonly string[], signal: AbortSignal) => Promise<string>;

/** Runs a long-lived command and yields its stdout line by line until it exits or `signal` aborts. */
export type SpawnLines = (
  file: string,
  args: readonly string[],
  signal: AbortSignal,
) => AsyncIterable<string>;

/** Environment for nvidia-smi: `TZ=UTC` so its timestamps are UTC. */
function utcEnv(): NodeJS.ProcessEnv {
  return { ...process.env, TZ: 'UTC' };
}

/** `execFile` with `TZ=UTC`, a 10 s timeout and a 4 MiB output cap. */
export const defaultExec: Exec = (file, args, signal) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env: utcEnv(), signal, timeout: 10_000, maxBuffer: 4 << 20, encoding: 'utf8' },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });

/** `spawn` with `TZ=UTC`, killed when `signal` aborts. */
export const defaultSpawnLines: SpawnLines = (file, args, signal) => ({
  async *[Symbol.asyncIterator]() {
    const child = spawn(file, [...args], {
      env: utcEnv(),
      signal,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.on('error', () => {});
    const rl = createInterface({ input: child.stdout });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
      if (child.exitCode === null) child.kill();
    }
  },
});

/** Options of {@link createNvidiaSmiCollector}. */
export interface NvidiaSmiCollectorOptions {
  /** Path of the binary (default `nvidia-smi`). */
  binary?: string;
  /** Fields to query; default: probe `--help-query-gpu` once and {@link selectQueryFields}. */
  fields?: readonly string[];
  /**
   * `poll` runs nvidia-smi every `periodMs`; `stream` keeps one nvidia-smi running with
   * `--loop-ms=periodMs` (restarted, with the failure reported, whenever it exits).
   */
  mode?: 'poll' | 'stream';
  /** Sampling period in ms (default 1000). */
  periodMs?: number;
  /** Host name stamped on samples. */
  host?: string;
  /** Zone of nvidia-smi's timestamps, minutes east of UTC (default 0: the default exec sets TZ=UTC). */
  utcOffsetMinutes?: number;
  exec?: Exec;
  spawnLines?: SpawnLines;
  timer?: Timer;
  /** Receives failures of single polls and unparsable lines; the collector keeps running. */
  onError?: (e: TelemetryError) => void;
}

/**
 * Creates the nvidia-smi collector. In poll mode each poll's rows form one batch; in stream mode
 * consecutive lines with the same timestamp form one batch (delivered when the next timestamp
 * arrives or the stream ends).
 * @throws {TelemetryError} `CONFIG_INVALID` for a bad period or field list
 */
export function createNvidiaSmiCollector(opts: NvidiaSmiCollectorOptions = {}): Collector {
  const periodMs = opts.periodMs ?? 1000;
  if (!Number.isInteger(periodMs) || periodMs < 1) {
    throw new TelemetryError('CONFIG_INVALID', 'periodMs must be a positive integer');
  }
  if (opts.fields) buildNvidiaSmiCommand(opts.fields);
  const exec = opts.exec ?? defaultExec;
  const spawnLines = opts.spawnLines ?? defaultSpawnLines;
  const timer = opts.timer ?? systemTimer;
  const binary = opts.binary ?? 'nvidia-smi';
  const onError = opts.onError ?? (() => {});
  const rowOpts = {
    utcOffsetMinutes: opts.utcOffsetMinutes ?? 0,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  };

  async function resolveFields(signal: AbortSignal): Promise<string[]> {
    if (opts.fields) return [...opts.fields];
    let help: string;
    try {
      help = await exec(binary, ['--help-query-gpu'], signal);
    } catch (e) {
      throw asTelemetryError(e, 'TELEMETRY_SOURCE_FAILED', 'nvidia-smi --help-query-gpu');
    }
    return selectQueryFields(parseHelpQueryGpu(help));
  }

  function toSamples(text: string, fields: readonly string[], now: number): GpuSample[] {
    const table = parseNvidiaSmiCsv(text, { fields });
    return table.rows.map((r) => nvidiaSmiRowToSample(r, { ...rowOpts, fallbackTime: now }));
  }

  return {
    kind: 'nvidia-smi',
    async run(onSamples, signal) {
      const fields = await resolveFields(signal);
      if (opts.mode === 'stream') {
        const cmd = buildNvidiaSmiCommand(fields, { binary, loopMs: periodMs });
        let batch: GpuSample[] = [];
        const flush = () => {
          if (batch.length > 0) onSamples(batch);
          batch = [];
        };
        // nvidia-smi in loop mode only exits on failure: report it and start it again.
        while (!signal.aborted) {
          let failure: unknown;
          try {
            for await (const line of spawnLines(cmd.file, cmd.args, signal)) {
              if (signal.aborted) break;
              if (line.trim() === '') continue;
              let s: GpuSample[];
              try {
                s = toSamples(line, fields, timer.now());
              } catch (e) {
                onError(asTelemetryError(e, 'TELEMETRY_MALFORMED', 'nvidia-smi line'));
                continue;
              }
              for (const x of s) {
                if (batch.length > 0 && batch[0]!.t !== x.t) flush();
                batch.push(x);
              }
            }
          } catch (e) {
            failure = e;
          }
          flush();
          if (signal.aborted) break;
          onError(
            asTelemetryError(
              failure ?? new Error('exited'),
              'TELEMETRY_SOURCE_FAILED',
              'nvidia-smi --loop-ms',
            ),
          );
          await timer.sleep(Math.max(periodMs, 1000), signal);
        }
        return;
      }
      const cmd = buildNvidiaSmiCommand(fields, { binary });
      await pollEvery(
        periodMs,
        timer,
        signal,
        async () => {
          const now = timer.now();
          let out: string;
          try {
            out = await exec(cmd.file, cmd.args, signal);
          } catch (e) {
            throw asTelemetryError(e, 'TELEMETRY_SOURCE_FAILED', 'nvidia-smi');
          }
          if (signal.aborted) return;
          const samples = toSamples(out, fields, now);
          if (samples.length > 0) onSamples(samples);
        },
        (e) => onError(asTelemetryError(e, 'TELEMETRY_MALFORMED', 'nvidia-smi output')),
      );
    },
  };
}
