/**
 * Access to the real telemetry captures in ../shared/fixtures/telemetry (see that folder's
 * README for sources and licences).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TELEMETRY_DIR = fileURLToPath(
  new URL('../../../shared/fixtures/telemetry/', import.meta.url),
);

export const FILES = {
  derivedCsv: 'DERIVED__query-gpu-subset__h100-h200-idle-load.csv',
  dcpCounters: 'dcgm-exporter__etc__dcp-metrics-included.csv',
  defaultCounters: 'dcgm-exporter__etc__default-counters.csv',
  v100: 'dcgm-exporter__issue250__V100__excerpt.prom',
  a30Mig: 'dcgm-exporter__issue317__A30-MIG-power-energy-tensor__excerpt.prom',
  h100Mig: 'dcgm-exporter__issue512__H100-80GB-HBM3-MIG__excerpt.prom',
  h100Do: 'digitalocean-docs__H100-dcgm-exporter-3.3.8__excerpt.prom',
  h100Capture: 'nvidia-smi-capture__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt',
  h200Capture: 'nvidia-smi-capture__linux-x86_64__nvidia-h200__590.48.01.txt',
} as const;

/** Every data file in the fixtures folder (README excluded). */
export function listFixtureFiles(): string[] {
  return readdirSync(TELEMETRY_DIR)
    .filter((f) => f !== 'README.md')
    .sort();
}

export function fixture(name: string): string {
  return readFileSync(TELEMETRY_DIR + name, 'utf8');
}

/** A Timer whose sleep advances time instantly (no real waiting). */
export function fakeTimer(startMs: number) {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance(ms: number) {
      now += ms;
    },
    now: () => now,
    sleep: async (ms: number, _signal: AbortSignal) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}
