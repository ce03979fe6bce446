import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jcsBytes, PAYLOAD_TYPE, signEnvelope } from '../../protocol/src/index.js';
import { utf8 } from '../../src/core/bytes.js';
import type { VPauseError } from '../../src/core/errors.js';
import { type AdmitIndex, admitVkeys, indexAdmitList } from '../../src/log/admission.js';
import { createLogMetrics } from '../../src/log/metrics.js';
import { WorkerPreparer } from '../../src/log/prepare-pool.js';
import { type BatchResult, LogService } from '../../src/log/service.js';
import { MemoryStorage } from '../../src/log/storage/memory.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { silentLogger } from '../../src/util/logger.js';
import { iso, statement, T0, TestLab, testKey } from '../helpers/world.js';

/**
 * The preparation pool (src/log/prepare-pool.ts): submissions parsed and verified on worker
 * threads give exactly the answers of the inline path, admission decisions still come from the
 * log's own key table, and the pool survives a dying worker and shuts down cleanly.
 */

const labA = new TestLab('lab-a.example');
const labB = new TestLab('lab-b.example');
const stranger = testKey('lab-c.example/root');
const meterKey = testKey('meter-f1.example');

function admitIndex(): AdmitIndex {
  return indexAdmitList({
    labs: [
      { lab: 'lab-a.example', key: parseVerifierKey(labA.root.vkey), line: 1 },
      { lab: 'lab-b.example', key: parseVerifierKey(labB.root.vkey), line: 2 },
    ],
    meters: [{ facility: 'f1', key: parseVerifierKey(meterKey.vkey), line: 3 }],
  });
}

function service(
  threads: number,
  storage = new MemoryStorage(),
  metrics = createLogMetrics(undefined, false),
) {
  return new LogService({
    storage,
    signer: testKey('pool.example/log').signer,
    admit: admitIndex(),
    logger: silentLogger(),
    metrics,
    integrateIntervalMs: 20,
    threads,
  });
}

/** What a client sees of a result: the index and leaf hash, or the error code and detail. */
function outcome(r: BatchResult): string {
  if ('error' in r) return `error ${r.error.code}: ${r.error.message}`;
  return `ok ${r.index} ${r.leafHash} ${r.duplicate}`;
}

async function single(svc: LogService, body: Uint8Array): Promise<string> {
  try {
    return outcome(await svc.submit(body));
  } catch (e) {
    return outcome({ error: e as VPauseError });
  }
}

const envelopeWith = (payloadType: string, payload: Uint8Array, signer = labA.root.signer) =>
  jcsBytes(signEnvelope(payloadType, payload, signer));
const registrationPayload = (node = 'n3') => ({
  v: 1,
  lab: 'lab-a.example',
  action: 'add',
  role: 'node',
  key: labA.nodeKey(node).vkey,
  facility: 'f1',
  cluster: 'c1',
  node,
  time: '2026-11-27T00:00:00Z',
});
const meterReading = (seq: number, signer = meterKey.signer) =>
  statement(
    PAYLOAD_TYPE.meter,
    {
      v: 1,
      facility: 'f1',
      meter: 'm1',
      seq,
      prev: '0'.repeat(64),
      start: iso(T0),
      end: iso(T0 + 300_000),
      energyJ: 2.1e8,
      counterJ: 9.87e12,
    },
    signer,
  ).body;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const obj = (b: Uint8Array) => JSON.parse(text(b));
const withBadSig = (b: Uint8Array) => {
  const e = obj(b);
  const sig = Buffer.from(e.signatures[0].sig, 'base64');
  sig[10] = sig[10]! ^ 1;
  e.signatures[0].sig = sig.toString('base64');
  return utf8(JSON.stringify(e));
};

/**
 * A script of submissions covering every class of good and bad statement (the classes of
 * bad-input.test.ts, and more), in an order where admission depends on what came before.
 */
