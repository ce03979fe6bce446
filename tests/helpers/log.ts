/** Starts an in-process log on 127.0.0.1 for tests, with an ADMIT.txt for the given keys. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogServerConfig, type RunningLog, startLog } from '../../src/log/server.js';
import { silentLogger } from '../../src/util/logger.js';
import { type TestKey, testKey } from './world.js';

export interface TestLog {
  log: RunningLog;
  url: string;
  logKey: TestKey;
  dir: string;
  post(path: string, body: Uint8Array | string, contentType?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestLog(
  admit: string,
  extra: Partial<LogServerConfig> = {},
  logKey = testKey('log.example/log'),
): Promise<TestLog> {
  const dir = mkdtempSync(join(tmpdir(), 'vpause-log-'));
  writeFileSync(join(dir, 'ADMIT.txt'), admit);
  const log = await startLog({
    memory: true,
    host: '127.0.0.1',
    port: 0,
    key: logKey.signer,
    admitFile: join(dir, 'ADMIT.txt'),
    logger: silentLogger(),
    service: { integrateIntervalMs: 20 },
    ...extra,
  });
  return {
    log,
    url: log.url,
    logKey,
    dir,
    post: (path, body, contentType = 'application/json') =>
      fetch(log.url + path, {
        method: 'POST',
        body: body as string | Uint8Array<ArrayBuffer>,
        headers: { 'content-type': contentType },
      }),
    close: () => log.close(),
  };
}

/** Waits until the served checkpoint covers `size` entries. */
export async function waitForSize(url: string, size: number, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${url}/checkpoint`);
    if (r.ok) {
      const text = await r.text();
      const n = Number(text.split('\n')[1]);
      if (n >= size) return text;
    }
    if (Date.now() > until) throw new Error(`log did not reach size ${size}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads a JSON response body for assertions (tests look into it field by field). */
// biome-ignore lint/suspicious/noExplicitAny: test assertions index into arbitrary JSON
export async function json(r: Response | Promise<Response>): Promise<any> {
  return (await r).json();
}
