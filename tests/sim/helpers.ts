/** Small scenarios for the simulator's tests: one lab (plus optional others), a few hours. */
import { checkScenario, type LoadedScenario } from '../../src/sim/scenario.js';

export interface SmallOptions {
  mode?: 'full' | 'fast';
  hours?: number;
  runs?: number;
  seed?: number;
  strategy?: { strategy: string; params?: Record<string, unknown>; labs?: string[] };
  extraLabs?: string[];
  verifier?: Record<string, unknown>;
  log?: Record<string, unknown>;
  lab?: Record<string, unknown>;
  facility?: Record<string, unknown>;
  telemetry?: Record<string, unknown>;
}

function lab(id: string, fac: string, o: SmallOptions) {
  return {
    id,
    ...(o.lab ?? {}),
    facilities: [
      {
        id: fac,
        pue: [1.1, 1.3],
        baselineW: 40000,
        meterSigma: 0.01,
        clusters: [{ id: 'c1', nodes: 2, gpusPerNode: 8, model: 'H100', activity: 'idle' }],
        ...(o.facility ?? {}),
      },
    ],
  };
}

/** A plain scenario object (unchecked), for tests that go through files or setPath. */
export function smallScenarioObject(o: SmallOptions = {}): Record<string, unknown> {
  return {
    name: 'test',
    mode: o.mode ?? 'fast',
    seed: o.seed ?? 7,
    runs: o.runs ?? 4,
    durationHours: o.hours ?? 3,
    reporting: { intervalSeconds: 600, maxDelaySeconds: 1800, latencySeconds: [10, 240] },
    log: { checkpointSeconds: 300, witnesses: 3, quorum: 2, ...(o.log ?? {}) },
    verifier: {
      alpha: 0.01,
      lookEverySeconds: 3600,
      rocAlphas: [0.01, 0.1],
      ...(o.verifier ?? {}),
    },
    ...(o.telemetry ? { telemetry: o.telemetry } : {}),
    labs: [
      lab('lab-x.example', 'x-f1', o),
      ...(o.extraLabs ?? []).map((l, i) => lab(l, `e${i}-f1`, o)),
    ],
    strategies: o.strategy
      ? [
          {
            strategy: o.strategy.strategy,
            labs: o.strategy.labs ?? ['lab-x.example'],
            params: o.strategy.params ?? {},
          },
        ]
      : [],
  };
}

/** The same, checked. */
export function smallScenario(o: SmallOptions = {}): LoadedScenario {
  return checkScenario(smallScenarioObject(o), 'test.yaml');
}
