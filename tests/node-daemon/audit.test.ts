/**
 * Issue 5, done when: a valid audit challenge gets bodies that hash to `bodyHash` and samples
 * that verify against the sample root; unsigned, wrong-key, expired and replayed challenges get
 * nothing (401/403, one body per status whatever the reason).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticSamples } from '../../nodes/collectors/synthetic.js';
import {
  AUDIT_401,
  AUDIT_403,
  AUDIT_CHALLENGE_TYPE,
  AUDIT_MAX_CHALLENGE_BYTES,
  type AuditChallenge,
  AuditResponder,
  type AuditResponse,
  auditChallenge,
  checkAuditResponse,
  type DisclosedReport,
  isDisclosed,
  makeAuditChallenge,
  signAuditChallenge,
} from '../../nodes/daemon/audit/index.js';
import { ChainWriter } from '../../nodes/daemon/chain.js';
import { DaemonError } from '../../nodes/daemon/errors.js';
import { LogClient } from '../../nodes/daemon/log-client.js';
import { type RunningNode, startNode } from '../../nodes/daemon/node.js';
import { Outbox } from '../../nodes/daemon/outbox.js';
import { scaledTimer } from '../../nodes/daemon/util.js';
import { publishStatement } from '../../nodes/lab/publish.js';
import { registrationPayload, signLabStatement } from '../../nodes/lab/statements.js';
import { buildIntervalReport } from '../../nodes/report/aggregate.js';
import {
  formatTime,
  jcsBytes,
  PAYLOAD_TYPE,
  signEnvelope,
  type UsagePayload,
} from '../../protocol/src/index.js';
import { fromBase64, fromHex, toBase64, toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { verifySample } from '../../src/merkle/samples.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { silentLogger } from '../../src/util/logger.js';
import { json, type TestLog } from '../helpers/log.js';
import {
  LAB,
  nodeConfig,
  readLog,
  startWorldLog,
  tmp,
  until,
  type World,
  world,
} from './fixtures.js';

const ID = { lab: LAB, facility: 'f1', cluster: 'c1', node: 'n1' };

async function post(
  url: string,
  body: string,
): Promise<{ status: number; text: string; type: string | null }> {
  const r = await fetch(`${url}/v1/audit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
}

describe('the audit API of a running node', () => {
  let w: World;
  let log: TestLog;
  let node: RunningNode;
  let url: string;
  let usage: UsagePayload[];
  let indexes: Map<number, number>;
  /** the last sample of report 1 (40 on a quiet machine; fewer when ticks were missed under load) */
  let last: number;
  const timer = scaledTimer(20, Date.now());
  const nodeNow = () => timer.now();

  beforeAll(async () => {
    w = world(['n1']);
    log = await startWorldLog(w);
    const client = new LogClient({ url: log.url, logKey: parseVerifierKey(log.logKey.vkey) });
    const reg = registrationPayload(
      LAB,
      { action: 'add', nodeKey: parseVerifierKey(w.nodeKeys['n1']!.vkey), ...ID },
      Date.now(),
    );
    await publishStatement(
      signLabStatement(PAYLOAD_TYPE.registration, reg, w.labKey.signer).entry,
      client,
    );
    node = await startNode(
      nodeConfig({
        node: 'n1',
        key: w.nodeKeys['n1']!,
        logUrl: log.url,
        logKey: log.logKey,
        outbox: join(tmp(), 'n1.db'),
        collector: { kind: 'synthetic', seed: 11, workload: 'inference', gpus: 4, periodMs: 1000 },
        intervalSeconds: 10,
        settleMs: 500,
        audit: { listen: '127.0.0.1:0', verifiers: [w.verifierKey.vkey] },
      }),
      { timer, logger: silentLogger(), processMetrics: false },
    );
    url = node.url!;
    await until(
      () => {
        const c = node.outbox.counts();
        return c.total >= 3 && c.unreceipted === 0;
      },
      30_000,
      'three receipted reports',
    );
    const all = await readLog(log.url, log.logKey);
    indexes = new Map();
    usage = [];
    all.forEach((s, i) => {
      if (s.payloadType === PAYLOAD_TYPE.usage) {
        usage.push(s.payload);
        indexes.set(s.payload.seq, i);
      }
    });
    last = usage.find((u) => u.seq === 1)!.samples.count - 1;
    expect(last).toBeGreaterThan(5);
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await log?.close();
  });

  const challenge = (over: Partial<AuditChallenge> = {}): AuditChallenge =>
    makeAuditChallenge(
      { ...ID, reports: [{ seq: 1, samples: [0, 5, last] }], ...over },
      { now: nodeNow },
    );

  it('answers a valid challenge with bodies that hash to bodyHash and samples that verify against the sample root', async () => {
    const c = challenge({
      reports: [
        { seq: 1, samples: [0, 5, last] },
        { index: indexes.get(0)!, samples: [2] },
      ],
    });
    const a = await auditChallenge(url, c, w.verifierKey.signer, { now: nodeNow });
    expect(a.nonce).toBe(c.nonce);
    expect(a.reports.map((r) => r.seq)).toEqual([1, 0]);
    for (const r of a.reports) {
      expect(isDisclosed(r)).toBe(true);
      const d = r as DisclosedReport;
      const u = usage.find((x) => x.seq === d.seq)!;
      expect(toHex(sha256(fromBase64(d.body)))).toBe(u.bodyHash);
      expect(d.index).toBe(indexes.get(d.seq));
      for (const s of d.samples) {
        expect(() =>
          verifySample(
            fromBase64(s.leaf),
            s.position,
            u.samples.count,
            s.proof.map(fromBase64),
            fromHex(u.samples.root),
          ),
        ).not.toThrow();
      }
    }
    expect((a.reports[0] as DisclosedReport).samples.map((s) => s.position)).toEqual([0, 5, last]);
    // The checker the verifier uses finds nothing wrong.
    expect(checkAuditResponse(a, usage.slice(0, 2), { challenge: c, indexes })).toEqual([]);
  });

  it('refuses an unsigned challenge with 401 and the one 401 body', async () => {
    const env = signAuditChallenge(challenge(), w.verifierKey.signer);
    const r = await post(url, JSON.stringify({ ...env, signatures: [] }));
    expect(r.status).toBe(401);
    expect(r.type).toBe('application/problem+json');
    expect(JSON.parse(r.text)).toEqual(AUDIT_401);
  });

  it('refuses unreadable requests (not JSON, another payload type, a schema break, not canonical, too large) with the same 401 body', async () => {
    const c = challenge();
    const bodies = [
      'not json',
      JSON.stringify(signEnvelope(PAYLOAD_TYPE.usage, jcsBytes(c), w.verifierKey.signer)),
      JSON.stringify(
        signEnvelope(
          AUDIT_CHALLENGE_TYPE,
          jcsBytes({ ...c, nonce: 'short' }),
          w.verifierKey.signer,
        ),
      ),
      JSON.stringify(
        signEnvelope(
          AUDIT_CHALLENGE_TYPE,
          new TextEncoder().encode(JSON.stringify(c, null, 1)),
          w.verifierKey.signer,
        ),
      ),
    ];
    bodies.push(`{"payload":"${'A'.repeat(200_000)}"}`); // over the size a node reads
    const answers = await Promise.all(bodies.map((b) => post(url, b)));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it('refuses wrong-key, bad-signature, expired, future, other-node and replayed challenges with the same 403 body', async () => {
    const good = signAuditChallenge(challenge(), w.verifierKey.signer);
    const first = await post(url, JSON.stringify(good));
    expect(first.status).toBe(200);
    const forged = signAuditChallenge(challenge(), w.verifierKey.signer);
    forged.signatures[0]!.sig = toBase64(new Uint8Array(64).fill(7));
    const t = (ms: number) => formatTime(Math.floor((nodeNow() + ms) / 1000));
    const cases = {
      'wrong key': signAuditChallenge(challenge(), w.otherVerifierKey.signer),
      'bad signature': forged,
      expired: signAuditChallenge(challenge({ time: t(-6 * 60_000) }), w.verifierKey.signer),
      future: signAuditChallenge(challenge({ time: t(6 * 60_000) }), w.verifierKey.signer),
      'other node': signAuditChallenge(challenge({ node: 'n2' }), w.verifierKey.signer),
      replayed: good,
    };
    const answers = await Promise.all(
      Object.values(cases).map((e) => post(url, JSON.stringify(e))),
    );
    expect(Object.fromEntries(Object.keys(cases).map((k, i) => [k, answers[i]!.status]))).toEqual({
      'wrong key': 403,
      'bad signature': 403,
      expired: 403,
      future: 403,
      'other node': 403,
      replayed: 403,
    });
    for (const a of answers) expect(JSON.parse(a.text)).toEqual(AUDIT_403);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  });

  it('makes the client throw AUDIT_FORBIDDEN for a key the node does not trust', async () => {
    await expect(
      auditChallenge(
        url,
        { ...ID, reports: [{ seq: 0, samples: [] }] },
        w.otherVerifierKey.signer,
        {
          now: nodeNow,
        },
      ),
    ).rejects.toMatchObject({ code: 'AUDIT_FORBIDDEN' });
  });

  it('says which requested reports it cannot disclose (unknown seq, out-of-range sample)', async () => {
    const a = await auditChallenge(
      url,
      {
        ...ID,
        reports: [
          { seq: 999_999, samples: [] },
          { seq: 0, samples: [1_000_000] },
        ],
      },
      w.verifierKey.signer,
      { now: nodeNow },
    );
    expect(a.reports).toEqual([
      { seq: 999_999, index: null, error: 'REPORT_UNKNOWN' },
      { seq: 0, index: indexes.get(0), error: 'SAMPLE_OUT_OF_RANGE' },
    ]);
  });

  it('serves /openapi.json, /healthz and /metrics', async () => {
    const doc = await json(fetch(`${url}/openapi.json`));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/audit', '/healthz', '/metrics']),
    );
    const h = await json(fetch(`${url}/healthz`));
    expect(h.ok).toBe(true);
    expect(h.chain).toBe(`usage/${LAB}/f1/c1/n1`);
    const m = await (await fetch(`${url}/metrics`)).text();
    expect(m).toMatch(/vpause_node_audit_challenges_total\{result="replayed"\} [1-9]/);
  });
});

