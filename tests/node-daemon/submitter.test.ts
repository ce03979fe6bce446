/**
 * The submitter against a real in-process log, with faults injected in front of it through the
 * fetch it is given: pushback, outages, refusals, seq conflicts, duplicates and bad receipts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChainWriter } from '../../nodes/daemon/chain.js';
import { LogClient, verifyReceipt } from '../../nodes/daemon/log-client.js';
import { createDaemonMetrics } from '../../nodes/daemon/metrics.js';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { Submitter, type SubmitterExit } from '../../nodes/daemon/submitter.js';
import type { Timer } from '../../nodes/daemon/util.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import { registrationPayload, signLabStatement } from '../../nodes/lab/statements.js';
import { PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/index.js';
import { toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { silentLogger } from '../../src/util/logger.js';
import type { TestLog } from '../helpers/log.js';
import { TestLab } from '../helpers/world.js';
import { LAB, startWorldLog, tmp, until, type World, world } from './fixtures.js';

const ID = { lab: LAB, facility: 'f1', cluster: 'c1', node: 'n1' };

/** A timer whose sleeps take 1 ms of real time whatever they ask for, recording what they asked. */
function quickTimer(): Timer & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      return new Promise((r) => {
        const onAbort = () => {
          clearTimeout(t);
          r();
        };
        const t = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          r();
        }, 1);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

async function setup(opts: { register?: boolean; reports?: number } = {}) {
  const w: World = world(['n1']);
  const log: TestLog = await startWorldLog(w);
  const logKey = parseVerifierKey(log.logKey.vkey);
  const register = async () => {
    const p = registrationPayload(
      LAB,
      { action: 'add', nodeKey: parseVerifierKey(w.nodeKeys['n1']!.vkey), ...ID },
      Date.now(),
    );
    await publishStatement(
      signLabStatement(PAYLOAD_TYPE.registration, p, w.labKey.signer).entry,
      new LogClient({ url: log.url, logKey }),
    );
  };
  if (opts.register !== false) await register();
  const outbox = Outbox.open({ path: join(tmp(), 'o.db'), chain: `usage/${LAB}/f1/c1/n1` });
  const writer = new ChainWriter(outbox, w.nodeKeys['n1']!.signer, PAYLOAD_TYPE.usage, Date.now);
  const add = (i: number) =>
    writer.append(
      (link): UsagePayload => ({
        v: 1,
        ...ID,
        seq: link.seq,
        prev: link.prev,
        start: `2026-11-27T00:0${i}:00Z`,
        end: `2026-11-27T00:0${i + 1}:00Z`,
        gpus: 1,
        gpuSeconds: 60,
        energyJ: 4200 + i,
        tensorActive: 0,
        flop: 0,
        workload: 'idle',
        bodyHash: toHex(sha256(new Uint8Array([i]))),
        samples: { count: 0, root: toHex(sha256(new Uint8Array())) },
      }),
      { startMs: i * 60_000, endMs: (i + 1) * 60_000 },
    );
  for (let i = 0; i < (opts.reports ?? 3); i++) add(i);
  return { w, log, logKey, outbox, register, add };
}

function run(
  s: { outbox: Outbox; logKey: ReturnType<typeof parseVerifierKey>; log: TestLog },
  f: typeof fetch,
  timer: Timer,
  random = () => 0.5,
) {
  const metrics = createDaemonMetrics('vpause_node', undefined, false);
  const submitter = new Submitter({
    outbox: s.outbox,
    client: new LogClient({ url: s.log.url, logKey: s.logKey, fetch: f }),
    timer,
    random,
    logger: silentLogger(),
    metrics,
    backoff: { minMs: 100, maxMs: 1600 },
    receiptPoll: { minMs: 10, maxMs: 50 },
  });
  const ac = new AbortController();
  const done: Promise<SubmitterExit> = submitter.run(ac.signal);
  return { submitter, metrics, ac, done };
}

const drained = (o: Outbox) => o.counts().unreceipted === 0;