function script(): Uint8Array[] {
  const n1 = labA.register('n1').body;
  const n9 = labA.register('n9').body;
  const u1 = labA.usage('n1').body;
  const revokedUsage = labA.usage('n9').body;
  const reusedSeq = (() => {
    const n = labA.nodes.get('n1')!;
    const saved = { seq: n.seq, prev: n.prev };
    n.seq = 0;
    const b = labA.usage('n1', { energyJ: 999 }).body;
    Object.assign(n, saved);
    return b;
  })();
  return [
    n1,
    labA.register('n2').body,
    u1,
    n9,
    labA.register('n9', 'revoke').body,
    revokedUsage,
    reusedSeq,
    u1, // duplicate
    labA.usage('n1').body,
    withBadSig(labA.usage('n1').body), // bad signature by a registered node key
    withBadSig(labA.register('n4').body), // bad signature by a root key
    utf8('{"payloadType":'),
    envelopeWith('application/vnd.example+json', jcsBytes(registrationPayload())),
    envelopeWith(PAYLOAD_TYPE.registration, jcsBytes({ ...registrationPayload(), extra: 1 })),
    utf8(JSON.stringify({ ...obj(labA.register('n3').body), signatures: [] })),
    envelopeWith(
      PAYLOAD_TYPE.registration,
      jcsBytes({ ...registrationPayload(), lab: 'lab-c.example' }),
      stranger.signer,
    ),
    envelopeWith(PAYLOAD_TYPE.registration, jcsBytes(registrationPayload()), labB.root.signer),
    labA.usage('n2', {}, labA.nodeKey('n1').signer).body, // a node key for another node
    labA.usage('n7').body, // unregistered
    utf8(`{"x":"${'a'.repeat(70_000)}"}`),
    new Uint8Array(0),
    utf8(`${'['.repeat(5000)}${']'.repeat(5000)}`),
    new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    envelopeWith(PAYLOAD_TYPE.registration, utf8(JSON.stringify(registrationPayload(), null, 1))),
    envelopeWith(
      PAYLOAD_TYPE.registration,
      utf8(text(jcsBytes(registrationPayload())).replace('{', '{"action":"revoke",')),
    ),
    utf8(JSON.stringify({ ...obj(labA.register('n3').body), payload: '***' })),
    utf8(JSON.stringify(obj(labA.register('n3').body), null, 2)), // non-canonical envelope: fine
    meterReading(0),
    meterReading(1, stranger.signer), // not an admitted meter key
    withBadSig(meterReading(2)),
    labA.register('n1', 'add', 'f2'), // a key already registered for another node
  ].map((b) => (b instanceof Uint8Array ? b : b.body));
}

