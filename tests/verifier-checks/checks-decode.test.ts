/**
 * The verifier's fast decoder (src/verifier/decode.ts) must accept exactly what the reference
 * decoder `parseEntry(entry, { requireCanonical: true })` accepts, give the same payload and the
 * same payload hash, and refuse everything else with the same code: on every protocol vector, on
 * fast-check mutations of valid usage and meter entries (bytes, whitespace, member order, number
 * spellings, escapes, duplicate members), and on its hand-written pieces (time, PAE).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeStatement, PAYLOAD_TYPE, parseEntry, payloadHash } from '../../protocol/src/index.js';
import { formatTime, isTime, parseTime } from '../../protocol/src/time.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { checkSignature, decodeEntry, isTimeFast, seconds } from '../../src/verifier/decode.js';
import { testKey } from '../helpers/world.js';

type Outcome =
  | { ok: true; payload: unknown; hash: string; type: string }
  | { ok: false; code: string };

function reference(entry: Uint8Array): Outcome {
  try {
    const p = parseEntry(entry, { requireCanonical: true });
    return { ok: true, payload: p.payload, hash: payloadHash(p.payloadBytes), type: p.payloadType };
  } catch (e) {
    return { ok: false, code: (e as { code: string }).code };
  }
}

function fast(entry: Uint8Array): Outcome {
  try {
    const d = decodeEntry(entry);
    return { ok: true, payload: d.payload, hash: d.payloadHash, type: d.payloadType };
  } catch (e) {
    return { ok: false, code: (e as { code: string }).code };
  }
}

const VECTORS = join(process.cwd(), 'protocol', 'vectors', 'statements');

describe('on every protocol vector', () => {
  const files = readdirSync(VECTORS).filter((f) => f.endsWith('.json'));
  it('has vectors to check', () => expect(files.length).toBeGreaterThan(50));
  for (const f of files) {
    it(`agrees with parseEntry on ${f}`, () => {
      const v = JSON.parse(readFileSync(join(VECTORS, f), 'utf8'));
      const entry =
        v.entryHex !== undefined
          ? new Uint8Array(Buffer.from(v.entryHex, 'hex'))
          : new TextEncoder().encode(v.entry);
      expect(fast(entry)).toEqual(reference(entry));
    });
  }
});

const node = testKey('lab-a.example/node/f1/c1/n1');
const meter = testKey('meter.f1.example');
const usage = makeStatement(
  PAYLOAD_TYPE.usage,
  {
    v: 1,
    lab: 'lab-a.example',
    facility: 'f1',
    cluster: 'c1',
    node: 'n1',
    seq: 3,
    prev: 'ab'.repeat(32),
    start: '2026-11-27T00:05:00Z',
    end: '2026-11-27T00:10:00Z',
    gpus: 8,
    gpuSeconds: 2399.5,
    energyJ: 1.5e6,
    tensorActive: 0.125,
    flop: 3.2e17,
    workload: 'inference',
    bodyHash: 'cd'.repeat(32),
    samples: { count: 2400, root: 'ef'.repeat(32) },
  },
  node.signer,
).entry;
const reading = makeStatement(
  PAYLOAD_TYPE.meter,
  {
    v: 1,
    facility: 'f1',
    meter: 'm1',
    seq: 0,
    prev: '0'.repeat(64),
    start: '2026-11-27T00:05:00Z',
    end: '2026-11-27T00:10:00Z',
    energyJ: 2.1e8,
    counterJ: 9.87e12,
  },
  meter.signer,
).entry;

/** JSON-level rewrites of a payload a mutation can pick (each keeps or breaks canonicity). */
const payloadEdits: ((text: string) => string)[] = [
  (t) => t.replace('"seq":3', '"seq":3.0'),
  (t) => t.replace('"seq":3', '"seq":3e0'),
  (t) => t.replace('"energyJ":1500000', '"energyJ":1.5e6'),
  (t) => t.replace('{', '{ '),
  (t) => t.replace('"v":1,', '"v":1,"v":1,'),
  (t) => t.replace('"v":1,', ''),
  (t) => t.replace('"cluster":"c1",', '"cluster":"c\\u0031",'),
  (t) => t.replace('"lab":"lab-a.example"', '"lab":"Lab-a.example"'),
  (t) => t.replace('"workload":"inference"', '"workload":"gaming"'),
  (t) => t.replace('"end":"2026-11-27T00:10:00Z"', '"end":"2026-11-27T00:05:00Z"'),
  (t) => t.replace('"end":"2026-11-27T00:10:00Z"', '"end":"2026-02-30T00:10:00Z"'),
  (t) => t.replace('"gpuSeconds":2399.5', '"gpuSeconds":2400.5'),
  (t) => t.replace('"tensorActive":0.125', '"tensorActive":1.125'),
  (t) => t.replace('"prev":"abab', '"prev":"ABab'),
  (t) => t.replace('"samples":{"count":2400,', '"samples":{"x":1,"count":2400,'),
  (t) => t.replace('"bodyHash"', '"zz":0,"bodyHash"'),
  (t) => `${t} `,
  (t) => t.replace('"gpus":8', '"gpus":-8'),
  (t) => t.replace('"flop":320000000000000000', '"flop":1e400'),
];

