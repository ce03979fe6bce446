/**
 * The log's batch preparation (src/log/prepare-batch.ts: the verifier's packer for canonical
 * usage reports and meter readings, prepareParsed for the rest) against `prepareParsed` alone,
 * the strict reference: for every body, valid or not, the same entry, leaf hash, payload type,
 * admission payload, keyids and signature outcomes, or the same error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import { admissionPayload, KeyRing, prepareParsed, toWireError } from '../../src/log/prepare.js';
import { BatchPreparer } from '../../src/log/prepare-batch.js';
import {
  applyEdits,
  byteEditsArb,
  entry,
  envelopeVariants,
  howArb,
  meter,
  meterArb,
  meterKey,
  node,
  nonEnvelopes,
  other,
  registrationText,
  sortedJson,
  stranger,
  textOf,
  usage,
  usageArb,
} from '../helpers/statement-arbs.js';
import { testKey } from '../helpers/world.js';

const root = testKey('lab-a.example/root');

function ring(): KeyRing {
  const r = new KeyRing();
  r.setAdmitKeys([root.vkey, meterKey.vkey]);
  r.addNodeKeys([node.vkey, other.vkey]);
  return r;
}

/** What the strict path gives a body, in the shape the batch gives it. */
function reference(body: Uint8Array, r: KeyRing) {
  try {
    const { parsed, leafHash, outcomes } = prepareParsed(body, r);
    return {
      entry: Buffer.from(parsed.entry).toString('latin1'),
      leaf: Buffer.from(leafHash).toString('hex'),
      meta: {
        payloadType: parsed.payloadType,
        payload: admissionPayload(parsed.payloadType, parsed.payload),
        keyids: parsed.envelope.signatures.map((s) => s.keyid),
        outcomes: [...outcomes].sort(),
      },
    };
  } catch (e) {
    return { entry: '', leaf: '00'.repeat(32), meta: { error: toWireError(e) } };
  }
}

/** Prepares `bodies` as one batch and holds each result to the reference; the bodies packed. */
function expectSame(bodies: Uint8Array[], batch = new BatchPreparer(ring())): number {
  const got = batch.prepare(bodies);
  expect(got.entries.length).toBe(bodies.length);
  const r = ring();
  bodies.forEach((b, i) => {
    const m = got.meta[i]!;
    expect({
      entry: Buffer.from(got.entries[i]!).toString('latin1'),
      leaf: Buffer.from(got.leaf.subarray(32 * i, 32 * i + 32)).toString('hex'),
      meta: 'error' in m ? m : { ...m, outcomes: [...m.outcomes].sort() },
    }).toEqual(reference(b, r));
  });
  return got.packed;
}

