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
import { signEnvelope } from '../../protocol/src/dsse.js';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import { encodeEntryBundle } from '../../src/merkle/tiles.js';
import { decodeRun, KeyRing, packRules, unpackRun } from '../../src/verifier/ingest.js';
import { PackedRecord, StringTable } from '../../src/verifier/log-index.js';
import { Packer } from '../../src/verifier/packed.js';
import { testKey } from '../helpers/world.js';

const node = testKey('lab-a.example/node/f1/c1/n1');
const other = testKey('lab-a.example/node/f1/c1/n2');
const meterKey = testKey('meter.f1.packed.example');
const stranger = testKey('stranger.example/k');
const VKEYS = [node.vkey, other.vkey, meterKey.vkey];

const HASH = 'ab'.repeat(32);

function usage(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    lab: 'lab-a.example',
    facility: 'f1',
    cluster: 'c1',
    node: 'n1',
    seq: 7,
    prev: HASH,
    start: '2026-11-27T00:00:00Z',
    end: '2026-11-27T00:05:00Z',
    gpus: 8,
    gpuSeconds: 2400,
    energyJ: 168000,
    tensorActive: 0.25,
    flop: 0,
    workload: 'idle',
    bodyHash: 'cd'.repeat(32),
    samples: { count: 2400, root: 'ef'.repeat(32) },
    ...defined(over),
  };
}

/** The members of `o` that are not undefined. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Mostly absent (the valid default stays), sometimes a valid variation, sometimes an edge. */
function some<T>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 14 },
    { arbitrary: valid, weight: 4 },
    { arbitrary: edge, weight: 1 },
  );
}

function meter(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    facility: 'f1',
    meter: 'm1',
    seq: 3,
    prev: HASH,
    start: '2026-11-27T00:00:00Z',
    end: '2026-11-27T00:05:00Z',
    energyJ: 1.5e8,
    counterJ: 123456789012,
    ...defined(over),
  };
}

/** JSON with members sorted at every level (the JCS form for these payloads). */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

type Signer = typeof node;

