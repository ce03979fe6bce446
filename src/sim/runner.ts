/**
 * Seeded, reproducible, resumable Monte Carlo: `vpause sim run` and `vpause sim sweep`.
 *
 * The runs of a scenario (and of each sweep point) are independent tasks identified by (point,
 * run); a run's result depends only on the scenario, the seed and that pair (./random.ts), never
 * on which worker thread ran it or when. Each finished run is appended at once as one line of
 * DIR/runs.jsonl; a restart reads the file, skips the runs it holds (a torn last line is ignored)
 * and runs the rest. DIR/manifest.json ties the directory to one scenario, seed and sweep, so runs
 * of another scenario are never mixed in. When every run is done, the results (sorted by point
 * and run, so worker order cannot show) are written: results.json (sorted keys, no timestamps:
 * byte-identical for the same scenario and seed), results.csv, plots and report.html.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type RunResult, runOnce } from './engine.js';
import { SimError } from './errors.js';
import { stableJson, stableLine } from './json.js';
import { type PointMetrics, pointMetrics } from './metrics.js';
import { writeReport } from './report/write.js';
import {
  checkScenario,
  type LoadedScenario,
  readScenarioObject,
  type SweepParam,
  scenarioHash,
  setPath,
  sweepPoints,
} from './scenario.js';

export const RESULTS_TYPE = 'vpause-sim-results/v1';
const MANIFEST_TYPE = 'vpause-sim-manifest/v1';

/** The results document (results.json). */
export interface Results {
  type: typeof RESULTS_TYPE;
  scenario: {
    name: string;
    description: string | null;
    hash: string;
    seed: number;
    runs: number;
    mode: 'full' | 'fast';
    durationHours: number;
    alpha: number;
  };
  sweep: SweepParam[];
  points: { params: Record<string, number>; metrics: PointMetrics }[];
  /** the formulas behind the metrics, stated */
  formulas: Record<string, string>;
  assumptions: string[];
}

