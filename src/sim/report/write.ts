/** Writes the outputs of a finished simulation: results.csv, plots/*.svg and report.html. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Results } from '../runner.js';
import { resultsCsv } from './csv.js';
import { reportHtml } from './html.js';
import { plots } from './plots.js';

/**
 * Writes the report files of `r` into `dir` (results.json is the runner's).
 * @throws {Error} for file-system failures
 */
export async function writeReport(dir: string, r: Results, scenarioText: string): Promise<void> {
  writeFileSync(join(dir, 'results.csv'), resultsCsv(r));
  const svgs = plots(r);
  mkdirSync(join(dir, 'plots'), { recursive: true });
  for (const [name, svg] of svgs) writeFileSync(join(dir, 'plots', name), svg);
  writeFileSync(join(dir, 'report.html'), reportHtml(r, svgs, scenarioText));
}
