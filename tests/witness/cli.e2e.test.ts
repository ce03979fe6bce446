/**
 * `vpause witness serve` as a real process: keys from files, a log vkey from a .vkey file,
 * cosigning over HTTP, a clean stop on SIGTERM, and its state kept across a restart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startVpause } from '../helpers/proc.js';
import { testKey } from '../helpers/world.js';
import { addCheckpoint, FakeLog } from './helpers.js';

describe('vpause witness serve', () => {
  it('cosigns for the configured log, stops on SIGTERM, and remembers its state on restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-witness-cli-'));
    const w = testKey('witness.cli.example/w', true);
    const logKey = testKey('log.example/log');
    writeFileSync(join(dir, 'w.key'), `${w.privateKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'log.vkey'), `${logKey.vkey}\n`);
    const args = [
      'witness',
      'serve',
      '--data',
      join(dir, 'data'),
      '--listen',
      '127.0.0.1:0',
      '--key',
      join(dir, 'w.key'),
      '--log',
      join(dir, 'log.vkey'),
    ];
    const log = new FakeLog(logKey.signer).append(6);

    const p1 = startVpause(args);
    const [, url1, vkey] = await p1.waitFor(/witness listening on (\S+) \((\S+)\)/);
    expect(vkey).toBe(w.vkey);
    expect((await addCheckpoint(url1!, log.request(0))).status).toBe(200);
    expect(await p1.kill('SIGTERM')).toBe(0);

    const p2 = startVpause(args);
    try {
      const [, url2] = await p2.waitFor(/witness listening on (\S+) /);
      expect(await addCheckpoint(url2!, log.request(0))).toMatchObject({
        status: 409,
        text: '6\n',
      });
    } finally {
      await p2.kill('SIGTERM');
    }
  }, 60_000);

  it('exits 2 without any --log', async () => {
    const p = startVpause([
      'witness',
      'serve',
      '--data',
      tmpdir(),
      '--listen',
      '127.0.0.1:0',
      '--key',
      'x',
    ]);
    const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(p.stderr()).toMatch(/--log/);
  }, 60_000);
});
