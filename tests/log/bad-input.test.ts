import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jcsBytes, PAYLOAD_TYPE, signEnvelope } from '../../protocol/src/index.js';
import { utf8 } from '../../src/core/bytes.js';
import { json, startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { TestLab, testKey } from '../helpers/world.js';

/**
 * Bad input: each class of bad statement is refused with its problem type, nothing is stored,
 * and the server still answers afterwards.
 */
describe('the log refuses bad statements', () => {
  const labA = new TestLab('lab-a.example');
  const labB = new TestLab('lab-b.example');
  const stranger = testKey('lab-c.example/root');
  let t: TestLog;
  let revokedUsage: Uint8Array;
  let reusedSeq: Uint8Array;

  beforeAll(async () => {
    t = await startTestLog(`lab ${labA.root.vkey}\nlab ${labB.root.vkey}\n`);
    const setup = [
      labA.register('n1').body,
      labA.register('n2').body,
      labA.usage('n1').body,
      labA.register('n9').body,
    ];
    for (const b of setup) expect((await t.post('/v1/statements', b)).status).toBe(200);
    // n9's key is revoked; a later report signed by it must be refused.
    revokedUsage = labA.usage('n9').body;
    expect((await t.post('/v1/statements', labA.register('n9', 'revoke').body)).status).toBe(200);
    // A second, different statement claiming n1's seq 0.
    labA.nodes.get('n1')!.seq = 0;
    reusedSeq = labA.usage('n1', { energyJ: 999 }).body;
    await waitForSize(t.url, 5);
  });
  afterAll(() => t.close());

  const envelopeWith = (payloadType: string, payload: Uint8Array, signer = labA.root.signer) =>
    jcsBytes(signEnvelope(payloadType, payload, signer));
  const registrationPayload = () => ({
    v: 1,
    lab: 'lab-a.example',
    action: 'add',
    role: 'node',
    key: labA.nodeKey('n3').vkey,
    facility: 'f1',
    cluster: 'c1',
    node: 'n3',
    time: '2026-11-27T00:00:00Z',
  });
  const good = () => JSON.parse(new TextDecoder().decode(labA.register('n3').body));

  const cases: {
    name: string;
    body: () => Uint8Array | string;
    type: string;
    status: number;
    ct?: string;
  }[] = [
    {
      name: 'malformed JSON',
      body: () => '{"payloadType":',
      type: 'entry-malformed-json',
      status: 400,
    },
    {
      name: 'wrong payloadType',
      body: () => envelopeWith('application/vnd.example+json', jcsBytes(registrationPayload())),
      type: 'payload-type-unknown',
      status: 400,
    },
    {
      name: 'schema violation (unknown key in payload)',
      body: () =>
        envelopeWith(PAYLOAD_TYPE.registration, jcsBytes({ ...registrationPayload(), extra: 1 })),
      type: 'payload-schema',
      status: 400,
    },
    {
      name: 'bad signature',
      body: () => {
        const e = good();
        const sig = Buffer.from(e.signatures[0].sig, 'base64');
        sig[10] = sig[10]! ^ 1;
        e.signatures[0].sig = sig.toString('base64');
        return JSON.stringify(e);
      },
      type: 'signature-invalid',
      status: 400,
    },
    {
      name: 'missing signature',
      body: () => JSON.stringify({ ...good(), signatures: [] }),
      type: 'signature-missing',
      status: 400,
    },
    {
      name: 'unknown key (lab not admitted)',
      body: () =>
        envelopeWith(
          PAYLOAD_TYPE.registration,
          jcsBytes({ ...registrationPayload(), lab: 'lab-c.example' }),
          stranger.signer,
        ),
      type: 'admit-not-admitted',
      status: 403,
    },
    {
      name: "another lab's key",
      body: () =>
        envelopeWith(PAYLOAD_TYPE.registration, jcsBytes(registrationPayload()), labB.root.signer),
      type: 'admit-wrong-lab',
      status: 403,
    },
    {
      name: 'a node key used for a different node',
      body: () => labA.usage('n2', {}, labA.nodeKey('n1').signer).body,
      type: 'admit-wrong-node',
      status: 403,
    },
    {
      name: 'an unregistered node key',
      body: () => labA.usage('n7').body,
      type: 'admit-unknown-key',
      status: 403,
    },
    { name: 'a revoked key', body: () => revokedUsage, type: 'admit-revoked', status: 403 },
    {
      name: 'seq reuse with different content',
      body: () => reusedSeq,
      type: 'seq-conflict',
      status: 409,
    },
    {
      name: 'oversized body',
      body: () => `{"x":"${'a'.repeat(200_000)}"}`,
      type: 'entry-too-large',
      status: 413,
    },
    { name: 'empty body', body: () => '', type: 'entry-empty', status: 400 },
    {
      name: 'deeply nested JSON',
      body: () => `${'['.repeat(5000)}${']'.repeat(5000)}`,
      type: 'entry-too-deep',
      status: 400,
    },
    {
      name: 'invalid UTF-8',
      body: () => new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      type: 'entry-not-utf8',
      status: 400,
    },
    {
      name: 'non-canonical payload (whitespace)',
      body: () =>
        envelopeWith(
          PAYLOAD_TYPE.registration,
          utf8(JSON.stringify(registrationPayload(), null, 1)),
        ),
      type: 'payload-not-canonical',
      status: 400,
    },
    {
      name: 'duplicate JSON keys in the payload',
      body: () => {
        const canon = new TextDecoder().decode(jcsBytes(registrationPayload()));
        return envelopeWith(
          PAYLOAD_TYPE.registration,
          utf8(canon.replace('{', '{"action":"revoke",')),
        );
      },
      type: 'payload-not-canonical',
      status: 400,
    },
    {
      name: 'payload that is not base64',
      body: () => JSON.stringify({ ...good(), payload: '***' }),
      type: 'payload-not-base64',
      status: 400,
    },
    {
      name: 'wrong content type',
      body: () => labA.register('n3').body,
      ct: 'text/plain',
      type: 'unsupported-media-type',
      status: 415,
    },
  ];

  it('has at least 15 classes', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(`refuses ${c.name} with ${c.type}, stores nothing and keeps answering`, async () => {
      const before = await json(fetch(`${t.url}/healthz`));
      const r = await t.post('/v1/statements', c.body(), c.ct);
      expect(r.status).toBe(c.status);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      const p = await json(r);
      expect(p.type).toBe(`urn:vpause:problem:${c.type}`);
      expect(p.status).toBe(c.status);
      const after = await json(fetch(`${t.url}/healthz`));
      expect(after.sequenced).toBe(before.sequenced);
      expect(after.ok).toBe(true);
    });
  }

  it('still admits a good statement after all of that', async () => {
    const r = await t.post('/v1/statements', labA.register('n3').body);
    expect(r.status).toBe(200);
    expect((await json(r)).index).toBe(5);
  });

  it('answers a re-sent statement with its original index', async () => {
    const r = await t.post('/v1/statements', labA.register('n1').body);
    expect(await json(r)).toMatchObject({ index: 0 });
  });

  it('answers each element of a batch on its own', async () => {
    const enc = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b));
    const r = await t.post(
      '/v1/statements:batch',
      JSON.stringify([
        enc(labA.usage('n2').body),
        { payloadType: 'x' },
        enc(labA.register('n1').body),
      ]),
    );
    expect(r.status).toBe(200);
    const { results } = await json(r);
    expect(results).toHaveLength(3);
    expect(results[0].index).toBe(6);
    expect(results[1].error.type).toBe('urn:vpause:problem:envelope-invalid');
    expect(results[2].index).toBe(0);
  });

  it('refuses a batch of more than 1,000 envelopes with 413', async () => {
    const r = await t.post(
      '/v1/statements:batch',
      JSON.stringify(Array.from({ length: 1001 }, () => ({}))),
    );
    expect(r.status).toBe(413);
    expect((await json(r)).type).toBe('urn:vpause:problem:batch-too-large');
  });
});
