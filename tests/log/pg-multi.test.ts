import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TlogClient } from '../../src/client/tlog-client.js';
import { toHex } from '../../src/core/bytes.js';
import { hashLeaf } from '../../src/merkle/rfc9162.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { type Proc, startVpause } from '../helpers/proc.js';
import { TestLab, testKey } from '../helpers/world.js';

const PG = process.env.VPAUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function isSequencer(url: string): Promise<boolean> {
  const m = await (await fetch(`${url}/metrics`)).text();
  return /^vpause_log_is_sequencer 1$/m.test(m);
}

async function checkpointSize(url: string): Promise<number> {
  return Number((await (await fetch(`${url}/checkpoint`)).text()).split('\n')[1]);
}

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('two log processes sharing one PostgreSQL database', () => {
  const schema = `vpause_multi_${Date.now().toString(36)}_${process.pid}`;
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  it('both accept writes and serve reads; one sequencer; the other takes over when it is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpause-multi-'));
    const lab = new TestLab('lab-m.example');
    const logKey = testKey('log-m.example/log');
    writeFileSync(join(dir, 'log.key'), `${logKey.privateKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'ADMIT.txt'), `lab ${lab.root.vkey}\n`);
    const start = (name: string) => {
      const p = startVpause([
        'log',
        'serve',
        '--data',
        join(dir, name),
        '--listen',
        '127.0.0.1:0',
        '--key',
        join(dir, 'log.key'),
        '--admit',
        join(dir, 'ADMIT.txt'),
        '--db',
        PG,
        '--db-schema',
        schema,
      ]);
      procs.push(p);
      return p;
    };
    const a = start('a');
    const urlA = (await a.waitFor(/log listening on (http:\/\/\S+)/))[1]!;
    const b = start('b');
    const urlB = (await b.waitFor(/log listening on (http:\/\/\S+)/))[1]!;
    const acked = new Map<number, string>();
    const post = async (url: string, body: Uint8Array) => {
      const r = await fetch(`${url}/v1/statements`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(200);
      const j = (await r.json()) as { index: number; leafHash: string };
      acked.set(j.index, j.leafHash);
    };
    await post(urlA, lab.register('n1').body);
    await post(urlB, lab.register('n2').body);
    for (let i = 0; i < 20; i++)
      await post(i % 2 ? urlA : urlB, lab.usage(i % 2 ? 'n1' : 'n2').body);
    // Indexes from both front ends are gapless.
    expect([...acked.keys()].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 22 }, (_, i) => i),
    );
    await until(
      async () => (await checkpointSize(urlA)) >= 22 && (await checkpointSize(urlB)) >= 22,
    );
    const seqA = await isSequencer(urlA);
    const seqB = await isSequencer(urlB);
    expect([seqA, seqB].filter(Boolean)).toHaveLength(1);

    const [victim, survivor] = seqA ? [a, urlB] : [b, urlA];
    await victim.kill('SIGKILL');
    for (let i = 0; i < 10; i++) await post(survivor, lab.usage('n1').body);
    await until(
      async () => (await checkpointSize(survivor)) >= 32 && (await isSequencer(survivor)),
    );

    const c = new TlogClient({ url: survivor, logKey: parseVerifierKey(logKey.vkey) });
    const cp = (await c.checkpoint()).checkpoint;
    await c.verifyTree(cp.size, cp.rootHash);
    const entries = await c.entries(0, cp.size, cp.size);
    for (const [i, h] of acked) expect(toHex(hashLeaf(entries[i]!))).toBe(h);
  }, 120_000);
});
