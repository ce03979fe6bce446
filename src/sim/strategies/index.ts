/**
 * The strategy plug-ins, by name. To add one: write a file exporting a Strategy (see ./types.ts
 * and docs/researchers.md) and list it here.
 */
import betweenSamples from './between-samples.js';
import droppedReports from './dropped-reports.js';
import forkedLog from './forked-log.js';
import hiddenCluster from './hidden-cluster.js';
import honest from './honest.js';
import lateReports from './late-reports.js';
import meterTamper from './meter-tamper.js';
import splitTraining from './split-training.js';
import stolenKey from './stolen-key.js';
import trainingAsInference from './training-as-inference.js';
import type { Strategy } from './types.js';
import underReport from './under-report.js';

export type { Strategy, StrategyContext } from './types.js';

/** Every strategy, by name. */
export const STRATEGIES: ReadonlyMap<string, Strategy<unknown>> = new Map(
  (
    [
      honest,
      hiddenCluster,
      underReport,
      droppedReports,
      lateReports,
      forkedLog,
      stolenKey,
      splitTraining,
      trainingAsInference,
      meterTamper,
      betweenSamples,
    ] as Strategy<unknown>[]
  ).map((s) => [s.name, s]),
);
