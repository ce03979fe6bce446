/** `vpause node run`: the attestation node daemon (nodes/daemon) with signals and exit codes. */
import type { Command } from 'commander';
import { loadNodeConfig } from '../../nodes/daemon/config.js';
import { DaemonError } from '../../nodes/daemon/errors.js';
import { startNode } from '../../nodes/daemon/node.js';
import { CliExit } from './exit.js';

/** Why a daemon stopped by itself. */
type DaemonExit =
  | { reason: 'closed' }
  | { reason: 'conflict'; seq: number; detail: string }
  | { reason: 'failed'; error: unknown };

/**
 * Runs a daemon until SIGINT/SIGTERM (then closes it: exit 0) or until it stops by itself
 * (seq conflict: exit 3; failure: exit 1).
 * @throws {CliExit} when the daemon stopped by itself
 */
export async function runDaemonUntilSignal(d: {
  close(): Promise<void>;
  done: Promise<DaemonExit>;
}): Promise<void> {
  let onSignal: (() => void) | undefined;
  const signalled = new Promise<'signal'>((resolve) => {
    onSignal = () => resolve('signal');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const first = await Promise.race([signalled, d.done]);
  if (onSignal) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await d.close();
  if (first === 'signal') return;
  if (first.reason === 'conflict') {
    throw new CliExit(
      3,
      `stopped: the log holds a different statement for seq ${first.seq} (${first.detail}); the chain has forked`,
    );
  }
  if (first.reason === 'failed') {
    throw new CliExit(1, `stopped: ${(first.error as Error)?.message ?? String(first.error)}`);
  }
}

export function configError(e: unknown): never {
  if (e instanceof DaemonError && e.code === 'DAEMON_CONFIG_INVALID')
    throw new CliExit(2, e.message);
  throw e;
}

export function registerNode(program: Command): void {
  const node = program.command('node').description('the attestation node beside a GPU cluster');
  node
    .command('run')
    .description('collect telemetry, sign a usage report per interval, submit it, answer audits')
    .requiredOption('--config <node.yaml>', 'the node configuration (see examples/node.yaml)')
    .action(async (o: { config: string }) => {
      const cfg = await loadNodeConfig(o.config).catch(configError);
      const running = await startNode(cfg).catch(configError);
      const id = cfg.identity;
      const st = running.status();
      process.stdout.write(
        `node ${id.lab}/${id.facility}/${id.cluster}/${id.node} running (next seq ${st.nextSeq})` +
          `${running.url !== undefined ? `; audit API on ${running.url}` : ''}\n`,
      );
      await runDaemonUntilSignal(running);
    });
}