/** An entry: payload text signed as `type` by the signers, written in the envelope form given. */
function entry(
  type: string,
  payloadText: string,
  signers: Signer[],
  form: 'jcs' | 'spaced' | 'reordered' = 'jcs',
  sigEdit?: (sig: string) => string,
): Uint8Array {
  const bytes = Buffer.from(payloadText, 'utf8');
  const sigs = signers.map((s) => {
    const e = signEnvelope(type, bytes, s.signer);
    const sig = e.signatures[0]!;
    return { keyid: sig.keyid, sig: sigEdit ? sigEdit(sig.sig) : sig.sig };
  });
  const payload = bytes.toString('base64');
  let text: string;
  if (form === 'jcs') text = sortedJson({ payload, payloadType: type, signatures: sigs });
  else if (form === 'spaced')
    text = JSON.stringify({ payload, payloadType: type, signatures: sigs }, null, 1);
  else text = JSON.stringify({ payloadType: type, payload, signatures: sigs });
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** The records of both paths, as plain JSON. */
function both(entries: Uint8Array[], start = 0) {
  const packed = unpackRun(
    new Packer(packRules(), VKEYS).run({ start, entries }),
    new StringTable(),
  );
  const ref = decodeRun(new KeyRing(VKEYS), { start, entries });
  return { packed, ref };
}

function expectSame(entries: Uint8Array[]): number {
  const { packed, ref } = both(entries);
  expect(JSON.parse(JSON.stringify(packed.records))).toEqual(
    JSON.parse(JSON.stringify(ref.records)),
  );
  expect(Buffer.from(packed.leaf)).toEqual(Buffer.from(ref.leaf));
  expect(packed.newKeys).toEqual(ref.newKeys);
  return packed.records.filter((r) => r instanceof PackedRecord).length;
}

const idLike = fc.oneof(
  fc.constantFrom(
    'f1',
    'c1',
    'n1',
    '.',
    '..',
    '...',
    'a.b',
    'A_b-9',
    'x'.repeat(64),
    'x'.repeat(65),
  ),
  fc.constantFrom('', 'with space', 'ü', 'a/b', 'a"b', 'a\\b', 'a\u0001b', 'a\u2028'),
  fc.string({ minLength: 0, maxLength: 8 }),
);
const labLike = fc.oneof(
  fc.constantFrom('lab-a.example', 'Lab.example', '-a.example', 'a..b', 'a', 'a'.repeat(64)),
  fc.string({ maxLength: 12 }),
);
const numLike = fc.oneof(
  fc.constantFrom(0, -0, 1, 0.5, 1e21, 1e-7, 2 ** 53, 2 ** 53 + 2, -1, 1.5, 8, 2400, 2401),
  fc.integer({ min: -5, max: 3_000_000_000 }),
  fc.double({ noNaN: true }),
);
const timeLike = fc.oneof(
  fc.constantFrom(
    '2026-11-27T00:00:00Z',
    '2026-11-27T00:05:00Z',
    '2024-02-29T23:59:59Z',
    '2026-02-29T00:00:00Z',
    '2026-11-27T24:00:00Z',
    '2026-11-27T00:00:60Z',
    '2026-11-27T00:00:00.000Z',
    '2026-11-27 00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
  ),
  fc
    .date({ min: new Date(0), max: new Date(Date.UTC(2100, 0)), noInvalidDate: true })
    .map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')),
);
const hashLike = fc.oneof(
  fc.constantFrom(HASH, '0'.repeat(64), 'AB'.repeat(32), 'ab'.repeat(31), `${'ab'.repeat(31)}g0`),
  fc.string({ maxLength: 70 }),
);
const workloadLike = fc.constantFrom(
  'idle',
  'inference',
  'training',
  'maintenance',
  'mixed',
  'Idle',
  '',
);

const validId = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((x) => x !== '.' && x !== '..');
const validNum = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  fc.double({ min: 0, max: 1e30, noNaN: true }),
);
const validTime = fc
  .integer({ min: 0, max: 4_000_000_000 })
  .map((t) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const validHash = fc.stringMatching(/^[0-9a-f]{64}$/);

/** A usage payload with some members changed (or removed, or added). */
const usageArb = fc
  .record({
    lab: some(fc.constantFrom('lab-a.example', 'b.example', 'x1'), labLike),
    facility: some(validId, idLike),
    cluster: some(validId, idLike),
    node: some(validId, idLike),
    seq: some(fc.integer({ min: 0, max: 2 ** 53 - 1 }), numLike),
    prev: some(validHash, hashLike),
    start: some(fc.constantFrom('2026-11-26T23:00:00Z'), timeLike),
    end: some(fc.constantFrom('2026-11-27T01:00:00Z', '2026-11-27T00:00:01Z'), timeLike),
    gpus: some(fc.integer({ min: 0, max: 64 }), numLike),
    gpuSeconds: some(fc.integer({ min: 0, max: 2400 }), numLike),
    energyJ: some(validNum, numLike),
    tensorActive: some(fc.double({ min: 0, max: 1, noNaN: true }), numLike),
    flop: some(validNum, numLike),
    workload: some(workloadLike, fc.constantFrom('Idle', '', 'idle ')),
    bodyHash: some(validHash, hashLike),
    samples: some(
      fc.record({ count: fc.integer({ min: 0, max: 1e9 }), root: validHash }),
      fc.oneof(
        fc.record({ count: numLike, root: hashLike }),
        fc.constantFrom(null, [], { count: 1, root: HASH, extra: 1 }, { root: HASH, count: 1 }),
      ),
    ),
    v: some(fc.constant(1), fc.constantFrom(2, '1', 1.5)),
    extra: some(fc.constant(undefined), fc.constantFrom(1, 'x')),
  })
  .map((over) => usage(over));

const meterArb = fc
  .record({
    facility: some(validId, idLike),
    meter: some(validId, idLike),
    seq: some(fc.integer({ min: 0, max: 2 ** 53 - 1 }), numLike),
    prev: some(validHash, hashLike),
    start: some(validTime, timeLike),
    end: some(fc.constantFrom('2100-01-01T00:00:00Z'), timeLike),
    energyJ: some(validNum, numLike),
    counterJ: some(validNum, numLike),
    v: some(fc.constant(1), fc.constantFrom(2, 0)),
  })
  .map((over) => meter(over));

/** Mostly canonical. */
const howArb = fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, fc.integer({ min: 1, max: 8 }));