describe('the preparation pool', () => {
  let inline: LogService;
  let pooled: LogService;
  beforeAll(async () => {
    inline = service(0);
    pooled = service(2);
    await Promise.all([inline.start(), pooled.start()]);
    expect(pooled.preparation.threads).toBe(2);
  });
  afterAll(async () => {
    await Promise.all([inline.close(), pooled.close()]);
  });

  it('answers every good and bad submission exactly as the inline path does, one by one', async () => {
    const bodies = script();
    const a: string[] = [];
    const b: string[] = [];
    for (const body of bodies) {
      a.push(await single(inline, body));
      b.push(await single(pooled, body));
    }
    expect(b).toEqual(a);
    // The script does exercise both sides of admission.
    expect(a.filter((x) => x.startsWith('ok')).length).toBeGreaterThanOrEqual(8);
    const codes = new Set(a.filter((x) => x.startsWith('error')).map((x) => x.split(':')[0]));
    expect(codes.size).toBeGreaterThanOrEqual(14);
  });

  it('answers batches exactly as the inline path does', async () => {
    const [x, y] = [service(0), service(2)];
    await Promise.all([x.start(), y.start()]);
    try {
      const bodies = script();
      // Registrations first (admission of a batch sees only what was sequenced before it).
      const head = bodies.slice(0, 5);
      const a = [...(await x.submitBatch(head)), ...(await x.submitBatch(bodies))].map(outcome);
      const b = [...(await y.submitBatch(head)), ...(await y.submitBatch(bodies))].map(outcome);
      expect(b).toEqual(a);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('admits a usage report sent right after the registration of its key', async () => {
    const lab = new TestLab('lab-a.example');
    const svc = service(2);
    await svc.start();
    try {
      for (let i = 0; i < 20; i++) {
        const node = `race${i}`;
        expect((await svc.submit(lab.register(node).body)).duplicate).toBe(false);
        const r = await svc.submit(lab.usage(node).body);
        expect(r.index).toBeGreaterThan(0);
      }
    } finally {
      await svc.close();
    }
  });

  // The inline preparer (one core) reads and checks ahead exactly as a worker does.
  it.each([
    ['a pool', 1],
    ['the inline preparer', 0],
  ])(
    'verifies inline what %s does not know yet, and then checks the key ahead',
    async (_, threads) => {
      const lab = new TestLab('lab-a.example');
      const storage = new MemoryStorage();
      const first = service(0, storage);
      await first.start();
      await first.submit(lab.register('late').body);
      await first.close();
      // A fresh preparer over the same storage: it knows only the admission list's keys.
      const svc = service(threads, storage);
      await svc.start();
      try {
        const bad = withBadSig(lab.usage('late').body);
        const [p] = await svc.preparation.prepare([bad]);
        expect('outcomes' in p! && p.outcomes.size).toBe(0);
        await expect(svc.submit(bad)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
        lab.nodes.get('late')!.seq = 0;
        const good = lab.usage('late').body;
        expect((await svc.submit(good)).index).toBe(1);
        // The key was pushed to the worker: the next report comes with its outcome computed.
        const [q] = await svc.preparation.prepare([lab.usage('late').body]);
        expect('outcomes' in q! && [...q.outcomes.values()]).toEqual([null]);
      } finally {
        await svc.close();
      }
    },
  );

  it('refuses a revoked key even though its signature verifies', async () => {
    const lab = new TestLab('lab-a.example');
    const svc = service(2);
    await svc.start();
    try {
      await svc.submit(lab.register('gone').body);
      await svc.submit(lab.usage('gone').body);
      await svc.submit(lab.register('gone', 'revoke').body);
      const body = lab.usage('gone').body;
      const [p] = await svc.preparation.prepare([body]);
      expect('outcomes' in p! && p.outcomes.get(lab.nodeKey('gone').vkey)).toBeNull();
      await expect(svc.submit(body)).rejects.toMatchObject({ code: 'ADMIT_REVOKED' });
    } finally {
      await svc.close();
    }
  });

  it('fails the work of a dying worker cleanly, replaces it and goes on', async () => {
    const lab = new TestLab('lab-a.example');
    const pool = new WorkerPreparer(2, admitVkeys(admitIndex()));
    await pool.ready();
    try {
      const bodies = Array.from({ length: 600 }, (_, i) => lab.register(`c${i}`).body);
      const pending = pool.prepare(bodies);
      await new Promise((r) => setImmediate(r)); // dispatched
      const [victim] = pool.workers;
      await victim!.terminate();
      const got = await pending;
      expect(got).toHaveLength(600);
      const failed = got.filter((p) => 'error' in p);
      for (const f of failed) {
        expect((f as { error: VPauseError }).error.code).toBe('UNAVAILABLE');
      }
      expect(pool.restarts).toBe(1);
      expect(pool.workers).not.toContain(victim);
      // The replacement knows the admission list's keys: root signatures verify ahead.
      const again = await pool.prepare(bodies.slice(0, 300));
      for (const p of again) {
        expect('outcomes' in p && [...p.outcomes.values()]).toEqual([null]);
      }
    } finally {
      await pool.close();
    }
  });

  it('finishes work in flight on close, then refuses new work', async () => {
    const lab = new TestLab('lab-a.example');
    const pool = new WorkerPreparer(2, admitVkeys(admitIndex()));
    await pool.ready();
    const bodies = Array.from({ length: 300 }, (_, i) => lab.register(`s${i}`).body);
    const pending = pool.prepare(bodies);
    await pool.close();
    const got = await pending;
    expect(got.every((p) => 'outcomes' in p)).toBe(true);
    const after = await pool.prepare([bodies[0]!]);
    expect(after[0]).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    expect(pool.workers).toHaveLength(0);
  });

  it('learns a reloaded admission list', async () => {
    const svc = service(1);
    await svc.start();
    try {
      const lab = new TestLab('lab-d.example');
      const body = lab.register('n1').body;
      await expect(svc.submit(body)).rejects.toMatchObject({ code: 'ADMIT_NOT_ADMITTED' });
      const list = admitIndex();
      svc.setAdmitList({
        labs: new Map([...list.labs, ['lab-d.example', [parseVerifierKey(lab.root.vkey)]]]),
        meters: list.meters,
      });
      const [p] = await svc.preparation.prepare([body]);
      expect('outcomes' in p! && [...p.outcomes.values()]).toEqual([null]);
      expect((await svc.submit(body)).index).toBe(0);
    } finally {
      await svc.close();
    }
  });
  it.each([
    ['a pool', 2],
    ['the inline preparer', 0],
  ])('counts the bodies %s read in one pass and those it parsed', async (_, threads) => {
    const metrics = createLogMetrics(undefined, false);
    const svc = service(threads, new MemoryStorage(), metrics);
    await svc.start();
    try {
      const lab = new TestLab('lab-a.example');
      await svc.submit(lab.register('p1').body); // a registration: parsed
      await svc.submitBatch([lab.usage('p1').body, lab.usage('p1').body]); // canonical: packed
      const spaced = JSON.stringify(obj(lab.usage('p1').body), null, 1); // not canonical: parsed
      expect((await svc.submit(utf8(spaced))).index).toBe(3);
      const got = await metrics.prepared.get();
      const by = Object.fromEntries(got.values.map((v) => [v.labels.path, v.value]));
      expect(by).toEqual({ packed: 2, parsed: 2 });
    } finally {
      await svc.close();
    }
  });
});
