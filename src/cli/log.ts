import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { exportTiles } from '../log/export.js';
import { startLog } from '../log/server.js';
import { openStorage } from '../log/storage/index.js';
import { CliExit } from './exit.js';
import { parseListen, runUntilSignal } from './serve-util.js';

export function registerLog(program: Command): void {
  const log = program.command('log').description('the shared Merkle log');
  log
    .command('serve')
    .description('run the log: admission, durable sequencing, checkpoints, tlog-tiles API')
    .requiredOption('--data <dir>', 'data directory (SQLite database, the embedded default)')
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:8080')
    .requiredOption('--key <file>', "the log's private key (vpause keygen --type note)")
    .requiredOption('--admit <file>', 'ADMIT.txt: lab root keys and meter keys (SIGHUP reloads)')
    .option('--origin <origin>', "checkpoint origin (default: the log key's name)")
    .option('--db <url>', 'PostgreSQL connection string (several log processes may share it)')
    .option('--db-schema <name>', 'PostgreSQL schema', 'vpause')
    .option('--witness-policy <file>', 'tlog-policy: serve only checkpoints cosigned to its quorum')
    .option(
      '--threads <n>',
      'worker threads that parse and verify submissions (0: none; default: one per core)',
    )
    .option(
      '--sqlite-thread',
      'run the SQLite connection on its own thread, so commits do not stall the event loop',
      false,
    )
    .action(
      async (o: {
        data: string;
        listen: string;
        key: string;
        admit: string;
        origin?: string;
        db?: string;
        dbSchema: string;
        witnessPolicy?: string;
        threads?: string;
        sqliteThread: boolean;
      }) => {
        const { host, port } = parseListen(o.listen);
        let threads: number | undefined;
        if (o.threads !== undefined) {
          threads = Number(o.threads);
          if (!/^[0-9]{1,3}$/.test(o.threads)) {
            throw new CliExit(2, `--threads must be a whole number, not ${o.threads}`);
          }
        }
        await mkdir(o.data, { recursive: true });
        const running = await startLog({
          data: o.data,
          host,
          port,
          key: o.key,
          admitFile: o.admit,
          ...(o.origin !== undefined ? { origin: o.origin } : {}),
          ...(o.db !== undefined ? { db: o.db, dbSchema: o.dbSchema } : {}),
          ...(o.witnessPolicy !== undefined ? { witnessPolicy: o.witnessPolicy } : {}),
          ...(threads !== undefined ? { threads } : {}),
          ...(o.sqliteThread ? { sqliteThread: true } : {}),
        });
        process.stdout.write(
          `log listening on ${running.url} (origin ${running.service.origin})\n`,
        );
        await runUntilSignal(running.close, running.reloadAdmit);
      },
    );
  log
    .command('export-tiles')
    .description('write checkpoint, tiles and entry bundles as static files (tlog-tiles layout)')
    .requiredOption('--data <dir>', 'data directory of the log')
    .requiredOption('--out <dir>', 'directory to write into')
    .option('--db <url>', 'PostgreSQL connection string instead of the data directory')
    .option('--db-schema <name>', 'PostgreSQL schema', 'vpause')
    .action(async (o: { data: string; out: string; db?: string; dbSchema: string }) => {
      const storage = await openStorage(
        o.db !== undefined ? { db: o.db, schema: o.dbSchema } : { data: o.data },
      );
      try {
        const r = await exportTiles(storage, async (path, data) => {
          const p = join(o.out, path);
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, data);
        });
        if (r.size === 0 && r.files === 0) throw new CliExit(1, 'the log has no checkpoint yet');
        process.stdout.write(`exported tree size ${r.size}: ${r.files} files in ${o.out}\n`);
      } finally {
        await storage.close();
      }
    });
}
