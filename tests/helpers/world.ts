/**
 * Test fixtures: deterministic keys and statement builders for a small world of labs, nodes and
 * meters. Keys come from a seeded generator so every run builds the same bytes.
 */
import { createHash } from 'node:crypto';
import {
  makeStatement,
  PAYLOAD_TYPE,
  type PayloadOf,
  type PayloadType,
  payloadHash,
  ZERO_HASH,
} from '../../protocol/src/index.js';
import { toHex } from '../../src/core/bytes.js';
import {
  generateKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  type SignerKey,
} from '../../src/note/keys.js';

/** Deterministic randomness: SHA-256 counter mode over a label. */
export function seededRandom(label: string): (n: number) => Uint8Array {
  let ctr = 0;
  return (n) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const h = createHash('sha256').update(`${label}/${ctr++}`).digest();
      out.set(h.subarray(0, Math.min(32, n - o)), o);
      o += 32;
    }
    return out;
  };
}

export interface TestKey {
  signer: SignerKey;
  vkey: string;
  privateKey: string;
}

export function testKey(name: string, cosignature = false): TestKey {
  const k = generateKey(
    name,
    cosignature ? KEY_TYPE_COSIGNATURE : KEY_TYPE_ED25519,
    seededRandom(`key:${name}`),
  );
  return { signer: k.signer, vkey: k.vkey, privateKey: k.privateKey };
}

export function statement<T extends PayloadType>(
  type: T,
  payload: PayloadOf<T>,
  signer: SignerKey,
): { body: Uint8Array; payloadBytes: Uint8Array } {
  const s = makeStatement(type, payload, signer);
  return {
    body: s.entry,
    payloadBytes: new TextEncoder().encode(
      Buffer.from(s.envelope.payload, 'base64').toString('utf8'),
    ),
  };
}

export const T0 = Date.UTC(2026, 10, 27, 0, 0, 0);
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A lab with a root key and nodes with keys, building valid statements. */
export class TestLab {
  readonly root: TestKey;
  readonly nodes = new Map<string, { key: TestKey; seq: number; prev: string }>();
  constructor(readonly lab: string) {
    this.root = testKey(`${lab}/root`);
  }

  nodeKey(node: string): TestKey {
    let n = this.nodes.get(node);
    if (n === undefined) {
      n = { key: testKey(`${this.lab}/${node}`), seq: 0, prev: ZERO_HASH };
      this.nodes.set(node, n);
    }
    return n.key;
  }

  register(node: string, action: 'add' | 'revoke' = 'add', facility = 'f1', cluster = 'c1') {
    return statement(
      PAYLOAD_TYPE.registration,
      {
        v: 1,
        lab: this.lab,
        action,
        role: 'node',
        key: this.nodeKey(node).vkey,
        facility,
        cluster,
        node,
        time: iso(T0),
      },
      this.root.signer,
    );
  }

  /** The next usage report of `node` (advances its chain). */
  usage(
    node: string,
    over: Partial<PayloadOf<typeof PAYLOAD_TYPE.usage>> = {},
    signer?: SignerKey,
  ) {
    this.nodeKey(node);
    const n = this.nodes.get(node)!;
    const start = T0 + n.seq * 300_000;
    const payload: PayloadOf<typeof PAYLOAD_TYPE.usage> = {
      v: 1,
      lab: this.lab,
      facility: 'f1',
      cluster: 'c1',
      node,
      seq: n.seq,
      prev: n.prev,
      start: iso(start),
      end: iso(start + 300_000),
      gpus: 8,
      gpuSeconds: 0,
      energyJ: 168_000,
      tensorActive: 0,
      flop: 0,
      workload: 'idle',
      bodyHash: toHex(createHash('sha256').update(`body-${node}-${n.seq}`).digest()),
      samples: { count: 2400, root: toHex(createHash('sha256').update(`s-${n.seq}`).digest()) },
      ...over,
    };
    const s = statement(PAYLOAD_TYPE.usage, payload, signer ?? n.key.signer);
    n.seq++;
    n.prev = payloadHash(s.payloadBytes);
    return s;
  }
}
