/** Shared by the CLI's long-running commands: address parsing and signal wiring. */
import { CliExit } from './exit.js';

/** Parses HOST:PORT (IPv6 as [::1]:PORT). @throws {CliExit} on a malformed address */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw new CliExit(2, `--listen must be HOST:PORT, not ${s}`);
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * Runs until SIGINT or SIGTERM, then closes the service; SIGHUP calls `onHup`.
 * Resolves once closed.
 */
export async function runUntilSignal(
  close: () => Promise<void>,
  onHup?: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (onHup) process.off('SIGHUP', hup);
      close().then(resolve, (e) => {
        process.stderr.write(`vpause: shutdown failed: ${(e as Error).message}\n`);
        resolve();
      });
    };
    const hup = () => void onHup?.();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (onHup) process.on('SIGHUP', hup);
  });
}
