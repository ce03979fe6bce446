import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pae, paeTypeHeader, signEnvelope, verifyEnvelope } from '../../protocol/src/dsse.js';
import { STATEMENT_ERROR_CODES } from '../../protocol/src/errors.js';
import { jcs } from '../../protocol/src/jcs.js';
import { PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/schemas.js';
import {
  chainKey,
  labOfRootKeyName,
  labRootKeyName,
  MAX_ENTRY_BYTES,
  makeStatement,
  parseEntry,
  payloadHash,
  verifyStatementSignature,
  ZERO_HASH,
} from '../../protocol/src/statements.js';
import { fromBase64, fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { isVPauseError } from '../../src/core/errors.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  formatVerifierKey,
  KEY_TYPE_COSIGNATURE,
  keyIdString,
  parseVerifierKey,
} from '../../src/note/keys.js';
import { anyStatementArb, LAB_KEY, METER_KEY, NODE_KEY, testKey } from './arbitraries.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return isVPauseError(e) ? e.code : `not a VPauseError: ${String(e)}`;
  }
}

const usage: UsagePayload = {
  v: 1,
  lab: 'lab-a.example',
  facility: 'f1',
  cluster: 'c1',
  node: 'c1-n001',
  seq: 0,
  prev: ZERO_HASH,
  start: '2026-11-27T01:25:00Z',
  end: '2026-11-27T01:30:00Z',
  gpus: 8,
  gpuSeconds: 2400,
  energyJ: 168000,
  tensorActive: 0,
  flop: 0,
  workload: 'idle',
  bodyHash: 'ab'.repeat(32),
  samples: { count: 2400, root: 'cd'.repeat(32) },
};

describe('pae', () => {
  describe('when given the DSSE specification example', () => {
    it('produces "DSSEv1 29 http://example.com/HelloWorld 11 hello world"', () => {
      expect(fromUtf8(pae('http://example.com/HelloWorld', utf8('hello world')))).toBe(
        'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
      );
    });
  });

  describe('when the type has multi-byte characters and the body is empty', () => {
    it('counts bytes, not characters', () => {
      expect(fromUtf8(pae('t\u00e9', new Uint8Array(0)))).toBe('DSSEv1 3 t\u00e9 0 ');
    });
  });

  describe('when called again for a type (its header is cached) and through paeTypeHeader', () => {
    it('gives the same bytes: paeTypeHeader(type), LEN(body) SP and the body are pae(type, body)', () => {
      for (const type of ['t\u00e9', 'application/vnd.vpause.usage+json', 't\u00e9']) {
        for (const body of [utf8(''), utf8('hello world'), new Uint8Array(1000).fill(7)]) {
          const want = `DSSEv1 ${utf8(type).length} ${type} ${body.length} `;
          expect(`${fromUtf8(paeTypeHeader(type))}${body.length} `).toBe(want);
          const whole = pae(type, body);
          expect(fromUtf8(whole.subarray(0, whole.length - body.length))).toBe(want);
          expect(whole.subarray(whole.length - body.length)).toEqual(body);
        }
      }
    });
  });
});

