import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { TlogClient } from '../../src/client/tlog-client.js';
import { toHex } from '../../src/core/bytes.js';
import { hashLeaf } from '../../src/merkle/rfc9162.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { Checkpoint } from '../../src/tlog/checkpoint.js';
import { startVpause } from '../helpers/proc.js';
import { seededRandom, TestLab, testKey } from '../helpers/world.js';

const PG = process.env.VPAUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const KILLS = 20;

/**
 * Crash safety: the log process is SIGKILLed at random moments under load and restarted. Every
 * acknowledged index must still hold the acknowledged leaf, and every checkpoint ever served must
 * be consistent with every later one.
 */
async function crashRun(extraArgs: string[], label: string) {
  const dir = mkdtempSync(join(tmpdir(), `vpause-crash-${label}-`));
  const lab = new TestLab(`lab-${label}.example`);
  const logKey = testKey(`log-${label}.example/log`);
  writeFileSync(join(dir, 'log.key'), `${logKey.privateKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'ADMIT.txt'), `lab ${lab.root.vkey}\n`);
  const args = [
    'log',
    'serve',
    '--data',
    join(dir, 'data'),
    '--listen',
    '127.0.0.1:0',
    '--key',
    join(dir, 'log.key'),
    '--admit',
    join(dir, 'ADMIT.txt'),
    ...extraArgs,
  ];
  const rnd = seededRandom(`crash-${label}`);
  const acked = new Map<number, string>();
  const checkpoints: Checkpoint[] = [];
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  const queue: Uint8Array[] = nodes.map((n) => lab.register(n).body);
  const client = (url: string) => new TlogClient({ url, logKey: parseVerifierKey(logKey.vkey) });

  for (let round = 0; round <= KILLS; round++) {
    const p = startVpause(args);
    const m = await p.waitFor(/log listening on (http:\/\/\S+)/);
    const url = m[1]!;
    if (round === KILLS) {
      // Final start: let it integrate everything acknowledged, then check.
      const maxIndex = Math.max(...acked.keys());
      let cp: Checkpoint | undefined;
      for (let i = 0; i < 300; i++) {
        cp = client(url).open(await (await fetch(`${url}/checkpoint`)).text()).checkpoint;
        if (cp.size > maxIndex) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const c = client(url);
      const last = cp!;
      expect(last.size).toBeGreaterThan(maxIndex);
      await c.verifyTree(last.size, last.rootHash);
      const entries = await c.entries(0, last.size, last.size);
      for (const [index, leafHash] of acked)
        expect(toHex(hashLeaf(entries[index]!))).toBe(leafHash);
      for (const old of checkpoints) await c.verifyConsistent(old, last);
      if (!extraArgs.includes('--db')) {
        // The proof index, written without fsync and killed 20 times, serves the proofs the
        // tiles give once it has caught up: the last two full tiles and a sample of the rest.
        const full = Math.floor(last.size / 256) * 256;
        const indexed = async () =>
          ((await (await fetch(`${url}/healthz`)).json()) as { proofIndexed: number }).proofIndexed;
        await expect.poll(indexed, { timeout: 15_000 }).toBe(full);
        const picks = new Set<number>();
        for (let i = Math.max(0, full - 512); i < last.size; i++) picks.add(i);
        for (let k = 0; k < 200; k++) picks.add((k * 7919) % last.size);
        for (const i of picks) {
          const r = await fetch(`${url}/v1/proof/inclusion?index=${i}&size=${last.size}`);
          const { hashes } = (await r.json()) as { hashes: string[] };
          expect(hashes.map((h) => toHex(Buffer.from(h, 'base64')))).toEqual(
            (await c.inclusionProof(i, last.size)).map(toHex),
          );
        }
      }
      await p.kill('SIGTERM');
      return { acked: acked.size, checkpoints: checkpoints.length, size: last.size };
    }
    let stop = false;
    const workers = [0, 1, 2].map(async () => {
      while (!stop) {
        const body = queue.shift() ?? lab.usage(nodes[rnd(1)[0]! % nodes.length]!).body;
        try {
          const r = await fetch(`${url}/v1/statements`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
          });
          if (r.status === 200) {
            const j = (await r.json()) as { index: number; leafHash: string };
            const prev = acked.get(j.index);
            if (prev !== undefined) expect(prev).toBe(j.leafHash);
            acked.set(j.index, j.leafHash);
          }
        } catch {
          // The process died mid-request: that statement was not acknowledged.
          if (body !== undefined && queue.length < 4 && round === 0) queue.push(body);
          return;
        }
      }
    });
    const watcher = (async () => {
      while (!stop) {
        try {
          const text = await (await fetch(`${url}/checkpoint`)).text();
          checkpoints.push(client(url).open(text).checkpoint);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const runMs = 150 + (((rnd(2)[0]! << 8) | rnd(1)[0]!) % 700);
    await new Promise((r) => setTimeout(r, runMs));
    await p.kill('SIGKILL');
    stop = true;
    await Promise.all([...workers, watcher]);
  }
  throw new Error('unreachable');
}

describe('the log under SIGKILL', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    if (schemas.length === 0) return;
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await c.end();
  });

  it(`keeps every acknowledged entry and only consistent checkpoints across ${KILLS} kills (SQLite)`, async () => {
    const r = await crashRun([], 'sqlite');
    expect(r.acked).toBeGreaterThan(KILLS);
    expect(r.checkpoints).toBeGreaterThan(KILLS);
  }, 300_000);

  it(`keeps every acknowledged entry and only consistent checkpoints across ${KILLS} kills (SQLite on its own thread)`, async () => {
    const r = await crashRun(['--sqlite-thread'], 'sqlite-thread');
    expect(r.acked).toBeGreaterThan(KILLS);
    expect(r.checkpoints).toBeGreaterThan(KILLS);
  }, 300_000);

  it(`keeps every acknowledged entry and only consistent checkpoints across ${KILLS} kills (PostgreSQL)`, async () => {
    const schema = `vpause_crash_${Date.now().toString(36)}_${process.pid}`;
    schemas.push(schema);
    const r = await crashRun(['--db', PG, '--db-schema', schema], 'pg');
    expect(r.acked).toBeGreaterThan(KILLS);
    expect(r.checkpoints).toBeGreaterThan(KILLS);
  }, 300_000);
});
