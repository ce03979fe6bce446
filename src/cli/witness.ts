/** `vpause witness serve`: a C2SP tlog-witness for the logs given with --log. */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { startWitness } from '../witness/server.js';
import { CliExit } from './exit.js';
import { parseListen, runUntilSignal } from './serve-util.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A --log value: a vkey, or the path of a .vkey file. */
async function readLogKey(value: string): Promise<string> {
  if (!value.includes('+') && existsSync(value)) return (await readFile(value, 'utf8')).trim();
  return value.trim();
}

export function registerWitness(program: Command): void {
  const witness = program.command('witness').description('a transparency-log witness');
  witness
    .command('serve')
    .description('run a C2SP tlog-witness: cosign checkpoints consistent with all it has seen')
    .requiredOption('--data <dir>', 'data directory (witness.db: the latest cosigned checkpoints)')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:8090')
    .requiredOption('--key <file>', "the witness's private key (vpause keygen --type cosignature)")
    .option(
      '--log <vkey>',
      'a trusted log key (vkey or .vkey file); repeat for several',
      collect,
      [],
    )
    .action(async (o: { data: string; listen: string; key: string; log: string[] }) => {
      if (o.log.length === 0) throw new CliExit(2, 'give at least one --log <vkey>');
      const { host, port } = parseListen(o.listen);
      await mkdir(o.data, { recursive: true });
      const running = await startWitness({
        data: o.data,
        host,
        port,
        key: o.key,
        logs: await Promise.all(o.log.map(readLogKey)),
      });
      process.stdout.write(`witness listening on ${running.url} (${running.vkey})\n`);
      await runUntilSignal(running.close);
    });
}