describe('makeStatement', () => {
  describe('when the payload is valid', () => {
    it('signs the JCS payload bytes and returns the JCS of the envelope as the entry', () => {
      const st = makeStatement(PAYLOAD_TYPE.usage, usage, NODE_KEY.signer);
      expect(fromUtf8(fromBase64(st.envelope.payload))).toBe(jcs(usage));
      expect(fromUtf8(st.entry)).toBe(jcs(st.envelope));
      expect(st.envelope.signatures).toHaveLength(1);
      expect(st.envelope.signatures[0]!.keyid).toBe(keyIdString(NODE_KEY.signer));
    });

    it('is deterministic: the same payload and key give the same entry bytes', () => {
      const a = makeStatement(PAYLOAD_TYPE.usage, usage, NODE_KEY.signer).entry;
      const b = makeStatement(PAYLOAD_TYPE.usage, { ...usage }, NODE_KEY.signer).entry;
      expect(toHex(a)).toBe(toHex(b));
    });
  });

  describe('when the payload breaks its schema', () => {
    it('refuses to sign it with PAYLOAD_SCHEMA', () => {
      expect(
        codeOf(() =>
          makeStatement(PAYLOAD_TYPE.usage, { ...usage, gpuSeconds: 1e9 }, NODE_KEY.signer),
        ),
      ).toBe('PAYLOAD_SCHEMA');
    });

    it('refuses a payload of another kind with PAYLOAD_SCHEMA', () => {
      expect(
        // biome-ignore lint/suspicious/noExplicitAny: deliberately mistyped
        codeOf(() => makeStatement(PAYLOAD_TYPE.meter, usage as any, METER_KEY.signer)),
      ).toBe('PAYLOAD_SCHEMA');
    });
  });

  describe('when the payload type is not one of the five', () => {
    it('refuses it with PAYLOAD_TYPE_UNKNOWN', () => {
      // biome-ignore lint/suspicious/noExplicitAny: deliberately mistyped
      expect(codeOf(() => makeStatement('application/json' as any, usage, NODE_KEY.signer))).toBe(
        'PAYLOAD_TYPE_UNKNOWN',
      );
    });
  });

  describe('when the signer is a cosignature (type 0x04) key', () => {
    it('refuses it with KEY_UNSUPPORTED', () => {
      const cosigner = testKey('witness.example/w1', KEY_TYPE_COSIGNATURE);
      expect(codeOf(() => makeStatement(PAYLOAD_TYPE.usage, usage, cosigner.signer))).toBe(
        'KEY_UNSUPPORTED',
      );
    });
  });

  describe('when the entry would exceed 65,535 bytes', () => {
    it('refuses it with ENTRY_TOO_LARGE', () => {
      const nodes = Array.from({ length: 1000 }, (_, i) => ({
        facility: 'facility-0001',
        cluster: 'cluster-0001',
        node: `node-${String(i).padStart(6, '0')}`,
        gpus: 8,
        model: 'H100-SXM',
      }));
      const inventory = { v: 1 as const, lab: 'lab-a.example', time: usage.start, nodes };
      expect(codeOf(() => makeStatement(PAYLOAD_TYPE.inventory, inventory, LAB_KEY.signer))).toBe(
        'ENTRY_TOO_LARGE',
      );
      const small = { ...inventory, nodes: nodes.slice(0, 100) };
      expect(
        makeStatement(PAYLOAD_TYPE.inventory, small, LAB_KEY.signer).entry.length,
      ).toBeLessThan(MAX_ENTRY_BYTES);
    });
  });
});