function editPayload(entry: Uint8Array, edit: (t: string) => string): Uint8Array {
  const env = JSON.parse(new TextDecoder().decode(entry));
  const text = Buffer.from(env.payload, 'base64').toString('utf8');
  env.payload = Buffer.from(edit(text), 'utf8').toString('base64');
  return new TextEncoder().encode(JSON.stringify(env));
}

const envelopeEdits: ((text: string) => string)[] = [
  (t) => t.replace('{"payload"', '{ "payload"'),
  (t) =>
    t.replace(
      '"payloadType":"application/vnd.vpause.usage+json"',
      '"payloadType":"application\\/vnd.vpause.usage+json"',
    ),
  (t) =>
    t.replace(
      '"payloadType":"application/vnd.vpause.usage+json"',
      '"payloadType":"application/vnd.vpause.Usage+json"',
    ),
  (t) => t.replace('"signatures":[', '"x":1,"signatures":['),
  (t) => t.replace('"signatures":[{', '"signatures":[{"keyid":"a+00000000","sig":"AA=="},{'),
  (t) => t.replace(/"sig":"[^"]*"/, '"sig":"AAAA"'),
  (t) => t.replace(/"sig":"([^"]*)"/, '"sig":"$1 "'),
  (t) => t.replace(/\}\]\}$/, '}],"payload":"x"}'),
  (t) => t.replace(/\}\]\}$/, '},{"keyid":"x+00000000","sig":"AA=="}]}'),
  (t) => t.replace('"keyid":"', '"keyid":"\\"'),
  (t) => t.replace(/"payload":"([^"]{4})/, '"payload":"$1\\n'),
];

describe('on mutations of valid usage and meter entries', () => {
  it('accepts the valid entries on the fast path with the reference payload', () => {
    for (const e of [usage, reading]) {
      const r = reference(e);
      expect(r.ok).toBe(true);
      expect(fast(e)).toEqual(r);
    }
  });

  it('agrees with parseEntry on random byte flips, insertions and deletions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(usage, reading),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
            fc.constantFrom('flip', 'insert', 'delete'),
          ),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        (base, edits) => {
          const b = [...base];
          for (const [at, byte, op] of edits) {
            const i = at % b.length;
            if (op === 'flip') b[i] = byte;
            else if (op === 'insert') b.splice(i, 0, byte);
            else b.splice(i, 1);
          }
          const e = new Uint8Array(b);
          expect(fast(e)).toEqual(reference(e));
        },
      ),
      { numRuns: 400, seed: 6 },
    );
  });

  it('agrees with parseEntry on payload and envelope rewrites', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...payloadEdits.map((_, i) => i)),
        fc.constantFrom(...envelopeEdits.map((_, i) => i), -1),
        (p, en) => {
          let e = editPayload(usage, payloadEdits[p]!);
          if (en >= 0)
            e = new TextEncoder().encode(envelopeEdits[en]!(new TextDecoder().decode(e)));
          expect(fast(e)).toEqual(reference(e));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('the fast time check', () => {
  it('equals isTime on valid times and on near misses', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200, max: 253_402_300_799 }), (s) => {
        const t = formatTime(s);
        expect(isTimeFast(t)).toBe(true);
        expect(isTime(t)).toBe(true);
      }),
      { numRuns: 500, seed: 1 },
    );
    const near = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
      )
      .map(([y, mo, d, h, mi, s]) => {
        const p = (n: number, w: number) => String(n).padStart(w, '0');
        return `${p(y, 4)}-${p(mo, 2)}-${p(d, 2)}T${p(h, 2)}:${p(mi, 2)}:${p(s, 2)}Z`;
      });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 22 })), (t) => {
        expect(isTimeFast(t)).toBe(isTime(t));
      }),
      { numRuns: 3000, seed: 2 },
    );
    for (const t of [
      '2024-02-29T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
    ]) {
      expect(isTimeFast(t)).toBe(isTime(t));
    }
  });
});

describe('times as seconds', () => {
  it('equal parseTime and Date.parse on every representable time and the calendar edges', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200, max: 253_402_300_799 }), (s) => {
        const t = formatTime(s);
        expect(seconds(t)).toBe(s);
        expect(seconds(t)).toBe(parseTime(t));
        expect(seconds(t)).toBe(Date.parse(t) / 1000);
      }),
      { numRuns: 5000, seed: 3 },
    );
    for (const t of [
      '0000-01-01T00:00:00Z',
      '0000-02-29T23:59:59Z',
      '0000-03-01T00:00:00Z',
      '1600-02-29T12:00:00Z',
      '1969-12-31T23:59:59Z',
      '1970-01-01T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2100-03-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
    ]) {
      expect(seconds(t)).toBe(parseTime(t));
    }
  });
});

describe('signature checks', () => {
  const d = decodeEntry(usage);
  const key = parseVerifierKey(node.vkey);
  it('say valid, invalid or absent', () => {
    const keyid = d.signatures[0]!.keyid;
    expect(checkSignature(d, key, keyid)).toBe('valid');
    const other = parseVerifierKey(meter.vkey);
    expect(checkSignature(d, other, 'meter.f1.example+00000000')).toBe('absent');
    const forged = { ...d, payloadBytes: new TextEncoder().encode('{}') };
    expect(checkSignature(forged, key, keyid)).toBe('invalid');
    const badB64 = { ...d, signatures: [{ keyid, sig: 'AAA' }] };
    expect(checkSignature(badB64, key, keyid)).toBe('invalid');
  });
});
