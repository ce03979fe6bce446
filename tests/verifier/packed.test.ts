/**
 * The packed ingestion path (src/verifier/packed.ts, unpacked by `unpackRun`) against the
 * reference `decodeRun` (decodeEntry: the fast strict decoder with parseEntry behind it, and
 * checkSignature for the keys of the ring): for every entry, valid or not, the two give the same
 * record (or the same error code), the same signature outcomes and the same leaf hashes. Entries
 * are generated around the rules the packer checks on the bytes: member order, canonical numbers
 * and strings, each schema rule, the envelope's form, the signatures; and mutated byte by byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import { formatTime } from '../../protocol/src/time.js';
import { encodeEntryBundle } from '../../src/merkle/tiles.js';
import { applyOutcomes, checkAll } from '../../src/verifier/deferred-checks.js';
import { decodeRun, KeyRing, packRules, unpackRun } from '../../src/verifier/ingest.js';
import { PackedRecord, StringTable } from '../../src/verifier/log-index.js';
import {
  type DeferredChecks,
  isTimeFast,
  type PackedRun,
  Packer,
  seconds,
} from '../../src/verifier/packed.js';
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

const VKEYS = [node.vkey, other.vkey, meterKey.vkey];

/** The records of both paths, as plain JSON. */
function both(entries: Uint8Array[], start = 0) {
  const packed = unpackRun(
    new Packer(packRules(), VKEYS).run({ start, entries }),
    new StringTable(),
  );
  const ref = decodeRun(new KeyRing(VKEYS), { start, entries });
  return { packed, ref };
}

/** A valid report put after the entries of a bundle, so that an entry's bytes are not its end. */
const TAIL = entry(PAYLOAD_TYPE.usage, sortedJson(usage({ seq: 9 })), [node]);

function expectSame(entries: Uint8Array[]): number {
  const { packed, ref } = both(entries);
  expect(JSON.parse(JSON.stringify(packed.records))).toEqual(
    JSON.parse(JSON.stringify(ref.records)),
  );
  // The same entries read where they lie in a bundle, each followed by more bytes.
  const listed = [...entries, TAIL];
  const inBundle = unpackRun(
    new Packer(packRules(), VKEYS).run({
      start: 0,
      bundle: encodeEntryBundle(listed),
      width: listed.length,
      skip: 0,
      count: entries.length,
    }),
    new StringTable(),
  );
  expect(JSON.parse(JSON.stringify(inBundle.records))).toEqual(
    JSON.parse(JSON.stringify(ref.records)),
  );
  expect(Buffer.from(packed.leaf)).toEqual(Buffer.from(ref.leaf));
  expect(packed.newKeys).toEqual(ref.newKeys);
  // A packed record keeps no payload bytes: they are rebuilt from its columns, byte for byte.
  packed.records.forEach((r, i) => {
    if (!(r instanceof PackedRecord)) return;
    const signed = Buffer.from(
      JSON.parse(Buffer.from(entries[i]!).toString('utf8')).payload,
      'base64',
    );
    expect(Buffer.from(r.payloadBytes).toString('latin1')).toBe(signed.toString('latin1'));
  });
  return packed.records.filter((r) => r instanceof PackedRecord).length;
}

