/**
 * `vpause monitor`: follows a log through its tiles and the witnesses' views, and writes fork
 * evidence on any inconsistency (exit status 3). `vpause monitor check-evidence` re-checks such
 * a file offline against a policy (exit status 0 when it proves a fork, 1 when it does not).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkForkEvidence } from '../monitor/evidence.js';
import { Monitor, type MonitorReport } from '../monitor/monitor.js';
import { parseTlogPolicy, type TlogPolicy } from '../policy/tlog-policy.js';
import { CliExit } from './exit.js';

/** Exit status when fork evidence was written. */
export const EXIT_FORK = 3;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function loadPolicy(path: string | undefined): Promise<TlogPolicy> {
  if (path === undefined) throw new CliExit(2, '--policy <file> is required');
  return parseTlogPolicy(await readFile(path, 'utf8'), { file: path });
}

function summary(r: MonitorReport): string {
  const w = r.witnesses.map(
    (v) => `${v.url} ${v.status}${v.size !== undefined ? ` @${v.size}` : ''}`,
  );
  return (
    `${r.status === 'fork' ? 'FORK' : 'ok'}: ${r.origin} size ${r.size} root ${r.rootHash}, ` +
    `quorum ${r.quorum ? 'met' : 'NOT met'} (${r.cosignedBy.join(', ') || 'no cosignatures'})` +
    (r.previous ? `, previous ${r.previous.size} ${r.previous.status}` : '') +
    (w.length > 0 ? `; witnesses: ${w.join('; ')}` : '')
  );
}

function print(r: MonitorReport): void {
  process.stdout.write(`${summary(r)}\n`);
  for (const w of r.warnings) process.stderr.write(`vpause monitor: warning: ${w}\n`);
  if (r.status === 'fork') {
    process.stdout.write(`fork evidence written to ${r.evidencePath}: ${r.evidence?.reason}\n`);
  }
}

export function registerMonitor(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('follow a log and its witnesses; write fork evidence on any inconsistency')
    .option('--policy <file>', 'C2SP tlog-policy: the log key, witness keys (and URLs), quorum')
    .option('--log <url>', "the log's tlog-tiles URL prefix")
    .option(
      '--witness <url>',
      'a witness monitoring prefix; repeat (default: policy URLs)',
      collect,
      [],
    )
    .option('--state <file>', 'state file: the last checkpoint seen, kept across runs')
    .option('--evidence <dir>', 'directory for fork-evidence files', '.')
    .option('--once', 'check once and exit', false)
    .option('--interval <seconds>', 'seconds between checks', '10')
    .action(
      async (o: {
        policy?: string;
        log?: string;
        witness: string[];
        state?: string;
        evidence: string;
        once: boolean;
        interval: string;
      }) => {
        const policy = await loadPolicy(o.policy);
        if (o.log === undefined) throw new CliExit(2, '--log <url> is required');
        const interval = Number(o.interval);
        if (!(interval > 0)) throw new CliExit(2, '--interval must be a positive number');
        const m = new Monitor({
          policy,
          logUrl: o.log,
          ...(o.witness.length > 0 ? { witnessUrls: o.witness } : {}),
          ...(o.state !== undefined ? { statePath: o.state } : {}),
          evidenceDir: o.evidence,
        });
        if (o.once) {
          const r = await m.checkOnce();
          print(r);
          if (r.status === 'fork') throw new CliExit(EXIT_FORK, '');
          return;
        }
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const r = await m.run(interval * 1000, ac.signal, print);
          if (r?.status === 'fork') throw new CliExit(EXIT_FORK, '');
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      },
    );
  monitor
    .command('check-evidence <file>')
    .description('re-check a fork-evidence file offline against a policy (exit 0: fork proven)')
    .option('--policy <file>', 'C2SP tlog-policy naming the log key')
    .action(async (file: string, o: { policy?: string }) => {
      const policy = await loadPolicy(o.policy ?? (monitor.opts() as { policy?: string }).policy);
      let doc: unknown;
      try {
        doc = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw new CliExit(1, `cannot read ${file}: ${(e as Error).message}`);
      }
      const v = checkForkEvidence(doc, policy);
      if (!v.confirmed) throw new CliExit(1, `not confirmed (${v.code}): ${v.reason}`);
      process.stdout.write(`confirmed: ${v.reason} (signed by ${v.logKey})\n`);
    });
}
