import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogClient, verifyReceipt } from '../../nodes/daemon/log-client.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import {
  inventoryFromYaml,
  labOfKey,
  pauseFromYaml,
  registrationPayload,
  signLabStatement,
} from '../../nodes/lab/statements.js';
import { PAYLOAD_TYPE, parseEntry } from '../../protocol/src/index.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { TestLog } from '../helpers/log.js';
import { runVpause } from '../helpers/proc.js';
import { testKey } from '../helpers/world.js';
import { LAB, startWorldLog, tmp, type World, world } from '../node-daemon/fixtures.js';

const EXAMPLES = join(process.cwd(), 'examples');
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('the lab statements', () => {
  const w = world(['n1']);

  it('take the lab from the root key name and refuse a key not named <lab>/root', () => {
    expect(labOfKey(w.labKey.signer)).toBe(LAB);
    expect(() => labOfKey(w.nodeKeys['n1']!.signer)).toThrow(
      expect.objectContaining({ code: 'DAEMON_CONFIG_INVALID' }),
    );
  });

  it('build a registration whose time defaults to now, in whole seconds', () => {
    const p = registrationPayload(
      LAB,
      {
        action: 'add',
        nodeKey: parseVerifierKey(w.nodeKeys['n1']!.vkey),
        facility: 'f1',
        cluster: 'c1',
        node: 'n1',
      },
      NOW + 999,
    );
    expect(p).toEqual({
      v: 1,
      lab: LAB,
      action: 'add',
      role: 'node',
      key: w.nodeKeys['n1']!.vkey,
      facility: 'f1',
      cluster: 'c1',
      node: 'n1',
      time: '2026-11-27T12:00:00Z',
    });
  });

  it('read examples/inventory.yaml and examples/pause.yaml into schema-valid payloads', () => {
    const inv = inventoryFromYaml(readFileSync(join(EXAMPLES, 'inventory.yaml'), 'utf8'), LAB, NOW);
    expect(inv.lab).toBe(LAB);
    expect(inv.time).toBe('2026-11-27T00:00:00Z');
    expect(inv.nodes).toHaveLength(3);
    const pause = pauseFromYaml(readFileSync(join(EXAMPLES, 'pause.yaml'), 'utf8'), LAB);
    expect(pause).toEqual({
      v: 1,
      lab: LAB,
      id: 'pause-1',
      start: '2026-11-27T00:00:00Z',
      end: null,
      scope: ['*'],
      limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle', 'inference', 'maintenance'] },
      reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
    });
    // Both sign as statements the protocol parser accepts.
    for (const [t, p] of [
      [PAYLOAD_TYPE.inventory, inv],
      [PAYLOAD_TYPE.pause, pause],
    ] as const) {
      const st = signLabStatement(t, p as never, w.labKey.signer);
      expect(parseEntry(st.entry).payloadType).toBe(t);
    }
  });

  describe('when the YAML is wrong', () => {
    it.each([
      [
        'a node listed twice',
        'nodes:\n  - {facility: f1, cluster: c1, node: a, gpus: 1, model: H100}\n  - {facility: f1, cluster: c1, node: a, gpus: 2, model: H100}\n',
        /nodes\.1: node f1\/c1\/a listed twice/,
      ],
      [
        'another lab',
        `lab: lab-b.example\nnodes: []\n`,
        /lab lab-b.example is not the lab of the key/,
      ],
      [
        'a negative GPU count',
        'nodes:\n  - {facility: f1, cluster: c1, node: a, gpus: -1, model: H100}\n',
        /nodes\.0\.gpus/,
      ],
      ['an unknown key', 'nodes: []\nfleet: []\n', /fleet/],
    ])('refuses an inventory with %s (DAEMON_CONFIG_INVALID)', (_, text, re) => {
      expect(() => inventoryFromYaml(text, LAB, NOW)).toThrow(re);
    });

    it('refuses a pause whose end is not after its start', () => {
      const text = readFileSync(join(EXAMPLES, 'pause.yaml'), 'utf8').replace(
        /^end: null$/m,
        'end: 2026-11-26T00:00:00Z',
      );
      expect(() => pauseFromYaml(text, LAB)).toThrow(/end: end must be after start/);
    });
  });
});

