import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Verdict } from '../../protocol/src/verdict.js';
import { DEMO_INTERVAL_S, startDemo } from '../demo/demo.js';
import { createLogger } from '../util/logger.js';
import { runUntilSignal } from './serve-util.js';

function describeVerdict(v: Verdict): string {
  const head = `${v.lab} ${v.pause}: ${v.verdict.toUpperCase()}`;
  const s = v.summary;
  const counts = `${s.reports} reports from ${s.nodes} nodes, ${s.meterReadings} meter readings`;
  const codes = [...new Set(v.findings.map((f) => f.code))];
  const bound =
    v.detection?.minHiddenGpuHoursH100 != null
      ? `; catches ≥ ${v.detection.minHiddenGpuHoursH100.toPrecision(2)} hidden H100-hours with p ≥ ${v.detection.probability}`
      : '';
  return `${head} (${counts}${codes.length ? `; findings: ${codes.join(', ')}` : ''}${bound})`;
}

/** `vpause demo`: the whole system on 127.0.0.1, one honest lab and one cheating lab. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a complete local deployment (log, 3 witnesses, 2 labs, meters, verifier)')
    .option(
      '--data <dir>',
      'where the demo keeps its state (a second start resumes)',
      '.vpause/demo',
    )
    .action(async (o: { data: string }) => {
      const data = resolve(o.data);
      const t0 = Date.now();
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const logger = createLogger('vpause-demo', process.env.VPAUSE_LOG ?? 'error');
      say(`vpause demo — state in ${data}`);
      const demo = await startDemo({ data, logger, say });
      say(`  log        ${demo.log.url}   (tlog-tiles API, /checkpoint, /openapi.json)`);
      for (const [i, w] of demo.witnesses.entries()) say(`  witness ${i + 1}  ${w.url}`);
      for (const n of demo.nodes)
        say(`  node       ${n.chain.padEnd(40)} audit API ${n.url ?? '-'}`);
      say(`  meters     ${demo.meters.length} facility meters (fa: lab A, fb: lab B)`);
      say(
        `  verifier   ${demo.verifier.url}   (dashboard ${demo.verifier.url}/ · API /v1/labs · /v1/alerts)`,
      );
      say(
        `Pauses declared (reporting every ${DEMO_INTERVAL_S} s). lab-a.example is honest; lab-b.example hides 64 H100s training at its facility.`,
      );
      say('Verdicts as they form (Ctrl-C to stop):');
      const last = new Map<string, string>();
      const poll = setInterval(() => {
        for (const [lab, pause] of Object.entries(demo.pauses)) {
          let line: string;
          let key: string;
          try {
            const v = demo.verifier.core.verdict(lab, pause);
            line = describeVerdict(v);
            key = `${v.verdict} ${[...new Set(v.findings.map((f) => f.code))].sort().join(',')}`;
          } catch (e) {
            line = `${lab} ${pause}: not evaluable yet (${(e as Error).message})`;
            key = line;
          }
          // Print when the verdict or its finding codes change, and every 30 s as a heartbeat.
          const beat = Math.floor((Date.now() - t0) / 30_000);
          if (last.get(lab) !== `${key}#${beat}`) {
            last.set(lab, `${key}#${beat}`);
            const t = Math.round((Date.now() - t0) / 1000);
            say(`[+${String(t).padStart(3)}s] ${line}`);
          }
        }
      }, 2_000);
      await runUntilSignal(async () => {
        clearInterval(poll);
        say('stopping…');
        await demo.close();
        say(`stopped; state kept in ${data} (npm start resumes from it)`);
      });
    });
}