describe('parseEntry and verifyStatementSignature', () => {
  describe('when given the entry of any valid statement', () => {
    it('returns the same payload type, payload, payload bytes and canonical entry, and the signature verifies', () => {
      fc.assert(
        fc.property(anyStatementArb, ({ payloadType, payload, key }) => {
          // biome-ignore lint/suspicious/noExplicitAny: the arbitrary pairs type and payload
          const st = makeStatement(payloadType, payload as any, key.signer);
          const parsed = parseEntry(st.entry, { requireCanonical: true });
          expect(parsed.payloadType).toBe(payloadType);
          expect(parsed.payload).toEqual(JSON.parse(jcs(payload)));
          expect(fromUtf8(parsed.payloadBytes)).toBe(jcs(payload));
          expect(toHex(parsed.entry)).toBe(toHex(st.entry));
          expect(parsed.envelope).toEqual(st.envelope);
          verifyStatementSignature(parsed, key.verifier);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('when any single byte of a valid entry is changed', () => {
    it('fails parsing or signature verification, always with a statement error code', () => {
      const statements = [
        makeStatement(PAYLOAD_TYPE.usage, usage, NODE_KEY.signer),
        makeStatement(
          PAYLOAD_TYPE.meter,
          {
            v: 1,
            facility: 'f1',
            meter: 'm1',
            seq: 3,
            prev: ZERO_HASH,
            start: usage.start,
            end: usage.end,
            energyJ: 2.1e8,
            counterJ: 9.87e12,
          },
          METER_KEY.signer,
        ),
      ];
      const keys = [NODE_KEY.verifier, METER_KEY.verifier];
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 1 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          fc.boolean(),
          (which, pos, delta, requireCanonical) => {
            const entry = statements[which]!.entry.slice();
            const i = pos % entry.length;
            entry[i] = (entry[i]! + delta) & 0xff;
            const code = codeOf(() => {
              const parsed = parseEntry(entry, { requireCanonical });
              verifyStatementSignature(parsed, keys[which]!);
            });
            expect(code).toBeDefined();
            expect(STATEMENT_ERROR_CODES).toContain(code);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe('when the envelope carries signatures by several keys', () => {
    const st = makeStatement(
      PAYLOAD_TYPE.pause,
      {
        v: 1,
        lab: 'lab-a.example',
        id: 'p1',
        start: usage.start,
        end: null,
        scope: ['*'],
        limits: { maxFlopPerDay: 0, allowedWorkloads: [] },
        reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
      },
      LAB_KEY.signer,
    );
    const other = testKey('lab-b.example/root');
    const payload = fromBase64(st.envelope.payload);
    const extra = signEnvelope(st.envelope.payloadType, payload, other.signer).signatures[0]!;

    it('checks only the signature whose keyid names the given key', () => {
      const entry = utf8(jcs({ ...st.envelope, signatures: [extra, ...st.envelope.signatures] }));
      const parsed = parseEntry(entry);
      expect(codeOf(() => verifyStatementSignature(parsed, LAB_KEY.verifier))).toBeUndefined();
      expect(codeOf(() => verifyStatementSignature(parsed, other.verifier))).toBeUndefined();
      expect(codeOf(() => verifyStatementSignature(parsed, NODE_KEY.verifier))).toBe(
        'KEYID_MISMATCH',
      );
    });

    it('is not satisfied by a valid signature of another key under the given keyid', () => {
      const forged = { keyid: keyIdString(LAB_KEY.signer), sig: extra.sig };
      const parsed = parseEntry(utf8(jcs({ ...st.envelope, signatures: [forged] })));
      expect(codeOf(() => verifyStatementSignature(parsed, LAB_KEY.verifier))).toBe(
        'SIGNATURE_INVALID',
      );
    });

    it('verifyEnvelope returns every trusted key that signed and ignores untrusted ones', () => {
      const env = { ...st.envelope, signatures: [extra, ...st.envelope.signatures] };
      expect(verifyEnvelope(env, [LAB_KEY.verifier, other.verifier]).map((k) => k.name)).toEqual([
        other.verifier.name,
        LAB_KEY.verifier.name,
      ]);
      expect(verifyEnvelope(env, [LAB_KEY.verifier, NODE_KEY.verifier]).map((k) => k.name)).toEqual(
        [LAB_KEY.verifier.name],
      );
      expect(codeOf(() => verifyEnvelope(env, [NODE_KEY.verifier]))).toBe('KEYID_MISMATCH');
      expect(codeOf(() => verifyEnvelope({ ...env, signatures: [] }, [LAB_KEY.verifier]))).toBe(
        'SIGNATURE_MISSING',
      );
      expect(codeOf(() => verifyEnvelope({ ...env, payload: 'e30' }, [LAB_KEY.verifier]))).toBe(
        'PAYLOAD_NOT_BASE64',
      );
    });
  });

  describe('when the verifier key is a cosignature (type 0x04) key for the same public key', () => {
    it('refuses it with KEY_UNSUPPORTED', () => {
      const st = makeStatement(PAYLOAD_TYPE.usage, usage, NODE_KEY.signer);
      const k = parseVerifierKey(
        formatVerifierKey(NODE_KEY.signer.name, KEY_TYPE_COSIGNATURE, NODE_KEY.signer.publicKey),
      );
      expect(codeOf(() => verifyStatementSignature(parseEntry(st.entry), k))).toBe(
        'KEY_UNSUPPORTED',
      );
    });
  });
});

describe('chains', () => {
  it('chainKey names usage chains by lab/facility/cluster/node and meter chains by facility/meter', () => {
    expect(chainKey(PAYLOAD_TYPE.usage, usage)).toBe('usage/lab-a.example/f1/c1/c1-n001');
    expect(
      chainKey(PAYLOAD_TYPE.meter, {
        v: 1,
        facility: 'f1',
        meter: 'm1',
        seq: 0,
        prev: ZERO_HASH,
        start: usage.start,
        end: usage.end,
        energyJ: 0,
        counterJ: 0,
      }),
    ).toBe('meter/f1/m1');
    expect(
      chainKey(PAYLOAD_TYPE.inventory, {
        v: 1,
        lab: 'lab-a.example',
        time: usage.start,
        nodes: [],
      }),
    ).toBeNull();
  });

  it('payloadHash of a parsed statement is the hex SHA-256 of its JCS payload, and links the next one', () => {
    const first = parseEntry(makeStatement(PAYLOAD_TYPE.usage, usage, NODE_KEY.signer).entry);
    const h = payloadHash(first.payloadBytes);
    expect(h).toBe(toHex(sha256(utf8(jcs(usage)))));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const next = { ...usage, seq: 1, prev: h, start: usage.end, end: '2026-11-27T01:35:00Z' };
    const second = parseEntry(makeStatement(PAYLOAD_TYPE.usage, next, NODE_KEY.signer).entry);
    expect(second.payloadType === PAYLOAD_TYPE.usage && second.payload.prev).toBe(h);
    expect(ZERO_HASH).toBe('0'.repeat(64));
  });
});

describe('lab identity', () => {
  it('names the root key of lab L "L/root"', () => {
    expect(labRootKeyName('lab-a.example')).toBe('lab-a.example/root');
  });

  it.each([
    ['lab-a.example/root', 'lab-a.example'],
    ['lab-a.example/node/f1/c1/c1-n001', null],
    ['Lab-A.example/root', null],
    ['/root', null],
    ['lab-a.example/root/root', null],
    ['lab-a.example/roots', null],
  ])('labOfRootKeyName(%j) is %j', (name, lab) => {
    expect(labOfRootKeyName(name)).toBe(lab);
  });
});
