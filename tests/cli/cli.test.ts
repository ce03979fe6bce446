import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePrivateKey, parseVerifierKey, verifierKeyOf } from '../../src/note/keys.js';
import { runVpause } from '../helpers/proc.js';

describe('vpause keygen', () => {
  it('writes a 0600 private key and a vkey that belong together (note key, type 0x01)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-keygen-'));
    const out = join(dir, 'lab');
    const r = await runVpause(['keygen', '--name', 'lab-a.example/root', '--out', out]);
    expect(r.code).toBe(0);
    expect(statSync(`${out}.key`).mode & 0o777).toBe(0o600);
    const priv = parsePrivateKey(readFileSync(`${out}.key`, 'utf8'));
    const vkey = parseVerifierKey(readFileSync(`${out}.vkey`, 'utf8').trim());
    expect(priv.type).toBe(0x01);
    expect(verifierKeyOf(priv).vkey).toBe(vkey.vkey);
    expect(r.stdout.trim()).toBe(vkey.vkey);
    expect(readFileSync(`${out}.key`, 'utf8')).toMatch(
      /^PRIVATE\+KEY\+lab-a\.example\/root\+[0-9a-f]{8}\+/,
    );
  });

  it('writes a cosignature key (type 0x04) with --type cosignature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-keygen-'));
    const r = await runVpause([
      'keygen',
      '--name',
      'witness.example',
      '--out',
      join(dir, 'w'),
      '--type',
      'cosignature',
    ]);
    expect(r.code).toBe(0);
    expect(parsePrivateKey(readFileSync(join(dir, 'w.key'), 'utf8')).type).toBe(0x04);
  });

  it('refuses to overwrite existing key files with a one-line error and exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-keygen-'));
    const out = join(dir, 'k');
    expect((await runVpause(['keygen', '--name', 'a.example', '--out', out])).code).toBe(0);
    const again = await runVpause(['keygen', '--name', 'a.example', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('exists');
  });

  it('refuses an invalid key name in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-keygen-'));
    const r = await runVpause(['keygen', '--name', 'bad name+x', '--out', join(dir, 'k')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the command line', () => {
  it('prints help for every command and subcommand and exits 0', async () => {
    const top = await runVpause(['--help']);
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+)(?: \[options\]| <|$| )/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['keygen', 'log']));
    for (const c of commands) {
      const h = await runVpause([c, '--help']);
      expect(h.code, c).toBe(0);
      expect(h.stdout).toContain('Usage: vpause');
      for (const sub of [...h.stdout.matchAll(/^ {2}([a-z-]+) \[options\]/gm)].map((m) => m[1]!)) {
        const sh = await runVpause([c, sub, '--help']);
        expect(sh.code, `${c} ${sub}`).toBe(0);
      }
    }
  }, 120_000);

  it('exits 2 on an unknown command or a missing required option', async () => {
    expect((await runVpause(['frobnicate'])).code).toBe(2);
    const r = await runVpause(['log', 'serve', '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/required option/);
  });

  it('fails in one line with exit 1 when the log key file is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-cli-'));
    const r = await runVpause([
      'log',
      'serve',
      '--data',
      dir,
      '--listen',
      '127.0.0.1:0',
      '--key',
      join(dir, 'missing.key'),
      '--admit',
      join(dir, 'missing.txt'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
