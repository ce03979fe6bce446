/**
 * The pieces of the verifier's ingestion (src/verifier/ingest.ts) that stand in for slower
 * reference code: leaf hashes and the root of a full tile computed in place, entries read as views
 * of their bundle; and the evaluation's record of used statements (src/verifier/findings.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeStatement, PAYLOAD_TYPE } from '../../protocol/src/index.js';
import { formatTime } from '../../protocol/src/time.js';
import { hashLeaf, rootFromLeafHashes } from '../../src/merkle/rfc9162.js';
import { encodeEntryBundle, parseEntryBundle } from '../../src/merkle/tiles.js';
import { FindingSet } from '../../src/verifier/findings.js';
import { decodeRun, KeyRing, perfectRoot } from '../../src/verifier/ingest.js';
import type { StatementRecord } from '../../src/verifier/log-index.js';
import { testKey } from '../helpers/world.js';

const meter = testKey('meter.f1.ingest.example');

function meterEntries(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    out.push(
      makeStatement(
        PAYLOAD_TYPE.meter,
        {
          v: 1,
          facility: 'f1',
          meter: 'm1',
          seq: k,
          prev: '0'.repeat(64),
          start: formatTime(1_800_000_000 + k * 300),
          end: formatTime(1_800_000_300 + k * 300),
          energyJ: 1000 + k,
          counterJ: 1000 * k,
        },
        meter.signer,
      ).entry,
    );
  }
  return out;
}

describe('ingestion', () => {
  it('computes the root of 2^k packed leaf hashes as rootFromLeafHashes does', () => {
    for (let k = 0; k <= 8; k++) {
      const n = 2 ** k;
      const packed = new Uint8Array(randomBytes(32 * n));
      const leaves = Array.from({ length: n }, (_, i) => packed.slice(i * 32, i * 32 + 32));
      const before = Buffer.from(packed);
      expect(Buffer.from(perfectRoot(packed))).toEqual(Buffer.from(rootFromLeafHashes(leaves)));
      expect(Buffer.from(packed)).toEqual(before);
    }
  });

  it('reads a bundle as views, with the leaf hashes, subtree and records of the listed entries', () => {
    const entries = meterEntries(256);
    entries[7] = new Uint8Array(Buffer.from('{"not":"an envelope"}'));
    const bundle = encodeEntryBundle(entries);
    const views = parseEntryBundle(bundle, 256, { views: true });
    expect(views.map((v) => Buffer.from(v))).toEqual(entries.map((e) => Buffer.from(e)));
    expect(views[3]!.buffer).toBe(bundle.buffer);
    expect(parseEntryBundle(bundle, 256)[3]!.buffer).not.toBe(bundle.buffer);

    const fromBundle = decodeRun(new KeyRing([meter.vkey]), {
      start: 512,
      bundle,
      width: 256,
      skip: 0,
      count: 256,
    });
    const listed = decodeRun(new KeyRing([meter.vkey]), { start: 512, entries });
    expect(fromBundle.records).toEqual(listed.records);
    expect(Buffer.from(fromBundle.leaf)).toEqual(Buffer.from(listed.leaf));
    entries.forEach((e, i) => {
      expect(Buffer.from(fromBundle.leaf.subarray(i * 32, i * 32 + 32))).toEqual(
        Buffer.from(hashLeaf(e)),
      );
    });
    const leaves = entries.map((e) => hashLeaf(e));
    expect(Buffer.from(fromBundle.subtree!)).toEqual(Buffer.from(rootFromLeafHashes(leaves)));
    expect(fromBundle.records[7]).toMatchObject({ index: 519, code: expect.any(String) });
    expect(fromBundle.records[8]).toMatchObject({ index: 520, valid: [meter.vkey], invalid: [] });
    expect(Buffer.from(bundle)).toEqual(Buffer.from(encodeEntryBundle(entries)));

    // A part of a bundle: no subtree, the records of the part.
    const part = decodeRun(new KeyRing([meter.vkey]), {
      start: 522,
      bundle,
      width: 256,
      skip: 10,
      count: 20,
    });
    expect(part.subtree).toBeUndefined();
    expect(part.records).toEqual(listed.records.slice(10, 30));
    expect(() =>
      decodeRun(new KeyRing(), {
        start: 0,
        bundle: bundle.subarray(0, 100),
        width: 256,
        skip: 0,
        count: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'ENTRY_BUNDLE_MALFORMED' }));
  });
});

describe('used statements', () => {
  const rec = (index: number) => ({ index, leafHash: `${index}` }) as unknown as StatementRecord;

  it('are kept once each, in the order first used, whatever the index', () => {
    const fs = new FindingSet();
    const a = rec(5);
    const b = rec(2 ** 26 + 3);
    const c = rec(0);
    const d = rec(100_000);
    fs.useOne(a);
    fs.use(b, undefined, c, a);
    fs.useAll([d, c, b, a, d]);
    fs.useOne(b);
    expect(fs.used.indexes).toEqual([5, 2 ** 26 + 3, 0, 100_000]);
    expect(fs.used.records).toEqual([a, b, c, d]);
    fs.add('seq-gap', 'a gap', { evidence: [[rec(7), 'next']] });
    expect(fs.used.indexes).toEqual([5, 2 ** 26 + 3, 0, 100_000, 7]);
  });
});
