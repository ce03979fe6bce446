/** Runs vpause CLI commands as real processes for end-to-end tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const VPAUSE_BIN = join(process.cwd(), 'bin', 'vpause.mjs');

export interface Proc {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stdout(): string;
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startVpause(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Proc {
  const child = spawn(process.execPath, [...nodeArgs, VPAUSE_BIN, ...args], {
    env: { ...process.env, VPAUSE_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 30_000) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${re}; stderr: ${err.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(t);
            resolve(m);
          },
        });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`process exited (${code}) before ${re}; stderr: ${err.slice(-2000)}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs a vpause command to completion. */
export async function runVpause(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startVpause(args, env);
  const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)));
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