describe('the submitter', () => {
  it('submits in seq order and stores each receipt after verifying it', async () => {
    const s = await setup();
    const r = run(s, fetch, quickTimer());
    await until(() => drained(s.outbox));
    r.ac.abort();
    expect(await r.done).toEqual({ reason: 'aborted' });
    const rows = s.outbox.list();
    expect(rows.map((x) => x.logIndex)).toEqual([1, 2, 3]);
    for (const x of rows) {
      expect(() =>
        verifyReceipt(x.receipt!, { entry: x.entry, index: x.logIndex!, logKey: s.logKey }),
      ).not.toThrow();
    }
    s.outbox.close();
    await s.log.close();
  });

  describe('while the log pushes back or is unreachable', () => {
    it('waits at least Retry-After after a 503 and retries until the log takes the statement', async () => {
      const s = await setup({ reports: 1 });
      let refusals = 0;
      const f: typeof fetch = async (input, init) => {
        if (init?.method === 'POST' && refusals < 2) {
          refusals++;
          return new Response(JSON.stringify({ code: 'LOG_PUSHBACK' }), {
            status: 503,
            headers: { 'retry-after': '3', 'content-type': 'application/problem+json' },
          });
        }
        return fetch(input, init);
      };
      const timer = quickTimer();
      const r = run(s, f, timer);
      await until(() => drained(s.outbox));
      r.ac.abort();
      await r.done;
      expect(refusals).toBe(2);
      expect(timer.sleeps.slice(0, 2)).toEqual([3000, 3000]);
      expect(s.outbox.get(0)?.logIndex).toBe(1);
      s.outbox.close();
      await s.log.close();
    });

    it('backs off exponentially with jitter, capped, while the log is unreachable', async () => {
      const s = await setup({ reports: 1 });
      let failures = 0;
      const f: typeof fetch = async (input, init) => {
        if (init?.method === 'POST' && failures < 6) {
          failures++;
          throw new TypeError('fetch failed: ECONNREFUSED');
        }
        return fetch(input, init);
      };
      const timer = quickTimer();
      const r = run(s, f, timer, () => 0.5);
      await until(() => drained(s.outbox));
      r.ac.abort();
      await r.done;
      // equal jitter with random 0.5: 3/4 of min(1600, 100·2^k)
      expect(timer.sleeps.slice(0, 6)).toEqual([75, 150, 300, 600, 1200, 1200]);
      s.outbox.close();
      await s.log.close();
    });
  });

  it('treats the log answering a duplicate with its original index as success', async () => {
    const s = await setup({ reports: 1 });
    const first = await new LogClient({ url: s.log.url, logKey: s.logKey }).submit(
      s.outbox.get(0)!.entry,
    );
    expect(first).toMatchObject({ kind: 'sequenced', index: 1 });
    const r = run(s, fetch, quickTimer());
    await until(() => drained(s.outbox));
    r.ac.abort();
    await r.done;
    expect(s.outbox.get(0)?.logIndex).toBe(1);
    expect(await s.log.log.service.sequencedSize()).toBe(2);
    s.outbox.close();
    await s.log.close();
  });

  it('keeps retrying a statement the log refuses (node key not registered yet), then delivers it', async () => {
    const s = await setup({ register: false, reports: 1 });
    const r = run(s, fetch, quickTimer());
    await until(() => r.submitter.status.state === 'rejected');
    expect(r.submitter.status.lastError?.reason).toMatch(/^ADMIT_UNKNOWN_KEY/);
    await s.register();
    await until(() => drained(s.outbox));
    r.ac.abort();
    await r.done;
    expect(s.outbox.get(0)?.logIndex).toBe(1);
    s.outbox.close();
    await s.log.close();
  });

  describe('when the log already holds another statement with the same seq', () => {
    it('raises a conflict and stops without marking the statement sequenced', async () => {
      const s = await setup({ reports: 2 });
      // Someone else signed a different seq 0 with this node key.
      const other = new TestLab(LAB);
      const forged = other.usage('n1', { energyJ: 1 }, s.w.nodeKeys['n1']!.signer);
      expect((await s.log.post('/v1/statements', forged.body)).status).toBe(200);
      const r = run(s, fetch, quickTimer());
      const exit = await r.done;
      expect(exit).toMatchObject({ reason: 'conflict', seq: 0 });
      expect(r.submitter.status.state).toBe('conflict');
      expect(s.outbox.get(0)?.logIndex).toBeNull();
      expect(await r.metrics.submits.get()).toMatchObject({
        values: [expect.objectContaining({ labels: { result: 'conflict' }, value: 1 })],
      });
      s.outbox.close();
      await s.log.close();
    });
  });

  it('does not store a receipt that does not verify, and fetches it again', async () => {
    const s = await setup({ reports: 1 });
    let corrupted = 0;
    let bad = '';
    const f: typeof fetch = async (input, init) => {
      const r = await fetch(input, init);
      if (String(input).includes('/v1/receipt/') && r.status === 200 && corrupted === 0) {
        corrupted++;
        const text = await r.text();
        const lines = text.split('\n');
        lines[1] = 'index 0'; // a proof for another index
        bad = lines.join('\n');
        return new Response(bad, { status: 200 });
      }
      return r;
    };
    const r = run(s, f, quickTimer());
    await until(() => drained(s.outbox));
    r.ac.abort();
    await r.done;
    expect(corrupted).toBe(1);
    const row = s.outbox.get(0)!;
    expect(row.receipt).not.toBe(bad);
    expect(() =>
      verifyReceipt(row.receipt!, { entry: row.entry, index: 1, logKey: s.logKey }),
    ).not.toThrow();
    const invalid = (await r.metrics.receipts.get()).values.find(
      (v) => v.labels.result === 'invalid',
    );
    expect(invalid?.value).toBe(1);
    s.outbox.close();
    await s.log.close();
  });
});