describe('packed ingestion', () => {
  it('packs canonical usage reports and meter readings, as the records decodeRun gives', () => {
    const entries = [
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]),
      entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage({ seq: 0, prev: '0'.repeat(64) })), [other]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage({ flop: 1.25e18, workload: 'training' })), [
        stranger,
      ]),
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node], 'jcs', (s) => `A${s.slice(1)}`),
    ];
    expect(expectSame(entries)).toBe(5);
    const { packed } = both(entries);
    const r = packed.records[0] as PackedRecord;
    expect(r.valid).toEqual([node.vkey]);
    expect(packed.records[4]).toMatchObject({ invalid: [node.vkey], valid: [] });
  });

  it("writes back every time it reads: formatTime is the inverse of the packer's seconds over years 0000–9999", () => {
    const y0 = seconds('0000-01-01T00:00:00Z');
    const y9999 = seconds('9999-12-31T23:59:59Z');
    for (const t of [
      '0000-01-01T00:00:00Z',
      '0000-02-29T12:00:00Z',
      '1900-02-28T23:59:59Z',
      '1970-01-01T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-11-27T00:05:00Z',
      '9999-12-31T23:59:59Z',
    ]) {
      expect(formatTime(seconds(t))).toBe(t);
    }
    fc.assert(
      fc.property(fc.integer({ min: y0, max: y9999 }), (s) => {
        const text = formatTime(s);
        expect(isTimeFast(text)).toBe(true);
        expect(seconds(text)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });

  it('gives the same records as decodeRun for generated usage reports', () => {
    let packedCount = 0;
    fc.assert(
      fc.property(usageArb, howArb, fc.constantFrom(node, stranger), (p, how, who) => {
        packedCount += expectSame([entry(PAYLOAD_TYPE.usage, textOf(p, how), [who])]);
      }),
      { numRuns: 1500 },
    );
    // not vacuous: many of the generated reports are valid and take the packed path
    expect(packedCount).toBeGreaterThan(200);
  });

  it('gives the same records as decodeRun for generated meter readings', () => {
    let packedCount = 0;
    fc.assert(
      fc.property(meterArb, howArb, (p, how) => {
        packedCount += expectSame([entry(PAYLOAD_TYPE.meter, textOf(p, how), [meterKey])]);
      }),
      { numRuns: 800 },
    );
    expect(packedCount).toBeGreaterThan(200);
  });

  it('gives the same records for other envelopes: forms, signatures, payload types', () => {
    const text = sortedJson(usage());
    const reg = registrationText(stranger.vkey);
    const cases = [
      ...envelopeVariants(PAYLOAD_TYPE.usage, text, node, other, stranger),
      entry(PAYLOAD_TYPE.meter, text, [node]),
      entry(PAYLOAD_TYPE.usage, sortedJson(meter()), [meterKey]),
      entry(PAYLOAD_TYPE.registration, reg, [node]),
      // more signatures than the packer's first arrays hold (16)
      entry(
        PAYLOAD_TYPE.usage,
        text,
        Array.from({ length: 21 }, (_, k) => [other, node, meterKey][k % 3]!),
      ),
      entry('application/vnd.vpause.other+json', text, [node]),
      entry('application/vnd.vpause.usage+json; x', text, [node]),
      // the registration's key is then checked ahead for the entries that follow
      entry(PAYLOAD_TYPE.usage, text, [stranger]),
      ...nonEnvelopes(),
    ];
    expectSame(cases);
    const { packed } = both(cases);
    expect(packed.newKeys).toEqual([stranger.vkey]);
    const after = packed.records[18]!;
    expect('valid' in after && after.valid).toEqual([stranger.vkey]);
  });

  it('gives the same records for entries mutated byte by byte', () => {
    const base = [
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]),
      entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), byteEditsArb, (which, edits) => {
        expectSame([applyEdits(base[which]!, edits)]);
      }),
      { numRuns: 1500 },
    );
  });

  it('reads a bundle as its listed entries, with the subtree of a full tile', () => {
    const entries = Array.from({ length: 256 }, (_, k) =>
      k % 50 === 7
        ? entry(PAYLOAD_TYPE.usage, `${sortedJson(usage({ seq: k }))} `, [node])
        : entry(PAYLOAD_TYPE.usage, sortedJson(usage({ seq: k })), [k % 2 === 0 ? node : other]),
    );
    const packer = new Packer(packRules(), VKEYS);
    const fromBundle = packer.run({
      start: 512,
      bundle: encodeEntryBundle(entries),
      width: 256,
      skip: 0,
      count: 256,
    });
    const table = new StringTable();
    const a = unpackRun(fromBundle, table);
    const ref = decodeRun(new KeyRing(VKEYS), { start: 512, entries });
    expect(JSON.parse(JSON.stringify(a.records))).toEqual(JSON.parse(JSON.stringify(ref.records)));
    expect(Buffer.from(a.subtree!)).toEqual(Buffer.from(ref.subtree!));
    // The next run of the same packer sends only the strings it adds.
    const next = packer.run({ start: 768, entries: entries.slice(0, 3) });
    expect(next.stringBase).toBeGreaterThan(0);
    expect(next.strings).toEqual([]);
    const b = unpackRun(next, table);
    const refB = decodeRun(new KeyRing(VKEYS), { start: 768, entries: entries.slice(0, 3) });
    expect(JSON.parse(JSON.stringify(b.records))).toEqual(JSON.parse(JSON.stringify(refB.records)));
  });

  it('gives the outcomes of `run` through deferred checks whose buffers are recycled', () => {
    // A bad signature: canonical base64 of 64 bytes (so it is deferred like a good one), not
    // the signer's.
    const forged = (sig: string) => `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    const runArb = fc.record({
      entries: fc.array(
        // stranger's key is not in the ring: no check, so slots and entries differ
        fc.record({
          seq: fc.nat(1000),
          who: fc.constantFrom(node, other, stranger),
          bad: fc.boolean(),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      // checks left waiting after this run is packed (as a worker queues them)
      waiting: fc.nat(3),
    });
    let recycled = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.array(runArb, { minLength: 1, maxLength: 6 }), (runs) => {
        const deferring = new Packer(packRules(), VKEYS);
        const direct = new Packer(packRules(), VKEYS);
        const given = new Set<Uint8Array>();
        const queue: { run: PackedRun; deferred: DeferredChecks; want: PackedRun }[] = [];
        const check = () => {
          const { run, deferred, want } = queue.shift()!;
          const outValid = run.outValid.slice();
          const entries: number[] = [];
          const n = applyOutcomes(
            outValid,
            deferred,
            checkAll(deferred, deferring.verifiers),
            (i) => entries.push(i),
          );
          expect([...outValid]).toEqual([...want.outValid]);
          // the entries reported invalid: those that own a slot whose outcome came out 0
          const owner = (k: number) =>
            want.outAt.findIndex((a, i) => a <= k && k < want.outAt[i + 1]!);
          expect(n).toBe(want.outValid.filter((v) => v === 0).length);
          expect(entries).toEqual(
            [...want.outValid].flatMap((v, k) => (v === 0 ? [owner(k)] : [])),
          );
          invalid += n;
          deferring.recycle(deferred);
          given.add(deferred.msgs);
        };
        let start = 0;
        for (const spec of runs) {
          const entries = spec.entries.map(({ seq, who, bad }) =>
            entry(
              PAYLOAD_TYPE.usage,
              sortedJson(usage({ seq })),
              [who],
              'jcs',
              bad ? forged : undefined,
            ),
          );
          const { run, deferred } = deferring.runDeferring({ start, entries });
          if (deferred === undefined) {
            expect(spec.entries.every((e) => e.who === stranger)).toBe(true);
            start += entries.length;
            continue;
          }
          // Only buffers given back serve again, never those of checks still waiting.
          for (const w of queue) expect(deferred!.msgs).not.toBe(w.deferred.msgs);
          if (given.has(deferred!.msgs)) recycled++;
          queue.push({ run, deferred: deferred!, want: direct.run({ start, entries }) });
          while (queue.length > spec.waiting) check();
          start += entries.length;
        }
        while (queue.length > 0) check();
      }),
      { numRuns: 60 },
    );
    // not vacuous: buffers were reused, and bad signatures came out invalid
    expect(recycled).toBeGreaterThan(20);
    expect(invalid).toBeGreaterThan(20);
  });

  it('refuses a deferred check whose key number has no verifier, rather than call it invalid', () => {
    const packer = new Packer(packRules(), VKEYS);
    const { deferred } = packer.runDeferring({
      start: 0,
      entries: [entry(PAYLOAD_TYPE.usage, sortedJson(usage({ seq: 0 })), [node], 'jcs')],
    });
    expect(deferred).toBeDefined();
    expect([...checkAll(deferred!, packer.verifiers)]).toEqual([1]);
    expect(() => checkAll(deferred!, [])).toThrow(/no key number 0/);
  });
});
