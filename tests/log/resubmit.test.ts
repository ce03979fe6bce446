/**
 * SPEC security considerations: envelopes are malleable (anyone can add a signature or
 * re-serialise), so a statement's identity is (payloadType, payload, signer). The log answers a
 * submission whose payload type, payload and admitted signer equal a logged entry's as a
 * duplicate with the original index, and stores nothing new; a different payload in the same
 * chain and seq stays a SEQ_CONFLICT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pae } from '../../protocol/src/dsse.js';
import { jcsBytes } from '../../protocol/src/jcs.js';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import { toBase64 } from '../../src/core/bytes.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { keyIdString } from '../../src/note/keys.js';
import { json, startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { statement, TestLab, testKey } from '../helpers/world.js';

const lab = new TestLab('lab-a.example');
const stranger = testKey('stranger.example/k');

/** The same signed payload with one more signature, by a key the log does not know. */
function withExtraSignature(body: Uint8Array): Uint8Array {
  const env = JSON.parse(new TextDecoder().decode(body)) as {
    payloadType: string;
    payload: string;
    signatures: { keyid: string; sig: string }[];
  };
  const sig = signEd25519(
    stranger.signer.seed,
    pae(env.payloadType, Buffer.from(env.payload, 'base64')),
  );
  env.signatures.push({ keyid: keyIdString(stranger.signer), sig: toBase64(sig) });
  return jcsBytes(env);
}

describe('resubmitting a logged statement in another envelope', () => {
  let log: TestLog;
  beforeAll(async () => {
    log = await startTestLog(`lab ${lab.root.vkey}\n`);
  });
  afterAll(() => log.close());

  async function submit(body: Uint8Array): Promise<Response> {
    return log.post('/v1/statements', body);
  }

  it('answers the original index for a registration, a usage report and a pause', async () => {
    const reg = lab.register('n1').body;
    const first = await json(submit(reg));
    const usage = lab.usage('n1').body;
    const u1 = await json(submit(usage));
    const pause = statement(
      PAYLOAD_TYPE.pause,
      {
        v: 1,
        lab: lab.lab,
        id: 'pause-1',
        start: '2026-11-27T00:00:00Z',
        end: null,
        scope: ['*'],
        limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle'] },
        reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
      },
      lab.root.signer,
    ).body;
    const p1 = await json(submit(pause));
    await waitForSize(log.url, 3);
    for (const [body, original] of [
      [reg, first],
      [usage, u1],
      [pause, p1],
    ] as const) {
      const r = await submit(withExtraSignature(body));
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ index: original.index, leafHash: original.leafHash });
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(Number((await (await fetch(`${log.url}/checkpoint`)).text()).split('\n')[1])).toBe(3);
  });

  it('still refuses a different payload with the same seq as SEQ_CONFLICT', async () => {
    // seq 0 of n1 is logged; the same seq with other content is an equivocation.
    const n = lab.nodes.get('n1')!;
    n.seq = 0;
    n.prev = '0'.repeat(64);
    const other = lab.usage('n1', { energyJ: 1 }).body;
    const r = await submit(other);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { code: string }).code).toBe('SEQ_CONFLICT');
  });
});
