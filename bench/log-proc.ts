/** Starts a real `vpause log serve` process over a data directory, for the benchmarks. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Proc, startVpause } from '../tests/helpers/proc.js';

export async function startLogProcess(
  data: string,
  logPrivateKey: string,
  admit: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<{ p: Proc; url: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vpause-bench-'));
  writeFileSync(join(dir, 'log.key'), `${logPrivateKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ADMIT.txt'), admit);
  const p = startVpause(
    [
      'log',
      'serve',
      '--data',
      data,
      '--listen',
      '127.0.0.1:0',
      '--key',
      join(dir, 'log.key'),
      '--admit',
      join(dir, 'ADMIT.txt'),
      ...extraArgs,
    ],
    { VPAUSE_LOG: 'error', ...env },
    nodeArgs,
  );
  const url = (await p.waitFor(/log listening on (http:\/\/\S+)/, 600_000))[1]!;
  return { p, url, dir };
}