/** Ways of writing a payload: canonical, or one of the forms the strict decoder refuses. */
const textOf = (p: Record<string, unknown>, how: number): string => {
  const canon = sortedJson(p);
  switch (how) {
    case 0:
      return canon;
    case 1:
      return JSON.stringify(p); // members in insertion order
    case 2:
      return canon.replace(':', ': ');
    case 3:
      return canon.replace('"f1"', '"\\u0066\\u0031"');
    case 4:
      return canon.replace(/:(\d+),/, ':$1.0,');
    case 5:
      return canon.replace(/:(\d+),/, ':0$1,');
    case 6:
      return canon.replace(/:(\d+),/, ':$1e0,');
    case 7:
      return `${canon} `;
    default:
      return canon.replace('idle', 'id\\u006ce');
  }
};

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
    const reg = sortedJson({
      v: 1,
      lab: 'lab-a.example',
      action: 'add',
      role: 'node',
      key: stranger.vkey,
      facility: 'f1',
      cluster: 'c1',
      node: 'n9',
      time: '2026-11-26T00:00:00Z',
    });
    const cases = [
      entry(PAYLOAD_TYPE.usage, text, [node], 'spaced'),
      entry(PAYLOAD_TYPE.usage, text, [node], 'reordered'),
      entry(PAYLOAD_TYPE.usage, text, [node, other]),
      entry(PAYLOAD_TYPE.usage, text, [other, node, stranger]),
      entry(PAYLOAD_TYPE.usage, text, [node, node]),
      entry(PAYLOAD_TYPE.usage, text, []),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', (s) => s.replace(/==$/, '=')),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', (s) => `${s.slice(0, -3)}B==`),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', (s) => s.slice(4)),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', (s) => `${s}AAAA`),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', () => 'not base64!'),
      entry(PAYLOAD_TYPE.usage, text, [node], 'jcs', (s) => s.replace('/', '\\/')),
      entry(PAYLOAD_TYPE.meter, text, [node]),
      entry(PAYLOAD_TYPE.usage, sortedJson(meter()), [meterKey]),
      entry(PAYLOAD_TYPE.registration, reg, [node]),
      entry('application/vnd.vpause.other+json', text, [node]),
      entry('application/vnd.vpause.usage+json; x', text, [node]),
      // the registration's key is then checked ahead for the entries that follow
      entry(PAYLOAD_TYPE.usage, text, [stranger]),
      new Uint8Array(0),
      new Uint8Array(Buffer.from('{"payload":"","payloadType":"x","signatures":[]}')),
      new Uint8Array(Buffer.from('not json at all')),
    ];
    expectSame(cases);
    const { packed } = both(cases);
    expect(packed.newKeys).toEqual([stranger.vkey]);
    const after = packed.records[17]!;
    expect('valid' in after && after.valid).toEqual([stranger.vkey]);
  });

  it('gives the same records for entries mutated byte by byte', () => {
    const base = [
      entry(PAYLOAD_TYPE.usage, sortedJson(usage()), [node]),
      entry(PAYLOAD_TYPE.meter, sortedJson(meter()), [meterKey]),
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom('set', 'insert', 'delete'),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (which, edits) => {
          const b = [...base[which]!];
          for (const [at, byte, op] of edits) {
            const i = at % (b.length + 1);
            if (op === 'set' && i < b.length) b[i] = byte;
            else if (op === 'insert') b.splice(i, 0, byte);
            else if (op === 'delete' && i < b.length) b.splice(i, 1);
          }
          expectSame([new Uint8Array(b)]);
        },
      ),
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
});
