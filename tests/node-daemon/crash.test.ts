/**
 * Issue 5, done when: killing the node and the log at random moments (at least 10 times) loses
 * no report and duplicates none. Real processes (bin/vpause.mjs), SIGKILL, ten kills (five of
 * each), a 1 s reporting interval; the lab registers the node with `vpause lab register-node`.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { createPrng } from '../../nodes/collectors/prng.js';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { parseTime, type UsagePayload } from '../../protocol/src/index.js';
import { json } from '../helpers/log.js';
import { type Proc, runVpause, startVpause } from '../helpers/proc.js';
import { testKey } from '../helpers/world.js';
import {
  chainOf,
  expectContiguous,
  expectOutboxLogged,
  isUsageOf,
  LAB,
  readLog,
  tmp,
  until,
  world,
} from './fixtures.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('when the node and the log are killed with SIGKILL at random moments', () => {
  const procs = new Set<Proc>();
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('every report reaches the log exactly once: seq contiguous, no seq twice, no interval missing', async () => {
    const seed = Date.now() % 100_000;
    const rng = createPrng(seed);
    onTestFailed(() => console.error(`crash test seed: ${seed}`));
    const dir = tmp('vpause-crash-');
    const w = world(['n1']);
    const logKey = testKey('log.example/log');
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, `${text}\n`, { mode: 0o600 });
      return p;
    };
    const logKeyFile = file('log.key', logKey.privateKey);
    const logVkey = file('log.vkey', logKey.vkey);
    const labKeyFile = file('lab.key', w.labKey.privateKey);
    const nodeKeyFile = file('n1.key', w.nodeKeys['n1']!.privateKey);
    const nodeVkey = file('n1.vkey', w.nodeKeys['n1']!.vkey);
    const admit = file('ADMIT.txt', w.admit);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const outbox = join(dir, 'n1-outbox.db');
    const config = file(
      'node.yaml',
      [
        `identity: { lab: ${LAB}, facility: f1, cluster: c1, node: n1 }`,
        `key: ${nodeKeyFile}`,
        `log: { url: "${url}", key: ${logVkey}, timeoutMs: 2000 }`,
        'intervalSeconds: 1',
        'settleMs: 100',
        'collector: { kind: synthetic, seed: 5, workload: inference, gpus: 2, periodMs: 100 }',
        `outbox: ${outbox}`,
        'audit: { listen: "127.0.0.1:0" }',
        'submit: { minBackoffMs: 50, maxBackoffMs: 400, receiptPollMs: 20, maxReceiptPollMs: 200 }',
      ].join('\n'),
    );

    const startLog = async () => {
      const p = startVpause([
        'log',
        'serve',
        '--data',
        join(dir, 'log-data'),
        '--listen',
        `127.0.0.1:${port}`,
        '--key',
        logKeyFile,
        '--admit',
        admit,
      ]);
      procs.add(p);
      await p.waitFor(/log listening on/);
      return p;
    };
    let nodeUrl = '';
    const startNode = async () => {
      const p = startVpause(['node', 'run', '--config', config]);
      procs.add(p);
      const m = await p.waitFor(/audit API on (http:\/\/\S+)\n/);
      nodeUrl = m[1]!;
      return p;
    };
    const kill = async (p: Proc) => {
      await p.kill('SIGKILL');
      procs.delete(p);
    };

    let log = await startLog();
    // The node starts while its registration is still on its way: the log refuses its first
    // reports (ADMIT_UNKNOWN_KEY) until then, and the node keeps them and retries.
    const [reg, first] = await Promise.all([
      runVpause([
        ...['lab', 'register-node', '--key', labKeyFile, '--log', url, '--log-key', logVkey],
        ...['--node-key', nodeVkey, '--facility', 'f1', '--cluster', 'c1', '--node', 'n1'],
      ]),
      startNode(),
    ]);
    expect(reg.stderr).toBe('');
    expect(reg.stdout).toBe('0\n');
    let node = first;

    // Five rounds; in each, the node and the log are both killed, in random order at random
    // moments, the survivor working on alone for a while (the node signing into its outbox while
    // the log is down, or the log serving while the node is down); then both restart at once.
    const kills = { node: 0, log: 0 };
    for (let round = 0; round < 5; round++) {
      const order = rng.next() < 0.5 ? (['node', 'log'] as const) : (['log', 'node'] as const);
      await sleep(200 + Math.floor(rng.next() * 1000));
      for (const [k, victim] of order.entries()) {
        if (k === 1) await sleep(Math.floor(rng.next() * 1000));
        await kill(victim === 'node' ? node : log);
        kills[victim]++;
      }
      [log, node] = await Promise.all([startLog(), startNode()]);
    }
    expect(kills).toEqual({ node: 5, log: 5 }); // ten SIGKILLs

    // Let the node catch up with the log, then stop it cleanly and compare.
    await until(
      async () => {
        const h = await json(fetch(`${nodeUrl}/healthz`)).catch(() => undefined);
        return h !== undefined && h.nextSeq >= 10 && h.outbox.unreceipted === 0;
      },
      20_000,
      'the node to drain its outbox',
    );
    expect(await node.kill('SIGTERM')).toBe(0);
    procs.delete(node);
    expect(node.stderr()).not.toMatch(/SEQ CONFLICT/);

    const all = await readLog(url, logKey);
    const chain = chainOf(all, isUsageOf('n1'));
    expectContiguous(chain); // seq 0..n-1, each once, prev chain intact
    const ob = Outbox.open({ path: outbox, readOnly: true });
    try {
      // Everything the node ever signed is in the log at the index it recorded, with a receipt.
      expect(expectOutboxLogged(ob, all, logKey)).toBe(chain.length);
    } finally {
      ob.close();
    }
    // No interval is missing or reported twice: each report starts where the previous ended.
    const usage = chain.map((x) => x.s.payload as UsagePayload);
    for (let i = 1; i < usage.length; i++) expect(usage[i]!.start).toBe(usage[i - 1]!.end);
    const span = parseTime(usage[usage.length - 1]!.end) - parseTime(usage[0]!.start);
    expect(span).toBe(usage.length);
    await log.kill('SIGTERM');
    procs.delete(log);
  }, 150_000);
});