describe('batch preparation', () => {
  it('packs canonical usage reports and meter readings, with what prepareParsed gives', () => {
    const bodies = [
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]),
      entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage({ seq: 0, prev: '0'.repeat(64) })), [other]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage({ workload: 'training' })), [stranger]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node], 'jcs', (s) => `A${s.slice(1)}`),
    ];
    const batch = new BatchPreparer(ring());
    expect(expectSame(bodies, batch)).toBe(5);
    const got = batch.prepare(bodies);
    const m = got.meta[0]!;
    expect('error' in m ? m : m.payload).toEqual({
      lab: 'lab-a.example',
      facility: 'f1',
      cluster: 'c1',
      node: 'n1',
      seq: 7,
    });
    // a stranger's key is no candidate: no outcome; a bad signature is SIGNATURE_INVALID
    const s = got.meta[3]!;
    expect('error' in s ? s : [...s.outcomes]).toEqual([]);
    const bad = got.meta[4]!;
    expect('error' in bad ? bad : [...bad.outcomes]).toEqual([
      [
        node.vkey,
        {
          code: 'SIGNATURE_INVALID',
          message: `signature by ${node.vkey.split('+').slice(0, 2).join('+')} does not verify`,
        },
      ],
    ]);
  });

  it('gives what prepareParsed gives for generated usage reports', () => {
    let packed = 0;
    const batch = new BatchPreparer(ring());
    fc.assert(
      fc.property(usageArb, howArb, fc.constantFrom(node, stranger), (p, how, who) => {
        packed += expectSame([entry(PAYLOAD_TYPE.usage, textOf(p, how), [who])], batch);
      }),
      { numRuns: 1000 },
    );
    // not vacuous: many of the generated reports are valid and take the packed path
    expect(packed).toBeGreaterThan(150);
  });

  it('gives what prepareParsed gives for generated meter readings', () => {
    let packed = 0;
    const batch = new BatchPreparer(ring());
    fc.assert(
      fc.property(meterArb, howArb, (p, how) => {
        packed += expectSame([entry(PAYLOAD_TYPE.meter, textOf(p, how), [meterKey])], batch);
      }),
      { numRuns: 600 },
    );
    expect(packed).toBeGreaterThan(150);
  });

  it('gives what prepareParsed gives for other envelopes, kinds and bodies, in one batch', () => {
    const text = sortedJson(usage());
    const reg = registrationText(stranger.vkey);
    const bodies = [
      ...envelopeVariants(PAYLOAD_TYPE.usage, text, node, other, stranger),
      entry(PAYLOAD_TYPE.meter, text, [node]),
      entry(PAYLOAD_TYPE.usage, sortedJson(meter()), [meterKey]),
      // registrations: the strict path, with the packer's check of the root's signature
      entry(PAYLOAD_TYPE.registration, reg, [root]),
      entry(PAYLOAD_TYPE.registration, reg, [root], 'jcs', (s) => `A${s.slice(1)}`),
      entry(PAYLOAD_TYPE.registration, reg, [root, node]),
      entry('application/vnd.vpause.other+json', text, [node]),
      // a registration's key is not taken from submissions: still no outcome for it here
      entry(PAYLOAD_TYPE.usage, text, [stranger]),
      ...nonEnvelopes(),
      entry(PAYLOAD_TYPE.usage, text, [node]),
    ];
    // the stranger's report and the last one pack (and the '\\/' edit, when the signature has
    // no '/' to escape); nothing else does
    const packed = expectSame(bodies);
    expect(packed).toBeGreaterThanOrEqual(2);
    expect(packed).toBeLessThanOrEqual(3);
  });

  it('gives what prepareParsed gives for bodies mutated byte by byte', () => {
    const base = [
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]),
      entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]),
    ];
    const batch = new BatchPreparer(ring());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), byteEditsArb, (which, edits) => {
        // next to an unchanged body, so that positions in the batch are checked too
        expectSame([applyEdits(base[which]!, edits), base[1 - which]!], batch);
      }),
      { numRuns: 1000 },
    );
  });

  it("takes the outcomes given for a body's envelope as they are, and checks only the others", () => {
    const r = ring();
    const body = entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]);
    const given = { code: 'SIGNATURE_INVALID', message: 'as computed ahead' };
    // a false outcome given for a signature that verifies: kept, so it was not checked again
    expect(prepareParsed(body, r, new Map([[node.vkey, given]])).outcomes.get(node.vkey)).toBe(
      given,
    );
    expect(prepareParsed(body, r, new Map([[other.vkey, given]])).outcomes.get(node.vkey)).toBe(
      null,
    );
  });

  /** The outcomes a preparer gives for one body now (or its error). */
  const outcomesNow = (batch: BatchPreparer, body: Uint8Array) => {
    const m = batch.prepare([body]).meta[0]!;
    return 'error' in m ? m : [...m.outcomes];
  };

  it('checks keys added to the ring after it was made', () => {
    const r = new KeyRing();
    const batch = new BatchPreparer(r);
    const body = entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]);
    expect(outcomesNow(batch, body)).toEqual([]);
    r.addNodeKeys([node.vkey]);
    expect(outcomesNow(batch, body)).toEqual([[node.vkey, null]]);
  });

  it('checks the admit list as it is now, after it was replaced', () => {
    const r = new KeyRing();
    const batch = new BatchPreparer(r);
    const body = entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]);
    expect(outcomesNow(batch, body)).toEqual([]);
    r.setAdmitKeys([meterKey.vkey]);
    expect(outcomesNow(batch, body)).toEqual([[meterKey.vkey, null]]);
    r.setAdmitKeys([]);
    expect(outcomesNow(batch, body)).toEqual([]);
  });
});
