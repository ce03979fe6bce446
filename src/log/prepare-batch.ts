/**
 * Preparing a batch of submitted bodies on a preparation worker (./prepare-thread.ts): every body
 * gets what `prepareParsed` (./prepare.ts) gives it (its canonical entry, leaf hash, payload type,
 * admission payload, keyids and signature outcomes) or the error that refuses it.
 *
 * Nearly all of a log's traffic is usage reports and meter readings submitted exactly as their
 * canonical entries. Those are read by the verifier's packer (../verifier/packed.ts) in one pass
 * over the bytes: no JSON.parse, no JCS re-encoding, no schema objects. The packer packs a body
 * only when it is exactly the JCS entry of a one-signature envelope whose payload is its own JCS
 * text and meets its schema, checked on the bytes. `parseEntry` accepts such a body with the
 * same values, and its entry is the body itself. Every other body, and every doubt, goes through
 * `prepareParsed`, whose answer (or error) is then the answer; the signature checks the packer
 * already made for its envelope are reused there. tests/log/prepare-batch.test.ts holds the
 * two paths to the same results on generated and mutated bodies.
 *
 * Pure: no I/O. One per thread (the packer keeps a string table between batches).
 */
import { signatureDoesNotVerify } from '../../protocol/src/dsse.js';
import { PAYLOAD_TYPE } from '../../protocol/src/schemas.js';
import { keyIdString, parseVerifierKey } from '../note/keys.js';
import { packRules } from '../verifier/pack-rules.js';
import { KIND_RAW, KIND_USAGE, NUM_WIDTH, Packer, STR_WIDTH } from '../verifier/packed.js';
import {
  admissionPayload,
  type KeyRing,
  prepareParsed,
  type SignatureOutcome,
  toWireError,
} from './prepare.js';
import type { WireMeta } from './prepare-pool.js';

/** verifyStatementSignature's outcome for a key whose signature does not verify (rare). */
function invalid(vkey: string): SignatureOutcome {
  return toWireError(signatureDoesNotVerify(keyIdString(parseVerifierKey(vkey))));
}

/** A prepared batch: per body its entry (empty when refused), leaf hash and meta. */
export interface PreparedBatch {
  entries: Uint8Array[];
  /** 32 bytes per body (zero when refused) */
  leaf: Uint8Array<ArrayBuffer>;
  meta: WireMeta[];
  /** bodies the packer read (the rest went through prepareParsed) */
  packed: number;
}

export class BatchPreparer {
  private readonly packer: Packer;

  constructor(private readonly ring: KeyRing) {
    // Registration keys are not taken from submissions: the service adds them once logged.
    this.packer = new Packer(
      packRules(),
      {
        get: (keyid) => ring.get(keyid),
        add: () => false,
        get generation() {
          return ring.generation;
        },
      },
      { admission: true },
    );
  }

  prepare(bodies: readonly Uint8Array[]): PreparedBatch {
    const n = bodies.length;
    const run = this.packer.run({ start: 0, entries: bodies });
    const p = this.packer;
    const entries: Uint8Array[] = new Array(n);
    const meta: WireMeta[] = new Array(n);
    const leaf = new Uint8Array(n * 32);
    let packed = 0;
    for (let i = 0; i < n; i++) {
      const body = bodies[i]!;
      // The outcomes of the packer's signature checks for this body's envelope, if it read it.
      let outcomes: Map<string, SignatureOutcome> | undefined;
      const o0 = run.outAt[i]!;
      const o1 = run.outAt[i + 1]!;
      if (o1 > o0) {
        outcomes = new Map();
        for (let j = o0; j < o1; j++) {
          const vkey = p.stringOf(run.outKey[j]!);
          outcomes.set(vkey, run.outValid[j] === 1 ? null : invalid(vkey));
        }
      }
      const kind = run.kind[i]!;
      if (kind === KIND_RAW) {
        try {
          const r = prepareParsed(body, this.ring, outcomes);
          entries[i] = r.parsed.entry;
          leaf.set(r.leafHash, i * 32);
          meta[i] = {
            payloadType: r.parsed.payloadType,
            payload: admissionPayload(r.parsed.payloadType, r.parsed.payload),
            keyids: r.parsed.envelope.signatures.map((s) => s.keyid),
            outcomes: r.outcomes,
          };
        } catch (e) {
          entries[i] = new Uint8Array(0);
          meta[i] = { error: toWireError(e) };
        }
        continue;
      }
      packed++;
      entries[i] = body;
      leaf.set(run.leaf.subarray(i * 32, i * 32 + 32), i * 32);
      const str = STR_WIDTH * i;
      const seq = run.num[NUM_WIDTH * i + 2]!;
      meta[i] = {
        ...(kind === KIND_USAGE
          ? {
              payloadType: PAYLOAD_TYPE.usage,
              payload: {
                lab: p.stringOf(run.str[str]!),
                facility: p.stringOf(run.str[str + 1]!),
                cluster: p.stringOf(run.str[str + 2]!),
                node: p.stringOf(run.str[str + 3]!),
                seq,
              },
            }
          : {
              payloadType: PAYLOAD_TYPE.meter,
              payload: {
                facility: p.stringOf(run.str[str]!),
                meter: p.stringOf(run.str[str + 1]!),
                seq,
              },
            }),
        keyids: [p.stringOf(run.keyid[i]!)],
        outcomes: outcomes ?? new Map(),
      };
    }
    return { entries, leaf, meta, packed };
  }
}
