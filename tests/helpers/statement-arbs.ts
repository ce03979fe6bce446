/**
 * Statements around the rules of the byte-level readers (the verifier's packer, the log's batch
 * preparation): payloads with each member valid, varied or broken (fast-check arbitraries),
 * written canonically or in one of the forms the strict parser refuses, in envelopes of several
 * forms. Shared by tests/verifier/packed.test.ts and tests/log/prepare-batch.test.ts.
 */
import fc from 'fast-check';
import { signEnvelope } from '../../protocol/src/dsse.js';
import { testKey } from './world.js';

export const HASH = 'ab'.repeat(32);

/** The keys both readers' tests sign with: two nodes, a meter, and one no ring knows. */
export const node = testKey('lab-a.example/node/f1/c1/n1');
export const other = testKey('lab-a.example/node/f1/c1/n2');
export const meterKey = testKey('meter.f1.packed.example');
export const stranger = testKey('stranger.example/k');

export function usage(over: Record<string, unknown> = {}): Record<string, unknown> {
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

export function meter(over: Record<string, unknown> = {}): Record<string, unknown> {
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
export function sortedJson(v: unknown): string {
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

export type Signer = ReturnType<typeof testKey>;

/** An entry: payload text signed as `type` by the signers, written in the envelope form given. */
export function entry(
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
export const usageArb = fc
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

export const meterArb = fc
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
export const howArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 4 },
  fc.integer({ min: 1, max: 8 }),
);

/** Ways of writing a payload: canonical, or one of the forms the strict decoder refuses. */
export const textOf = (p: Record<string, unknown>, how: number): string => {
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

/** The text of a node registration (JCS) of `key`, for lab-a.example's node f1/c1/n9. */
export function registrationText(key: string): string {
  return sortedJson({
    v: 1,
    lab: 'lab-a.example',
    action: 'add',
    role: 'node',
    key,
    facility: 'f1',
    cluster: 'c1',
    node: 'n9',
    time: '2026-11-26T00:00:00Z',
  });
}

/**
 * One payload text of `type` in envelopes the byte-level readers must leave to the strict path,
 * or read with care: other forms, several or no signatures (signers a, b, c), and signatures
 * that are not canonical base64 of 64 bytes.
 */
export function envelopeVariants(
  type: string,
  text: string,
  a: Signer,
  b: Signer,
  c: Signer,
): Uint8Array[] {
  return [
    entry(type, text, [a], 'spaced'),
    entry(type, text, [a], 'reordered'),
    entry(type, text, [a, b]),
    entry(type, text, [b, a, c]),
    entry(type, text, [a, a]),
    entry(type, text, []),
    entry(type, text, [a], 'jcs', (s) => s.replace(/==$/, '=')),
    entry(type, text, [a], 'jcs', (s) => `${s.slice(0, -3)}B==`),
    entry(type, text, [a], 'jcs', (s) => s.slice(4)),
    entry(type, text, [a], 'jcs', (s) => `${s}AAAA`),
    entry(type, text, [a], 'jcs', () => 'not base64!'),
    entry(type, text, [a], 'jcs', (s) => s.replace('/', '\\/')),
  ];
}

/** Bodies that are no envelope: empty, an envelope frame without signatures, not JSON. */
export function nonEnvelopes(): Uint8Array[] {
  return [
    new Uint8Array(0),
    new Uint8Array(Buffer.from('{"payload":"","payloadType":"x","signatures":[]}')),
    new Uint8Array(Buffer.from('not json at all')),
  ];
}

/** Up to three byte edits: set, insert or delete a byte at a position (taken modulo the length). */
export const byteEditsArb = fc.array(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')),
  { minLength: 1, maxLength: 3 },
);

/** `bytes` with `edits` (byteEditsArb) applied, as a new array. */
export function applyEdits(
  bytes: Uint8Array,
  edits: readonly (readonly [number, number, string])[],
): Uint8Array {
  const b = [...bytes];
  for (const [at, byte, op] of edits) {
    const i = at % (b.length + 1);
    if (op === 'set' && i < b.length) b[i] = byte;
    else if (op === 'insert') b.splice(i, 0, byte);
    else if (op === 'delete' && i < b.length) b.splice(i, 1);
  }
  return new Uint8Array(b);
}
