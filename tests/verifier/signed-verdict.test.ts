/**
 * Signed verdicts (DESIGN §1: the verifier key signs verdicts): a verdict signed with the
 * verifier key opens to the same verdict with that key, and every way of tampering with the
 * envelope or its payload is refused with a stable code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pae } from '../../protocol/src/dsse.js';
import { jcs } from '../../protocol/src/jcs.js';
import {
  type SignedVerdict,
  VERDICT_PAYLOAD_TYPE,
  type Verdict,
} from '../../protocol/src/verdict.js';
import { toBase64, utf8 } from '../../src/core/bytes.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { keyIdString, parseVerifierKey } from '../../src/note/keys.js';
import { openSignedVerdict, signVerdict } from '../../src/verifier/signed-verdict.js';
import { codeOf } from '../helpers/errors.js';
import { testKey } from '../helpers/world.js';

const verifier = testKey('verifier.example/v1');
const other = testKey('verifier.example/v2');
const vk = parseVerifierKey(verifier.vkey);
const otherVk = parseVerifierKey(other.vkey);

const verdict: Verdict = {
  v: 1,
  type: 'vpause-verdict',
  verdict: 'violation',
  lab: 'lab-a.example',
  pause: 'pause-1',
  window: { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z' },
  asOf: '2026-11-28T01:00:00Z',
  checkpoint: {
    origin: 'log.example/log',
    size: 42,
    rootHash: toBase64(new Uint8Array(32).fill(7)),
    quorum: true,
    cosignedBy: ['w0'],
  },
  findings: [
    {
      code: 'energy-unexplained',
      severity: 'violation',
      message: 'facility f1: 12 MWh more than the reports explain',
      subject: { facility: 'f1' },
      evidence: [{ index: 3, leafHash: 'ab'.repeat(32), role: 'meter' }],
      data: { cusum: 12.5, threshold: 7.1 },
    },
  ],
  detection: null,
  summary: {
    nodes: 1,
    intervals: 2,
    expectedReports: 2,
    reports: 2,
    pendingReports: 0,
    meterReadings: 2,
    statements: 5,
  },
};

/** An envelope over `payload` signed by `key` (to build tampered-but-signed cases). */
function envelopeOver(payload: string, key = verifier): SignedVerdict {
  const bytes = utf8(payload);
  return {
    payloadType: VERDICT_PAYLOAD_TYPE,
    payload: toBase64(bytes),
    signatures: [
      {
        keyid: keyIdString(key.signer),
        sig: toBase64(signEd25519(key.signer.seed, pae(VERDICT_PAYLOAD_TYPE, bytes))),
      },
    ],
  };
}

describe('signed verdicts', () => {
  it('open with the verifier key to exactly the verdict that was signed', () => {
    const env = signVerdict(verdict, verifier.signer);
    expect(env.payloadType).toBe(VERDICT_PAYLOAD_TYPE);
    expect(Buffer.from(env.payload, 'base64').toString('utf8')).toBe(jcs(verdict));
    const opened = openSignedVerdict(JSON.parse(JSON.stringify(env)), [vk]);
    expect(opened.verdict).toEqual(verdict);
    expect(opened.signedBy).toEqual([verifier.vkey]);
  });

  it('are refused under another key, naming the signer', () => {
    const env = signVerdict(verdict, verifier.signer);
    expect(codeOf(() => openSignedVerdict(env, [otherVk]))).toBe('VERDICT_SIGNATURE_INVALID');
  });

  it('are refused when a single payload byte changes', () => {
    const env = signVerdict(verdict, verifier.signer);
    const tampered = jcs({ ...verdict, verdict: 'compliant', findings: [] });
    expect(
      codeOf(() => openSignedVerdict({ ...env, payload: toBase64(utf8(tampered)) }, [vk])),
    ).toBe('VERDICT_SIGNATURE_INVALID');
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bytes = Buffer.from(env.payload, 'base64');
        bytes[at % bytes.length]! ^= flip;
        const code = codeOf(() => openSignedVerdict({ ...env, payload: toBase64(bytes) }, [vk]));
        expect(['VERDICT_SIGNATURE_INVALID', 'VERDICT_INVALID']).toContain(code);
      }),
      { numRuns: 200 },
    );
  });

  it('are refused when a trusted signature is bad even if another verifies', () => {
    const env = signVerdict(verdict, verifier.signer);
    const second = signVerdict(verdict, other.signer).signatures[0]!;
    const badSecond = { ...second, sig: env.signatures[0]!.sig };
    const doc = { ...env, signatures: [...env.signatures, badSecond] };
    expect(codeOf(() => openSignedVerdict(doc, [vk]))).toBeUndefined();
    expect(codeOf(() => openSignedVerdict(doc, [vk, otherVk]))).toBe('VERDICT_SIGNATURE_INVALID');
  });

  it('refuse payloads that are signed but not canonical verdicts', () => {
    const cases: [string, string][] = [
      ['pretty-printed', JSON.stringify(verdict, null, 1)],
      ['keys out of order', JSON.stringify(Object.fromEntries(Object.entries(verdict).reverse()))],
      ['duplicate key', `${jcs(verdict).slice(0, -1)},"v":1}`],
      ['not a verdict', jcs({ ...verdict, verdict: 'maybe' })],
      ['extra member', jcs({ ...verdict, extra: true })],
      ['not JSON', 'verdict: compliant'],
    ];
    for (const [name, payload] of cases) {
      expect([name, codeOf(() => openSignedVerdict(envelopeOver(payload), [vk]))]).toEqual([
        name,
        'VERDICT_INVALID',
      ]);
    }
  });

  it('refuse envelopes of another payload type, without signatures or not base64', () => {
    const env = signVerdict(verdict, verifier.signer);
    for (const doc of [
      { ...env, payloadType: 'application/vnd.vpause.usage+json' },
      { ...env, signatures: [] },
      { ...env, payload: `${env.payload}!` },
      { ...env, extra: 1 },
      null,
      'text',
    ]) {
      expect(codeOf(() => openSignedVerdict(doc, [vk]))).toBe('VERDICT_INVALID');
    }
  });

  it('cannot be made from something that is not a verdict', () => {
    expect(
      codeOf(() => signVerdict({ ...verdict, verdict: 'maybe' } as never, verifier.signer)),
    ).toBe('VERDICT_INVALID');
  });
});
