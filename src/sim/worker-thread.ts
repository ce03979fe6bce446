/**
 * One thread of the simulator's pool: it validates the scenario points it is given once, then
 * runs the (point, run) pairs it is sent, one at a time, answering each with the run's result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runOnce } from './engine.js';
import { checkScenario } from './scenario.js';

const data = workerData as { points: { file: string; raw: unknown }[] };
const points = data.points.map((p) => checkScenario(p.raw, p.file));
const port = parentPort!;

port.on('message', async (m: { point: number; run: number }) => {
  try {
    const result = await runOnce(points[m.point]!, m.point, m.run);
    port.postMessage({ point: m.point, run: m.run, result });
  } catch (e) {
    port.postMessage({ point: m.point, run: m.run, error: (e as Error).stack ?? String(e) });
  }
});
