/**
 * The facility meter daemon in process: a replayed CSV of cumulative readings becomes chained
 * meter statements in the log, each with a verified receipt, and a restart continues the chain
 * and the counter where the outbox left them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { scaledTimer } from '../../nodes/daemon/util.js';
import { startMeter } from '../../nodes/meter/meter.js';
import { formatTime, type MeterPayload } from '../../protocol/src/index.js';
import { silentLogger } from '../../src/util/logger.js';
import {
  chainOf,
  expectContiguous,
  expectOutboxLogged,
  isMeter,
  meterConfig,
  readLog,
  startWorldLog,
  tmp,
  until,
  world,
} from '../node-daemon/fixtures.js';

describe('the meter daemon', () => {
  it('signs one reading per interval from a replayed CSV and continues the chain after a restart', async () => {
    const w = world([]);
    const log = await startWorldLog(w);
    const dir = tmp('vpause-meter-');
    // A 1 kW feed read every 7 s (readings fall between the interval edges): 60 kJ a minute.
    const rows = ['time,counterJ'];
    for (let t = 0; t <= 7200; t += 7) rows.push(`${t * 1000},${5e9 + 1000 * t}`);
    const csv = join(dir, 'readings.csv');
    writeFileSync(csv, rows.join('\n'));
    const anchor = Math.floor(Date.now() / 60_000) * 60_000;
    const timer = scaledTimer(60, anchor); // a minute a second
    const cfg = meterConfig({
      key: w.meterKey,
      logUrl: log.url,
      logKey: log.logKey,
      outbox: join(dir, 'm1.db'),
      intervalSeconds: 60,
      settleMs: 0,
      source: { kind: 'replay', file: csv, shiftTo: formatTime(anchor / 1000) },
    });
    const deps = { timer, logger: silentLogger(), processMetrics: false };
    const received = (o: Outbox, n: number) => {
      const c = o.counts();
      return c.total >= n && c.unreceipted === 0;
    };

    const first = await startMeter(cfg, deps);
    await until(() => received(first.outbox, 2), 30_000, 'two readings');
    await first.close();
    const second = await startMeter(cfg, deps);
    const before = second.status().nextSeq;
    await until(() => received(second.outbox, before + 2), 30_000, 'two more readings');
    await second.close();

    const all = await readLog(log.url, log.logKey);
    const chain = chainOf(all, isMeter);
    expectContiguous(chain);
    const ob = Outbox.open({ path: join(dir, 'm1.db'), readOnly: true });
    expect(expectOutboxLogged(ob, all, log.logKey)).toBe(chain.length);
    ob.close();
    const m = chain.map((x) => x.s.payload as MeterPayload);
    expect(m[0]!.start).toBe(formatTime(anchor / 1000));
    for (let i = 0; i < m.length; i++) {
      // Exactly 60 kJ per minute, interpolated between readings 7 s apart, across the restart.
      expect(m[i]!.energyJ).toBeCloseTo(60_000, 3);
      expect(m[i]!.counterJ).toBeCloseTo(5e9 + 60_000 * (i + 1), 3);
      if (i > 0) expect(m[i]!.start).toBe(m[i - 1]!.end);
    }
    await log.close();
  }, 60_000);
});
