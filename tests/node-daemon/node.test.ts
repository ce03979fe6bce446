import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Collector, GpuSample } from '../../nodes/collectors/index.js';
import { LogClient } from '../../nodes/daemon/log-client.js';
import { startNode } from '../../nodes/daemon/node.js';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { SampleBuffer } from '../../nodes/daemon/sample-buffer.js';
import { scaledTimer } from '../../nodes/daemon/util.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import { registrationPayload, signLabStatement } from '../../nodes/lab/statements.js';
import { PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/index.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { silentLogger } from '../../src/util/logger.js';
import { TestLab } from '../helpers/world.js';
import {
  chainOf,
  expectContiguous,
  isUsageOf,
  LAB,
  nodeConfig,
  readLog,
  startWorldLog,
  tmp,
  until,
  world,
} from './fixtures.js';

const ID = { lab: LAB, facility: 'f1', cluster: 'c1', node: 'n1' };

async function registeredWorld() {
  const w = world(['n1']);
  const log = await startWorldLog(w);
  const p = registrationPayload(
    LAB,
    { action: 'add', nodeKey: parseVerifierKey(w.nodeKeys['n1']!.vkey), ...ID },
    Date.now(),
  );
  await publishStatement(
    signLabStatement(PAYLOAD_TYPE.registration, p, w.labKey.signer).entry,
    new LogClient({ url: log.url, logKey: parseVerifierKey(log.logKey.vkey) }),
  );
  return { w, log };
}

describe('the node daemon', () => {
  it('keeps reporting every interval while its collector fails, with no samples, and restarts the collector', async () => {
    const { w, log } = await registeredWorld();
    let runs = 0;
    const broken: Collector = {
      kind: 'nvidia-smi',
      run: async () => {
        runs++;
        throw new Error('nvidia-smi: command not found');
      },
    };
    const node = await startNode(
      nodeConfig({
        node: 'n1',
        key: w.nodeKeys['n1']!,
        logUrl: log.url,
        logKey: log.logKey,
        outbox: join(tmp(), 'n.db'),
        collector: { kind: 'nvidia-smi' },
        intervalSeconds: 10,
        settleMs: 0,
      }),
      {
        timer: scaledTimer(50, Date.now()),
        logger: silentLogger(),
        processMetrics: false,
        collector: broken,
      },
    );
    await until(() => node.outbox.counts().total >= 3 && node.outbox.counts().unreceipted === 0);
    await node.close();
    const chain = chainOf(await readLog(log.url, log.logKey), isUsageOf('n1'));
    expectContiguous(chain);
    for (const x of chain) {
      expect(x.s.payload as UsagePayload).toMatchObject({
        gpus: 0,
        gpuSeconds: 0,
        energyJ: 0,
        samples: { count: 0 },
      });
    }
    expect(runs).toBeGreaterThan(1);
    await log.close();
  }, 30_000);

  it('resumes after a restart at the interval after the last stored one, with the next seq', async () => {
    const { w, log } = await registeredWorld();
    const cfg = nodeConfig({
      node: 'n1',
      key: w.nodeKeys['n1']!,
      logUrl: log.url,
      logKey: log.logKey,
      outbox: join(tmp(), 'n.db'),
      collector: { kind: 'synthetic', seed: 1, workload: 'idle', gpus: 1 },
      intervalSeconds: 10,
      settleMs: 0,
    });
    const deps = {
      timer: scaledTimer(50, Date.now()),
      logger: silentLogger(),
      processMetrics: false,
    };
    const a = await startNode(cfg, deps);
    await until(() => a.outbox.counts().total >= 2);
    await a.close();
    const b = await startNode(cfg, deps);
    const from = b.status().nextSeq;
    await until(() => b.outbox.counts().total >= from + 2 && b.outbox.counts().unreceipted === 0);
    await b.close();
    const chain = chainOf(await readLog(log.url, log.logKey), isUsageOf('n1'));
    expectContiguous(chain);
    const u = chain.map((x) => x.s.payload as UsagePayload);
    for (let i = 1; i < u.length; i++) expect(u[i]!.start).toBe(u[i - 1]!.end);
    await log.close();
  }, 30_000);

  it('stops by itself when the log holds a different statement for its seq, and says so', async () => {
    const { w, log } = await registeredWorld();
    const forged = new TestLab(LAB).usage('n1', {}, w.nodeKeys['n1']!.signer);
    expect((await log.post('/v1/statements', forged.body)).status).toBe(200);
    const node = await startNode(
      nodeConfig({
        node: 'n1',
        key: w.nodeKeys['n1']!,
        logUrl: log.url,
        logKey: log.logKey,
        outbox: join(tmp(), 'n.db'),
        collector: { kind: 'synthetic', seed: 1, workload: 'idle', gpus: 1 },
        intervalSeconds: 10,
        settleMs: 0,
      }),
      { timer: scaledTimer(50, Date.now()), logger: silentLogger(), processMetrics: false },
    );
    expect(await node.done).toMatchObject({ reason: 'conflict', seq: 0 });
    await node.close();
    await log.close();
  }, 30_000);
});

describe('when the audit listener cannot bind', () => {
  it('fails to start and releases the outbox (another start can take it)', async () => {
    const w = world(['n1']);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const outbox = join(tmp(), 'n.db');
    const cfg = nodeConfig({
      node: 'n1',
      key: w.nodeKeys['n1']!,
      logUrl: 'http://127.0.0.1:9',
      logKey: w.labKey,
      outbox,
      collector: { kind: 'synthetic', seed: 1, workload: 'idle', gpus: 1 },
      audit: { listen: `127.0.0.1:${port}` },
    });
    const deps = { logger: silentLogger(), processMetrics: false };
    await expect(startNode(cfg, deps)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    busy.close();
    const ob = Outbox.open({ path: outbox, chain: `usage/${LAB}/f1/c1/n1`, lockTimeoutMs: 50 });
    ob.close();
  });
});

describe('the sample buffer', () => {
  const s = (t: number): GpuSample => ({
    t,
    uuid: 'GPU-1',
    model: 'NVIDIA H100 80GB HBM3',
    powerW: 70,
  });

  it('gives a report the samples within the bridged gap around its interval', () => {
    const b = new SampleBuffer();
    b.add([s(0), s(8_000), s(10_000), s(19_999), s(20_000), s(40_000)]);
    expect(b.window({ startMs: 10_000, endMs: 20_000 }, 2_000).map((x) => x.t)).toEqual([
      8_000, 10_000, 19_999, 20_000,
    ]);
  });

  it('drops and counts samples older than any report still to come', () => {
    const b = new SampleBuffer();
    b.add([s(1_000), s(5_000)]);
    b.forgetBefore(4_000);
    expect(b.add([s(3_999), s(4_000)])).toBe(1);
    expect(b.late).toBe(1);
    expect(b.size).toBe(2);
  });
});
