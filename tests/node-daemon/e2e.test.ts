/**
 * Issue 5, done when: a log, a lab that registers three nodes and declares its inventory and a
 * pause; one node replays the real H100 capture, one the H200 capture, one is synthetic; a
 * facility meter signs readings; every report and reading lands in the log with a verified
 * receipt, and every chain is contiguous (read back through the tlog-tiles client).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../nodes/daemon/log-client.js';
import { type RunningNode, startNode } from '../../nodes/daemon/node.js';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { scaledTimer } from '../../nodes/daemon/util.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import {
  inventoryFromYaml,
  pauseFromYaml,
  registrationPayload,
  signLabStatement,
} from '../../nodes/lab/statements.js';
import { type RunningMeter, startMeter } from '../../nodes/meter/meter.js';
import { PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/index.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { silentLogger } from '../../src/util/logger.js';
import { TELEMETRY_DIR } from '../nodes/fixtures.js';
import {
  chainOf,
  expectContiguous,
  expectOutboxLogged,
  isMeter,
  isUsageOf,
  LAB,
  meterConfig,
  nodeConfig,
  readLog,
  startWorldLog,
  tmp,
  until,
  world,
} from './fixtures.js';

const H100 = join(
  TELEMETRY_DIR,
  'nvidia-smi-capture__linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt',
);
const H200 = join(TELEMETRY_DIR, 'nvidia-smi-capture__linux-x86_64__nvidia-h200__590.48.01.txt');

const INVENTORY = `
nodes:
  - { facility: f1, cluster: c1, node: h100, gpus: 1, model: NVIDIA H100 80GB HBM3 }
  - { facility: f1, cluster: c1, node: h200, gpus: 1, model: NVIDIA H200 }
  - { facility: f1, cluster: c1, node: syn, gpus: 8, model: NVIDIA H100 80GB HBM3 }
`;
const PAUSE = `
id: pause-1
start: 2026-11-27T00:00:00Z
end: null
scope: ["*"]
limits: { maxFlopPerDay: 1e21, allowedWorkloads: [idle, inference, maintenance] }
reporting: { intervalSeconds: 10, maxDelaySeconds: 60 }
`;

describe('a lab with three nodes and a facility meter, end to end', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  });

  it('logs every report and reading with a verified receipt, each chain contiguous', async () => {
    const nodes = ['h100', 'h200', 'syn'] as const;
    const w = world([...nodes]);
    const log = await startWorldLog(w);
    closers.push(() => log.close());
    const logKey = parseVerifierKey(log.logKey.vkey);
    const client = new LogClient({ url: log.url, logKey });

    // The lab: three registrations, the inventory, the pause, each with a verified receipt.
    const labIndexes: number[] = [];
    for (const n of nodes) {
      const p = registrationPayload(
        LAB,
        {
          action: 'add',
          nodeKey: parseVerifierKey(w.nodeKeys[n]!.vkey),
          facility: 'f1',
          cluster: 'c1',
          node: n,
        },
        Date.now(),
      );
      const pub = await publishStatement(
        signLabStatement(PAYLOAD_TYPE.registration, p, w.labKey.signer).entry,
        client,
      );
      labIndexes.push(pub.index);
    }
    for (const [type, payload] of [
      [PAYLOAD_TYPE.inventory, inventoryFromYaml(INVENTORY, LAB, Date.now())],
      [PAYLOAD_TYPE.pause, pauseFromYaml(PAUSE, LAB)],
    ] as const) {
      const st = signLabStatement(type, payload as never, w.labKey.signer);
      labIndexes.push((await publishStatement(st.entry, client)).index);
    }
    expect(labIndexes).toEqual([0, 1, 2, 3, 4]);

    // Three nodes and a meter on one clock running 20× faster (a 10 s interval takes 0.5 s).
    const timer = scaledTimer(20, Date.now());
    const dir = tmp();
    const collectors: Record<(typeof nodes)[number], Record<string, unknown>> = {
      h100: { kind: 'replay', format: 'nvidia-smi-capture', file: H100 },
      h200: { kind: 'replay', format: 'nvidia-smi-capture', file: H200 },
      syn: { kind: 'synthetic', seed: 7, workload: 'training', gpus: 8, energyCounter: true },
    };
    const running: Record<string, RunningNode> = {};
    for (const n of nodes) {
      running[n] = await startNode(
        nodeConfig({
          node: n,
          key: w.nodeKeys[n]!,
          logUrl: log.url,
          logKey: log.logKey,
          outbox: join(dir, `${n}.db`),
          collector: collectors[n],
          intervalSeconds: 10,
          settleMs: 1000,
        }),
        { timer, logger: silentLogger(), processMetrics: false },
      );
      closers.push(() => running[n]!.close());
    }
    const meter: RunningMeter = await startMeter(
      meterConfig({
        key: w.meterKey,
        logUrl: log.url,
        logKey: log.logKey,
        outbox: join(dir, 'meter.db'),
        intervalSeconds: 10,
        settleMs: 1000,
        source: {
          kind: 'synthetic',
          seed: 3,
          pue: 1.25,
          baselineW: 5000,
          gpus: [
            { model: 'H100', count: 1, workload: 'bursty' },
            { model: 'H200', count: 1, workload: 'bursty' },
            { model: 'H100', count: 8, workload: 'training' },
          ],
        },
      }),
      { timer, logger: silentLogger(), processMetrics: false },
    );
    closers.push(() => meter.close());

    const enough = (o: Outbox) => {
      const c = o.counts();
      return c.total >= 5 && c.unreceipted === 0;
    };
    await until(
      () => [...Object.values(running).map((r) => r.outbox), meter.outbox].every(enough),
      40_000,
      'five receipted statements per chain',
    );
    for (const n of nodes) await running[n]!.close();
    await meter.close();

    // Read the whole log back through the tiles client.
    const all = await readLog(log.url, log.logKey);
    for (const n of nodes) {
      const chain = chainOf(all, isUsageOf(n));
      expect(chain.length).toBeGreaterThanOrEqual(5);
      expectContiguous(chain);
      // Every report comes after the lab's statements.
      expect(chain[0]!.index).toBeGreaterThan(4);
      const ob = Outbox.open({ path: join(dir, `${n}.db`), readOnly: true });
      try {
        expect(expectOutboxLogged(ob, all, log.logKey)).toBe(chain.length);
        // The replayed captures' GPUs are in the bodies, with energy from power integration.
        const models = new Set<string>();
        for (const r of ob.list()) {
          const body = JSON.parse(Buffer.from(ob.private(r.seq)!.body).toString('utf8'));
          for (const g of body.gpus) models.add(g.model);
        }
        const want = {
          h100: 'NVIDIA H100 80GB HBM3',
          h200: 'NVIDIA H200',
          syn: 'NVIDIA H100 80GB HBM3',
        }[n];
        expect([...models]).toEqual([want]);
      } finally {
        ob.close();
      }
      const usage = chain.map((x) => x.s.payload as UsagePayload);
      expect(usage.some((u) => u.energyJ > 0)).toBe(true);
      if (n === 'syn') {
        expect(usage.slice(1).every((u) => u.gpus === 8 && u.workload === 'training')).toBe(true);
      }
    }
    const readings = chainOf(all, isMeter);
    expect(readings.length).toBeGreaterThanOrEqual(5);
    expectContiguous(readings);
    const ob = Outbox.open({ path: join(dir, 'meter.db'), readOnly: true });
    try {
      expect(expectOutboxLogged(ob, all, log.logKey)).toBe(readings.length);
    } finally {
      ob.close();
    }
    // Meter energies telescope: each interval's energy is the counter's increase over it.
    const m = readings.map((x) => x.s.payload as { energyJ: number; counterJ: number });
    for (let i = 1; i < m.length; i++) {
      expect(m[i]!.counterJ - m[i - 1]!.counterJ).toBeCloseTo(m[i]!.energyJ, 2);
      expect(m[i]!.energyJ).toBeGreaterThan(0);
    }
  }, 60_000);
});
