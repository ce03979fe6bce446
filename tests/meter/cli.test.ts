/** `vpause meter run` and `vpause node run` as real processes: start, sign, stop; bad configs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { json } from '../helpers/log.js';
import { runVpause, startVpause } from '../helpers/proc.js';
import {
  chainOf,
  isMeter,
  readLog,
  startWorldLog,
  tmp,
  until,
  world,
} from '../node-daemon/fixtures.js';

describe('vpause meter run', () => {
  it('signs meter readings into the log until SIGTERM, then exits 0 with its outbox drained', async () => {
    const w = world([]);
    const log = await startWorldLog(w);
    const dir = tmp('vpause-meter-cli-');
    const f = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, `${text}\n`, { mode: 0o600 });
      return p;
    };
    f('m1.key', w.meterKey.privateKey);
    f('log.vkey', log.logKey.vkey);
    const cfg = f(
      'meter.yaml',
      [
        'identity: { facility: f1, meter: m1 }',
        'key: m1.key',
        `log: { url: "${log.url}", key: log.vkey }`,
        'intervalSeconds: 1',
        'settleMs: 50',
        'source: { kind: synthetic, seed: 2, periodMs: 100, gpus: [{ model: H100, count: 8, workload: training }] }',
        'outbox: state/m1.db',
        'listen: "127.0.0.1:0"',
      ].join('\n'),
    );
    const p = startVpause(['meter', 'run', '--config', cfg]);
    try {
      const m = await p.waitFor(/meter f1\/m1 running \(next seq 0\); health on (\S+)\n/);
      await until(
        async () => {
          const h = await json(fetch(`${m[1]}/healthz`)).catch(() => undefined);
          return h !== undefined && h.outbox.total >= 2 && h.outbox.unreceipted === 0;
        },
        30_000,
        'two receipted meter readings',
      );
    } finally {
      expect(await p.kill('SIGTERM')).toBe(0);
    }
    const ob = Outbox.open({ path: join(dir, 'state/m1.db'), readOnly: true });
    const rows = ob.list();
    ob.close();
    const chain = chainOf(await readLog(log.url, log.logKey), isMeter);
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(rows.filter((r) => r.receipt !== null).length).toBeGreaterThanOrEqual(2);
    await log.close();
  }, 60_000);

  it('exits 2 with one line naming the problem for an invalid configuration', async () => {
    const dir = tmp('vpause-meter-cli-');
    const cfg = join(dir, 'meter.yaml');
    writeFileSync(cfg, 'identity: { facility: f1 }\n');
    const node = join(dir, 'node.yaml');
    writeFileSync(
      node,
      'identity: { lab: lab-a.example, facility: f1, cluster: c1, node: n1 }\nintervalSeconds: 7\n',
    );
    const [m, n] = await Promise.all([
      runVpause(['meter', 'run', '--config', cfg]),
      runVpause(['node', 'run', '--config', node]),
    ]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/^vpause: .*meter\.yaml: identity\.meter: .*\n$/);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/^vpause: .*node\.yaml: .*\n$/);
    expect(n.stderr.split('\n')).toHaveLength(2);
  }, 30_000);
});
