/**
 * `vpause verifier serve`: the verifier service (src/verifier/service.ts), following the log
 * and answering verdict questions over HTTP until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { createLogger } from '../util/logger.js';
import { startVerifier } from '../verifier/service.js';
import { policyLogUrl } from '../verifier/verify.js';
import { CliExit } from './exit.js';
import { parseListen, runUntilSignal } from './serve-util.js';
import { defaultCacheDir, loadPolicy, readSigner } from './verify.js';

export function registerVerifier(program: Command): void {
  const verifier = program.command('verifier').description('the verifier service');
  verifier
    .command('serve')
    .description('follow the log and serve verdicts, alerts, /openapi.json and /metrics')
    .option('--policy <file>', 'trust policy')
    .option('--log <url>', "the log's tlog-tiles URL (default: the policy's log URL)")
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8090')
    .option('--cache <dir>', 'cache directory (default ~/.cache/vpause)')
    .option('--interval <seconds>', 'seconds between polls of the log', '5')
    .action(
      async (o: {
        policy?: string;
        log?: string;
        listen: string;
        cache?: string;
        interval: string;
      }) => {
        const policy = await loadPolicy(o.policy);
        const logUrl = o.log ?? policyLogUrl(policy);
        if (logUrl === undefined)
          throw new CliExit(2, '--log <url> is required (the policy log line has no URL)');
        const interval = Number(o.interval);
        if (!(interval > 0)) throw new CliExit(2, '--interval must be a positive number');
        const { host, port } = parseListen(o.listen);
        const signer =
          policy.verifierKeyPath === undefined
            ? undefined
            : await readSigner(policy.verifierKeyPath, o.policy!);
        const v = await startVerifier({
          policy,
          logUrl,
          host,
          port,
          cacheDir: o.cache ?? defaultCacheDir(),
          pollIntervalMs: interval * 1000,
          logger: createLogger('vpause-verifier'),
          ...(signer !== undefined ? { signer } : {}),
        });
        process.stdout.write(`verifier listening on ${v.url}\n`);
        await runUntilSignal(() => v.close());
      },
    );
}
