/**
 * `vpause sim`: the cheating simulator (src/sim). `run` makes a scenario's Monte Carlo runs,
 * `sweep` does so over a grid of parameter values, `schema` prints the scenario JSON Schema.
 * Both runs are resumable: run the same command again after an interruption.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { scenarioJsonSchema } from '../../protocol/src/scenario.js';
import { type Results, simulate } from '../sim/runner.js';
import { parseSweepParam, type SweepParam } from '../sim/scenario.js';
import { CliExit } from './exit.js';

interface RunFlags {
  runs?: string;
  out: string;
  workers?: string;
  seed?: string;
  param?: string[];
}

function int(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new CliExit(2, `--${name} must be an integer ≥ ${min}`);
  return n;
}

function summary(r: Results): string {
  const lines: string[] = [];
  for (const pt of r.points) {
    const params = Object.entries(pt.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (params) lines.push(`[${params}]`);
    const h = pt.metrics.honest;
    const f = (x: number | null) => (x === null ? '–' : x.toFixed(3));
    if (h.labRuns > 0)
      lines.push(
        `  honest: false alarm ${f(h.falseAlarm.p)} [${f(h.falseAlarm.lo)}, ${f(h.falseAlarm.hi)}] over ${h.labRuns} lab-runs (alpha ${h.alpha})`,
      );
    for (const g of pt.metrics.groups) {
      const ttd = g.timeToDetectionHours.median;
      const miss = g.beyondFalseAlarms === false ? ' — undetected (no more than false alarms)' : '';
      lines.push(
        `  ${g.group} (${g.strategy})${miss}: detection ${f(g.detection.p)} [${f(g.detection.lo)}, ${f(g.detection.hi)}]` +
          `${ttd === null ? '' : `, median ${ttd.toFixed(2)} h to detect`}` +
          `, hidden ${(g.hiddenFlop.mean ?? 0).toExponential(2)} FLOP, gained before detection ${(g.gainedBeforeDetectionFlop.mean ?? 0).toExponential(2)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

async function execute(file: string, o: RunFlags, sweep: SweepParam[]): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliExit(2, `cannot read ${file}: ${(e as Error).message}`);
  }
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'sim {bar} {value}/{total} runs · {eta_formatted} left',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let started = false;
  try {
    const runs = int(o.runs, 'runs', 1);
    const seed = int(o.seed, 'seed', 0);
    const workers = int(o.workers, 'workers', 0);
    const outcome = await simulate({
      file: basename(file),
      text,
      out: o.out,
      ...(runs !== undefined ? { runs } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(workers !== undefined ? { workers } : {}),
      sweep,
      signal: ac.signal,
      onProgress: (done, total) => {
        if (bar === undefined) return;
        if (!started) {
          bar.start(total, done);
          started = true;
        } else bar.update(done);
      },
    });
    bar?.stop();
    if (!outcome.complete) {
      throw new CliExit(
        130,
        `interrupted after ${outcome.done}/${outcome.total} runs; run the same command to resume`,
      );
    }
    process.stdout.write(summary(outcome.results!));
    process.stdout.write(`wrote ${o.out}/results.json, results.csv, report.html and plots/\n`);
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerSim(program: Command): void {
  const sim = program
    .command('sim')
    .description('the cheating simulator: Monte Carlo runs of scenarios (docs/researchers.md)');
  const common = (c: Command) =>
    c
      .requiredOption(
        '--out <dir>',
        'output directory (runs.jsonl, results.json, results.csv, report.html, plots/)',
      )
      .option('--runs <n>', "Monte Carlo runs (per sweep point); default: the scenario's")
      .option('--workers <k>', 'worker threads (default: one per core; 0 or 1: this thread)')
      .option('--seed <s>', "seed (default: the scenario's)");
  common(sim.command('run <scenario>').description('run a scenario (resumable)')).action(
    async (file: string, o: RunFlags) => {
      await execute(file, o, []);
    },
  );
  common(
    sim
      .command('sweep <scenario>')
      .description('run a scenario over a grid of parameter values (resumable)')
      .requiredOption(
        '--param <path=from:to:steps>',
        'a scenario value to sweep, e.g. strategies.hidden.params.nodes=1:4:4 (repeat for a grid)',
        (v: string, acc: string[] = []) => [...acc, v],
      ),
  ).action(async (file: string, o: RunFlags) => {
    await execute(file, o, (o.param ?? []).map(parseSweepParam));
  });
  sim
    .command('schema')
    .description('print the JSON Schema of scenario files')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