export interface SimulateOptions {
  /** scenario file name (for messages) and its text */
  file: string;
  text: string;
  out: string;
  /** override the scenario's `runs` and `seed` */
  runs?: number;
  seed?: number;
  /** worker threads (default: the available parallelism); 0 or 1 runs in this thread */
  workers?: number;
  sweep?: SweepParam[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface SimulateOutcome {
  complete: boolean;
  done: number;
  total: number;
  results?: Results;
  dir: string;
}

/** Formulas stated in every results file and report. */
export const FORMULAS: Record<string, string> = {
  detection:
    'share of runs whose final verdict (asOf = run end + maximum delay) has a violation finding against a lab of the strategy (or against the log, for strategies acting on the log); 95 % Wilson score interval',
  falseAlarm: 'the same share over honest labs (one trial per honest lab and run)',
  detectionAnyLook:
    'share of runs with such a finding at any of the verifier’s periodic evaluations',
  timeToDetection:
    'first evaluation with a violation minus the start of the first interval the strategy touched, hours',
  gainedBeforeDetection:
    'hidden FLOP of the intervals before that evaluation (pro rata for the interval it falls in); all hidden FLOP when never detected',
  hiddenFlop:
    "per touched interval: true FLOP minus the FLOP of the report in the verifier's view ('hidden'), or all of the interval's FLOP for forbidden work that is reported ('all'); undeclared hardware counts in full",
  deterrence:
    'cheating does not pay iff (1 − p)·G + p·(G_d − P) ≤ −f·C, i.e. p ≥ p* = (G + f·C)/(G − G_d + P), with G = gainPerFlop × mean hidden FLOP, G_d = gainPerFlop × mean FLOP gained before detection (detected runs), P the penalty, C the cost of a false accusation and f the honest false-alarm rate; deterred when the Wilson lower bound of p is at least p*',
  roc: 'at the final evaluation, each policy alpha of verifier.rocAlphas: detection against the honest false-alarm rate',
};

/** Assumptions of the simulator itself, stated in every report. */
export const MODEL_ASSUMPTIONS = [
  'GPU power: idle and full-load draw of each model from the project’s measured profiles (nodes/collectors/synthetic.ts); activity shapes of the synthetic collector',
  'FLOP: peak dense tensor throughput × tensor-active seconds (nodes/report/flop.ts), the node report’s own estimate',
  'facility energy = true PUE × GPU energy of every GPU at the facility (declared or not) + baseline; each meter feed reads its share with an independent normal relative error of meter-sigma',
  'an honest node submits each report within the scenario’s latency range; the log integrates every checkpointSeconds; witnesses cosign at once with the simulated time',
  'the verifier follows every checkpoint (unless syncEverySeconds says otherwise) and evaluates every lookEverySeconds and once when every report is due',
  'audits (disclosure of bodies and samples on a signed challenge) are not simulated: strategies only an audit would catch are reported as undetected',
];

function manifestOf(l: LoadedScenario, sweep: readonly SweepParam[]): Record<string, unknown> {
  return { type: MANIFEST_TYPE, scenario: scenarioHash(l.scenario), seed: l.scenario.seed, sweep };
}

/** (point, run) → result lines of DIR/runs.jsonl (a torn or foreign line is skipped). */
function readRuns(path: string): Map<string, RunResult> {
  const out = new Map<string, RunResult>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let r: RunResult;
    try {
      r = JSON.parse(line) as RunResult;
    } catch {
      continue;
    }
    if (!Number.isInteger(r?.point) || !Number.isInteger(r?.run) || !Array.isArray(r?.labs))
      continue;
    const k = `${r.point}/${r.run}`;
    if (!out.has(k)) out.set(k, r);
  }
  return out;
}

/** Results of the runs of every point. */
export function buildResults(
  points: readonly LoadedScenario[],
  sweep: readonly SweepParam[],
  runs: Map<string, RunResult>,
): Results {
  const base = points[0]!.scenario;
  const values = sweepPoints(sweep);
  const notes = new Set<string>();
  const out = points.map((l, p) => {
    const rs: RunResult[] = [];
    for (let i = 0; i < l.scenario.runs; i++) {
      const r = runs.get(`${p}/${i}`);
      if (r !== undefined) rs.push(r);
      for (const n of r?.notes ?? []) notes.add(n);
    }
    const params: Record<string, number> = {};
    sweep.forEach((s, i) => {
      params[s.path] = values[p]![i]!;
    });
    return { params, metrics: pointMetrics(l.scenario, l.groups, rs) };
  });
  return {
    type: RESULTS_TYPE,
    scenario: {
      name: base.name,
      description: base.description ?? null,
      hash: scenarioHash(base),
      seed: base.seed,
      runs: base.runs,
      mode: base.mode,
      durationHours: base.durationHours,
      alpha: base.verifier.alpha,
    },
    sweep: [...sweep],
    points: out,
    formulas: FORMULAS,
    assumptions: [...MODEL_ASSUMPTIONS, ...base.assumptions, ...[...notes].sort()],
  };
}

/**
 * Runs (or resumes) a scenario's Monte Carlo runs, over a sweep when given, and writes the
 * results once every run is done.
 * @throws {SimError} SCENARIO_*, SWEEP_INVALID, OUT_MISMATCH (the directory holds other runs),
 *   RUN_FAILED (a run threw; its message names the run)
 */
export async function simulate(o: SimulateOptions): Promise<SimulateOutcome> {
  let raw = readScenarioObject(o.text, o.file);
  if (o.seed !== undefined) raw = setPath(raw, 'seed', o.seed);
  if (o.runs !== undefined) raw = setPath(raw, 'runs', o.runs);
  const base = checkScenario(raw, o.file);
  const sweep = o.sweep ?? [];
  const raws =
    sweep.length === 0
      ? [raw]
      : sweepPoints(sweep).map((vals) =>
          vals.reduce((acc, v, i) => setPath(acc, sweep[i]!.path, v), raw),
        );
  const points = raws.map((r) => checkScenario(r, o.file));
  const runs = base.scenario.runs;

  mkdirSync(o.out, { recursive: true });
  const manifestPath = join(o.out, 'manifest.json');
  const manifest = stableJson(manifestOf(base, sweep));
  if (existsSync(manifestPath)) {
    if (readFileSync(manifestPath, 'utf8') !== manifest) {
      throw new SimError(
        'OUT_MISMATCH',
        `${o.out} holds runs of another scenario, seed or sweep (see its manifest.json); use another --out`,
      );
    }
  } else {
    writeFileSync(manifestPath, manifest);
  }
  const runsPath = join(o.out, 'runs.jsonl');
  const done = readRuns(runsPath);
  if (existsSync(runsPath)) {
    const text = readFileSync(runsPath, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) appendFileSync(runsPath, '\n');
  }
  const tasks: { point: number; run: number }[] = [];
  points.forEach((_, p) => {
    for (let r = 0; r < runs; r++) if (!done.has(`${p}/${r}`)) tasks.push({ point: p, run: r });
  });
  const total = points.length * runs;
  let count = total - tasks.length;
  o.onProgress?.(count, total);
  const record = (res: RunResult) => {
    appendFileSync(runsPath, `${stableLine(res)}\n`);
    done.set(`${res.point}/${res.run}`, res);
    count++;
    o.onProgress?.(count, total);
  };

  const workers = Math.max(0, Math.min(o.workers ?? availableParallelism(), tasks.length));
  if (workers <= 1) {
    for (const t of tasks) {
      // A fast-mode run never waits on I/O: yield, so that signals (an interruption) get through.
      await new Promise((r) => setImmediate(r));
      if (o.signal?.aborted) break;
      let res: RunResult;
      try {
        res = await runOnce(points[t.point]!, t.point, t.run);
      } catch (e) {
        throw new SimError(
          'RUN_FAILED',
          `run ${t.run} of point ${t.point}: ${(e as Error).message}`,
          { cause: e },
        );
      }
      record(res);
    }
  } else {
    await runPool(
      workers,
      raws.map((r) => ({ file: o.file, raw: r })),
      tasks,
      record,
      o.signal,
    );
  }
  if (count < total) return { complete: false, done: count, total, dir: o.out };
  const results = buildResults(points, sweep, done);
  writeFileSync(join(o.out, 'results.json'), stableJson(results));
  await writeReport(o.out, results, o.text);
  return { complete: true, done: count, total, results, dir: o.out };
}

/** Runs tasks on `n` worker threads, one task per worker at a time. */
function runPool(
  n: number,
  points: { file: string; raw: unknown }[],
  tasks: { point: number; run: number }[],
  record: (r: RunResult) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let live = n;
    let failed = false;
    const pool: Worker[] = [];
    const stopAll = () => {
      for (const w of pool) void w.terminate();
    };
    const finish = (w: Worker) => {
      live--;
      void w.terminate();
      if (live === 0 && !failed) resolve();
    };
    const onAbort = () => {
      next = tasks.length;
      stopAll();
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (w: Worker) => {
      if (failed || signal?.aborted || next >= tasks.length) return finish(w);
      w.postMessage(tasks[next++]);
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { points } });
      pool.push(w);
      w.on('message', (m: { point: number; run: number; result?: RunResult; error?: string }) => {
        if (failed || signal?.aborted) return;
        if (m.error !== undefined) {
          failed = true;
          stopAll();
          signal?.removeEventListener('abort', onAbort);
          reject(
            new SimError(
              'RUN_FAILED',
              `run ${m.run} of point ${m.point}: ${m.error.split('\n')[0]}`,
            ),
          );
          return;
        }
        record(m.result!);
        feed(w);
      });
      w.on('error', (e) => {
        if (failed) return;
        failed = true;
        stopAll();
        reject(new SimError('RUN_FAILED', `worker failed: ${e.message}`, { cause: e }));
      });
      feed(w);
    }
  });
}
