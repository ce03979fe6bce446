/** Builds the telemetry collector a node.yaml names (nodes/collectors does the work). */
import { readFile } from 'node:fs/promises';
import {
  type Collector,
  createDcgmCollector,
  createNvidiaSmiCollector,
  createReplayCollector,
  createSyntheticCollector,
  framesFromCapture,
  framesFromNvidiaSmiCsv,
  framesFromPrometheus,
  type ReplayFrame,
  type TelemetryError,
  type Timer,
} from '../collectors/index.js';
import type { CollectorConfig } from './config.js';
import { DaemonError } from './errors.js';

export interface CollectorDeps {
  timer: Timer;
  onError: (e: TelemetryError) => void;
}

async function readFrames(c: Extract<CollectorConfig, { kind: 'replay' }>): Promise<ReplayFrame[]> {
  const files = Array.isArray(c.file) ? c.file : [c.file];
  let texts: string[];
  try {
    texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `cannot read replay file: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const host = c.host !== undefined ? { host: c.host } : {};
  switch (c.format) {
    case 'prometheus':
      return framesFromPrometheus(texts, { startMs: 0, stepMs: c.stepMs, ...host });
    case 'nvidia-smi-capture':
      return texts.flatMap((t) =>
        framesFromCapture(t, { ...host, ...(c.phases !== undefined ? { phases: c.phases } : {}) }),
      );
    case 'nvidia-smi-csv':
      return texts.flatMap((t) => framesFromNvidiaSmiCsv(t, host));
  }
}

/**
 * Creates the collector of a node configuration. Replay plays its frames as if live: the first
 * frame is stamped with the clock's time when the collector starts, later frames keep their
 * spacing, and with `loop` (the default) the capture repeats.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID for unreadable replay files
 * @throws {TelemetryError} CONFIG_INVALID and parser errors from the collectors
 */
export async function createCollectorFromConfig(
  c: CollectorConfig,
  deps: CollectorDeps,
): Promise<Collector> {
  const { timer, onError } = deps;
  switch (c.kind) {
    case 'nvidia-smi':
      return createNvidiaSmiCollector({
        binary: c.binary,
        mode: c.mode,
        periodMs: c.periodMs,
        utcOffsetMinutes: c.utcOffsetMinutes,
        ...(c.fields !== undefined ? { fields: c.fields } : {}),
        ...(c.host !== undefined ? { host: c.host } : {}),
        timer,
        onError,
      });
    case 'dcgm':
      return createDcgmCollector({
        url: c.url,
        allowRemote: c.allowRemote,
        periodMs: c.periodMs,
        timeoutMs: c.timeoutMs,
        ...(c.host !== undefined ? { host: c.host } : {}),
        timer,
        onError,
      });
    case 'replay': {
      const frames = await readFrames(c);
      if (frames.length === 0) {
        throw new DaemonError('DAEMON_CONFIG_INVALID', 'the replay files hold no telemetry frames');
      }
      return createReplayCollector({
        frames,
        loop: c.loop,
        loopGapMs: c.loopGapMs,
        startAt: 'now',
        speed: 1,
        timer,
      });
    }
    case 'synthetic':
      return createSyntheticCollector({
        seed: c.seed,
        workload: c.workload,
        model: c.model,
        gpus: c.gpus,
        periodMs: c.periodMs,
        burstMeanMs: c.burstMeanMs,
        energyCounter: c.energyCounter,
        ...(c.host !== undefined ? { host: c.host } : {}),
        timer,
      });
  }
}