describe('publishing a lab statement', () => {
  let w: World;
  let log: TestLog;
  beforeAll(async () => {
    w = world(['n1']);
    log = await startWorldLog(w);
  });
  afterAll(async () => log.close());

  const registration = (node: string) =>
    signLabStatement(
      PAYLOAD_TYPE.registration,
      registrationPayload(
        LAB,
        {
          action: 'add',
          nodeKey: parseVerifierKey(testKey(`${LAB}/${node}`).vkey),
          facility: 'f1',
          cluster: 'c1',
          node,
        },
        NOW,
      ),
      w.labKey.signer,
    ).entry;

  it('retries through 503 pushback and returns the index with a receipt that verifies', async () => {
    let refused = 0;
    const f: typeof fetch = async (i, init) => {
      if (init?.method === 'POST' && refused++ < 2) {
        return new Response('{"code":"LOG_PUSHBACK"}', {
          status: 503,
          headers: { 'retry-after': '0' },
        });
      }
      return fetch(i, init);
    };
    const entry = registration('p1');
    const logKey = parseVerifierKey(log.logKey.vkey);
    const p = await publishStatement(entry, new LogClient({ url: log.url, logKey, fetch: f }), {
      backoff: { minMs: 1, maxMs: 5 },
    });
    expect(refused).toBe(3);
    expect(() => verifyReceipt(p.receipt.text, { entry, index: p.index, logKey })).not.toThrow();
  });

  it('fails with LOG_REJECTED and the log problem code when the log refuses the statement', async () => {
    const stranger = testKey('lab-z.example/root');
    const st = signLabStatement(
      PAYLOAD_TYPE.inventory,
      inventoryFromYaml('nodes: []', 'lab-z.example', NOW),
      stranger.signer,
    );
    const client = new LogClient({ url: log.url, logKey: parseVerifierKey(log.logKey.vkey) });
    await expect(publishStatement(st.entry, client)).rejects.toMatchObject({
      code: 'LOG_REJECTED',
      message: expect.stringContaining('ADMIT_NOT_ADMITTED'),
    });
  });

  it('fails with RECEIPT_TIMEOUT when no checkpoint covers the entry in time', async () => {
    const f: typeof fetch = async (i, init) =>
      String(i).includes('/v1/receipt/') ? new Response('{}', { status: 404 }) : fetch(i, init);
    const client = new LogClient({
      url: log.url,
      logKey: parseVerifierKey(log.logKey.vkey),
      fetch: f,
    });
    await expect(
      publishStatement(registration('p2'), client, { timeoutMs: 200 }),
    ).rejects.toMatchObject({
      code: 'RECEIPT_TIMEOUT',
    });
  });

  it('fails with RECEIPT_INVALID when the receipt is signed by another log key', async () => {
    const client = new LogClient({
      url: log.url,
      logKey: parseVerifierKey(testKey('log.example/log-other').vkey),
    });
    await expect(publishStatement(registration('p3'), client)).rejects.toMatchObject({
      code: 'RECEIPT_INVALID',
    });
  });
});

describe('vpause lab (real processes against a log)', () => {
  let w: World;
  let log: TestLog;
  let dir: string;
  const f = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, `${text}\n`, { mode: 0o600 });
    return p;
  };
  beforeAll(async () => {
    w = world(['n1']);
    log = await startWorldLog(w);
    dir = tmp('vpause-lab-');
  });
  afterAll(async () => log.close());

  it('registers and revokes a node, declares inventory and a pause, printing each log index', async () => {
    const common = [
      '--key',
      f('lab.key', w.labKey.privateKey),
      '--log',
      log.url,
      '--log-key',
      f('log.vkey', log.logKey.vkey),
    ];
    const node = [
      '--node-key',
      f('n1.vkey', w.nodeKeys['n1']!.vkey),
      '--facility',
      'f1',
      '--cluster',
      'c1',
      '--node',
      'n1',
    ];
    const receipt = join(dir, 'reg.tlog-proof');
    const reg = await runVpause(['lab', 'register-node', ...common, ...node, '--receipt', receipt]);
    expect(reg).toEqual({ code: 0, stdout: '0\n', stderr: '' });
    expect(readFileSync(receipt, 'utf8')).toMatch(/^c2sp.org\/tlog-proof@v1\nindex 0\n/);
    const [inv, pause] = await Promise.all([
      runVpause([
        'lab',
        'inventory',
        ...common,
        '--file',
        join(EXAMPLES, 'inventory.yaml'),
        '--json',
      ]),
      runVpause(['lab', 'declare-pause', ...common, '--file', join(EXAMPLES, 'pause.yaml')]),
    ]);
    expect([inv.code, pause.code]).toEqual([0, 0]);
    const j = JSON.parse(inv.stdout);
    expect(j).toMatchObject({
      index: expect.any(Number),
      leafHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(new Set([j.index, Number(pause.stdout)])).toEqual(new Set([1, 2]));
    const rev = await runVpause(['lab', 'revoke-node', ...common, ...node]);
    expect(rev).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    const entry = await (await fetch(`${log.url}/v1/entries/3`)).arrayBuffer();
    const p = parseEntry(new Uint8Array(entry));
    expect(p.payloadType === PAYLOAD_TYPE.registration && p.payload.action).toBe('revoke');
  }, 60_000);

  it('fails with one line and a non-zero status: wrong key name (2), bad YAML (2), refused by the log (1)', async () => {
    const logVkey = f('log2.vkey', log.logKey.vkey);
    const [wrongKey, badYaml, refused] = await Promise.all([
      runVpause([
        'lab',
        'inventory',
        '--key',
        f('node.key', w.nodeKeys['n1']!.privateKey),
        '--log',
        log.url,
        '--log-key',
        logVkey,
        '--file',
        join(EXAMPLES, 'inventory.yaml'),
      ]),
      runVpause([
        'lab',
        'declare-pause',
        '--key',
        f('lab2.key', w.labKey.privateKey),
        '--log',
        log.url,
        '--log-key',
        logVkey,
        '--file',
        f('bad.yaml', 'id: ['),
      ]),
      runVpause([
        'lab',
        'inventory',
        '--key',
        f('z.key', testKey('lab-z.example/root').privateKey),
        '--log',
        log.url,
        '--log-key',
        logVkey,
        '--file',
        join(EXAMPLES, 'inventory.yaml'),
      ]),
    ]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/^vpause: key lab-a.example\/n1 is not a lab root key .*\n$/);
    expect(badYaml.code).toBe(2);
    expect(badYaml.stderr).toMatch(/^vpause: .*bad\.yaml: not valid YAML.*\n$/);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^vpause: log refused the statement: .*ADMIT_NOT_ADMITTED.*\(LOG_REJECTED\)\n$/,
    );
    for (const r of [wrongKey, badYaml, refused]) expect(r.stdout).toBe('');
  }, 60_000);
});
