import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type NewOutboxStatement,
  Outbox,
  packLeaves,
  unpackLeaves,
} from '../../nodes/daemon/outbox.js';
import { PAYLOAD_TYPE, payloadHash, ZERO_HASH } from '../../protocol/src/index.js';
import { fromBase64 } from '../../src/core/bytes.js';
import { hashLeaf } from '../../src/merkle/rfc9162.js';
import { TestLab } from '../helpers/world.js';
import { tmp } from './fixtures.js';

const CHAIN = 'usage/lab-a.example/f1/c1/n1';

/** The next usage statement of a test lab's node n1, as the outbox stores it. */
function statements(n: number): NewOutboxStatement[] {
  const lab = new TestLab('lab-a.example');
  const out: NewOutboxStatement[] = [];
  let prev = ZERO_HASH;
  for (let seq = 0; seq < n; seq++) {
    const s = lab.usage('n1');
    const env = JSON.parse(Buffer.from(s.body).toString('utf8'));
    out.push({
      seq,
      prev,
      payloadType: PAYLOAD_TYPE.usage,
      payload: fromBase64(env.payload),
      entry: s.body,
      leafHash: hashLeaf(s.body),
      startMs: 1000 * seq,
      endMs: 1000 * (seq + 1),
      createdMs: 0,
      body: new TextEncoder().encode(`{"body":${seq}}`),
      leaves: [new Uint8Array([seq]), new Uint8Array([seq, seq])],
    });
    prev = payloadHash(fromBase64(env.payload));
  }
  return out;
}

describe('the outbox', () => {
  it('opens with WAL and synchronous = FULL (a committed append is on disk)', () => {
    const o = Outbox.open({ path: join(tmp(), 'o.db'), chain: CHAIN });
    expect(o.settings()).toEqual({ journalMode: 'wal', synchronous: 2 });
    o.close();
  });

  it('takes seq and prev of the next statement from disk after a reopen', () => {
    const path = join(tmp(), 'o.db');
    const st = statements(3);
    const o = Outbox.open({ path, chain: CHAIN });
    expect(o.tip()).toMatchObject({ nextSeq: 0, prev: ZERO_HASH, lastEndMs: undefined });
    for (const s of st) o.append(s);
    o.close();
    const again = Outbox.open({ path, chain: CHAIN });
    expect(again.tip()).toMatchObject({
      nextSeq: 3,
      prev: payloadHash(st[2]!.payload),
      lastEndMs: 3000,
    });
    expect(again.list().map((r) => r.seq)).toEqual([0, 1, 2]);
    again.close();
  });

  describe('when a statement does not extend the stored chain', () => {
    it('refuses a gap, a repeated seq and a wrong prev with OUTBOX_CHAIN, storing nothing', () => {
      const o = Outbox.open({ path: join(tmp(), 'o.db'), chain: CHAIN });
      const st = statements(3);
      o.append(st[0]!);
      expect(() => o.append(st[2]!)).toThrow(expect.objectContaining({ code: 'OUTBOX_CHAIN' }));
      expect(() => o.append(st[0]!)).toThrow(expect.objectContaining({ code: 'OUTBOX_CHAIN' }));
      expect(() => o.append({ ...st[1]!, prev: ZERO_HASH })).toThrow(
        expect.objectContaining({ code: 'OUTBOX_CHAIN' }),
      );
      expect(o.counts()).toEqual({ total: 1, unsequenced: 1, unreceipted: 1 });
      o.close();
    });
  });

  it('refuses a second writer on the same outbox with OUTBOX_LOCKED', () => {
    const path = join(tmp(), 'o.db');
    const o = Outbox.open({ path, chain: CHAIN });
    expect(() => Outbox.open({ path, chain: CHAIN, lockTimeoutMs: 50 })).toThrow(
      expect.objectContaining({ code: 'OUTBOX_LOCKED' }),
    );
    o.close();
  });

  it('refuses to open an outbox of another chain with OUTBOX_IDENTITY', () => {
    const path = join(tmp(), 'o.db');
    Outbox.open({ path, chain: CHAIN }).close();
    expect(() => Outbox.open({ path, chain: 'usage/lab-a.example/f1/c1/n2' })).toThrow(
      expect.objectContaining({ code: 'OUTBOX_IDENTITY' }),
    );
  });

  it('tracks acknowledgement and receipt, and keeps the first acknowledged index', () => {
    const o = Outbox.open({ path: join(tmp(), 'o.db'), chain: CHAIN });
    for (const s of statements(2)) o.append(s);
    expect(o.nextUnsequenced()?.seq).toBe(0);
    o.markSequenced(0, 7, 1);
    o.markSequenced(0, 9, 2);
    expect(o.get(0)?.logIndex).toBe(7);
    expect(o.getByLogIndex(7)?.seq).toBe(0);
    expect(o.nextUnsequenced()?.seq).toBe(1);
    expect(o.unreceipted().map((r) => r.seq)).toEqual([0]);
    o.storeReceipt(0, 'receipt', 3);
    expect(o.unreceipted()).toEqual([]);
    expect(o.counts()).toEqual({ total: 2, unsequenced: 1, unreceipted: 1 });
    o.close();
  });

  it('keeps the private detail until it is past retention and receipted', () => {
    const o = Outbox.open({ path: join(tmp(), 'o.db'), chain: CHAIN });
    for (const s of statements(2)) o.append(s);
    expect(Buffer.from(o.private(1)!.body).toString()).toBe('{"body":1}');
    expect(o.private(1)!.leaves.map((l) => [...l])).toEqual([[1], [1, 1]]);
    o.markSequenced(0, 0, 0);
    o.storeReceipt(0, 'r', 0);
    expect(o.purgePrivate(10_000)).toBe(1); // seq 1 has no receipt: kept
    expect(o.private(0)).toBeUndefined();
    expect(o.get(0)?.hasPrivate).toBe(false);
    expect(o.private(1)).toBeDefined();
    o.close();
  });

  it('records an audit nonce once: the second use is a replay', () => {
    const o = Outbox.open({ path: join(tmp(), 'o.db'), chain: CHAIN });
    expect(o.useNonce('aa'.repeat(16), 'v+00000000', 0, 1000)).toBe(true);
    expect(o.useNonce('aa'.repeat(16), 'v+00000000', 1, 1000)).toBe(false);
    o.close();
  });

  it('packs and unpacks any list of sample leaves unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 50 }), (leaves) => {
        expect(unpackLeaves(packLeaves(leaves)).map((l) => [...l])).toEqual(
          leaves.map((l) => [...l]),
        );
      }),
    );
  });

  it('refuses a damaged samples blob with OUTBOX_STORAGE', () => {
    expect(() => unpackLeaves(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'OUTBOX_STORAGE' }),
    );
  });
});