describe('the audit responder, without HTTP', () => {
  const w = world(['n1']);
  const now = Date.UTC(2026, 10, 27, 1, 0, 0);
  const iv = { startMs: now - 300_000, endMs: now };
  const samples = syntheticSamples(
    { seed: 1, workload: 'training', gpus: 2 },
    iv.startMs,
    iv.endMs,
  );
  const report = buildIntervalReport(samples, iv, { source: 'synthetic', node: 'f1/c1/n1' });

  function outboxWithOneReport(path: string): { outbox: Outbox; usage: UsagePayload } {
    const outbox = Outbox.open({ path, chain: `usage/${LAB}/f1/c1/n1` });
    const writer = new ChainWriter(outbox, w.nodeKeys['n1']!.signer, PAYLOAD_TYPE.usage, () => now);
    let usage!: UsagePayload;
    writer.append(
      (link) => {
        usage = {
          v: 1,
          ...ID,
          seq: link.seq,
          prev: link.prev,
          start: formatTime(iv.startMs / 1000),
          end: formatTime(iv.endMs / 1000),
          ...report.usage,
        };
        return usage;
      },
      { startMs: iv.startMs, endMs: iv.endMs, body: report.bodyBytes, leaves: report.leaves },
    );
    return { outbox, usage };
  }

  const responder = (outbox: Outbox) =>
    new AuditResponder({
      outbox,
      identity: ID,
      verifiers: [parseVerifierKey(w.verifierKey.vkey)],
      windowMs: 300_000,
      timer: { now: () => now },
    });
  const request = (c: AuditChallenge) =>
    new TextEncoder().encode(JSON.stringify(signAuditChallenge(c, w.verifierKey.signer)));

  it('answers a challenge at most once, also after the outbox is closed and reopened', () => {
    const path = join(tmp(), 'o.db');
    const { outbox } = outboxWithOneReport(path);
    const c = makeAuditChallenge(
      { ...ID, reports: [{ seq: 0, samples: [1] }] },
      { now: () => now },
    );
    expect(responder(outbox).respond(request(c)).status).toBe(200);
    outbox.close();
    const again = Outbox.open({ path, chain: `usage/${LAB}/f1/c1/n1` });
    const o = responder(again).respond(request(c));
    expect(o.status).toBe(403);
    expect(o.status !== 200 && o.reason).toBe('replayed');
    again.close();
  });

  it('accepts a challenge at the edge of the window and refuses one a second beyond it', () => {
    const { outbox } = outboxWithOneReport(join(tmp(), 'o.db'));
    const at = (ms: number) =>
      responder(outbox).respond(
        request(
          makeAuditChallenge(
            { ...ID, reports: [{ seq: 0, samples: [] }], time: formatTime((now + ms) / 1000) },
            { now: () => now },
          ),
        ),
      ).status;
    expect([at(-300_000), at(300_000), at(-301_000), at(301_000)]).toEqual([200, 200, 403, 403]);
    outbox.close();
  });

  describe('checkAuditResponse on a tampered answer', () => {
    const { outbox, usage } = outboxWithOneReport(join(tmp(), 'o.db'));
    const c = makeAuditChallenge(
      { ...ID, reports: [{ seq: 0, samples: [0, 1, 2] }] },
      { now: () => now },
    );
    const o = responder(outbox).respond(request(c));
    outbox.close();
    const answer = (o as { body: AuditResponse }).body;
    const disclosed = answer.reports[0] as DisclosedReport;
    const withReport = (r: Partial<DisclosedReport>): AuditResponse => ({
      ...answer,
      reports: [{ ...disclosed, ...r }],
    });
    const codes = (a: AuditResponse, u: UsagePayload = usage) =>
      checkAuditResponse(a, u, { challenge: c }).map((f) => f.code);

    it('finds nothing wrong in the honest answer', () => {
      expect(o.status).toBe(200);
      expect(codes(answer)).toEqual([]);
    });

    it('flags a body that does not hash to bodyHash (AUDIT_BODY_HASH_MISMATCH)', () => {
      const body = JSON.parse(Buffer.from(fromBase64(disclosed.body)).toString('utf8'));
      body.gpus[0].energyJ += 1;
      expect(codes(withReport({ body: toBase64(jcsBytes(body)) }))).toEqual([
        'AUDIT_BODY_HASH_MISMATCH',
      ]);
    });

    it('flags a sample that does not verify against the sample root (AUDIT_SAMPLE_PROOF_INVALID)', () => {
      const leaf = Buffer.from(fromBase64(disclosed.samples[1]!.leaf))
        .toString('utf8')
        .replace(/"powerW":[0-9.]+/, '"powerW":1');
      const samples = disclosed.samples.map((s, i) =>
        i === 1 ? { ...s, leaf: toBase64(new TextEncoder().encode(leaf)) } : s,
      );
      const f = checkAuditResponse(withReport({ samples }), usage, { challenge: c });
      expect(f.map((x) => [x.code, x.position])).toEqual([['AUDIT_SAMPLE_PROOF_INVALID', 1]]);
    });

    it('flags a withheld sample (AUDIT_SAMPLE_WITHHELD) and a withheld report (AUDIT_REPORT_WITHHELD)', () => {
      expect(codes(withReport({ samples: disclosed.samples.slice(0, 2) }))).toEqual([
        'AUDIT_SAMPLE_WITHHELD',
      ]);
      expect(codes({ ...answer, reports: [] })).toEqual(['AUDIT_REPORT_WITHHELD']);
    });

    it('flags public aggregates the body does not reproduce (under-reported energy and FLOP)', () => {
      // A statement claiming less than the body it commits to: the hash matches, the numbers do not.
      const f = checkAuditResponse(answer, { ...usage, energyJ: usage.energyJ / 2, flop: 0 }, {});
      expect(f.map((x) => [x.code, x.field])).toEqual(
        expect.arrayContaining([
          ['AUDIT_AGGREGATE_MISMATCH', 'energyJ'],
          ['AUDIT_AGGREGATE_MISMATCH', 'flop'],
          ['AUDIT_STATEMENT_MISMATCH', undefined],
        ]),
      );
    });

    it('flags a body whose GPU entries contradict themselves, even with a matching hash', () => {
      const body = JSON.parse(Buffer.from(fromBase64(disclosed.body)).toString('utf8'));
      body.gpus[0].flop = 0; // tensor activity reported, no FLOP
      const bytes = jcsBytes(body);
      const forgedUsage = {
        ...usage,
        bodyHash: toHex(sha256(bytes)),
        flop: usage.flop - report.body.gpus[0]!.flop,
      };
      const f = checkAuditResponse(withReport({ body: toBase64(bytes) }), forgedUsage, {});
      expect(f.map((x) => x.code)).toContain('AUDIT_GPU_INCONSISTENT');
      expect(f.map((x) => x.code)).not.toContain('AUDIT_AGGREGATE_MISMATCH');
    });

    it('flags an answer that does not echo the nonce (AUDIT_NONCE_MISMATCH)', () => {
      expect(codes({ ...answer, nonce: 'ab'.repeat(16) })).toEqual(['AUDIT_NONCE_MISMATCH']);
    });
  });

  it('refuses to build a challenge that breaks the schema (DAEMON_CONFIG_INVALID)', () => {
    expect(() =>
      makeAuditChallenge({ ...ID, reports: [{ seq: 1, index: 2, samples: [] }] }),
    ).toThrow(DaemonError);
    expect(() => makeAuditChallenge({ ...ID, reports: [] })).toThrow(/reports/);
  });
});

describe('the audit challenge schema', () => {
  it('accepts up to 4096 sample positions in all and refuses one more', () => {
    const reports = (n: number) =>
      Array.from({ length: 4 }, (_, i) => ({
        seq: i,
        samples: Array.from({ length: n }, (_, k) => k),
      }));
    expect(() => makeAuditChallenge({ ...ID, reports: reports(1024) })).not.toThrow();
    const over = reports(1024);
    over.push({ seq: 9, samples: [0] });
    expect(() => makeAuditChallenge({ ...ID, reports: over })).toThrow(/4096/);
  });

  it('fits the largest challenge in the size a node reads', () => {
    const w = world(['n1']);
    const reports = Array.from({ length: 4 }, (_, i) => ({
      seq: 1_000_000 + i,
      samples: Array.from({ length: 1024 }, (_, k) => 100_000 + k),
    }));
    const env = signAuditChallenge(makeAuditChallenge({ ...ID, reports }), w.verifierKey.signer);
    expect(JSON.stringify(env).length).toBeLessThanOrEqual(AUDIT_MAX_CHALLENGE_BYTES);
  });
});
