/**
 * Appends signed statements to a daemon's chain: takes `seq` and `prev` from the outbox tip,
 * builds the payload, signs it (protocol `makeStatement`, which checks the payload schema) and
 * stores it in the outbox, durably, before anything is submitted.
 */
import { makeStatement, type PayloadOf, type PayloadType } from '../../protocol/src/index.js';
import { fromBase64 } from '../../src/core/bytes.js';
import { hashLeaf } from '../../src/merkle/rfc9162.js';
import type { SignerKey } from '../../src/note/keys.js';
import type { Outbox, OutboxRow } from './outbox.js';

/** The chain position a new statement takes. */
export interface ChainLink {
  seq: number;
  prev: string;
}

/** What is stored beside the signed statement. */
export interface ChainExtras {
  startMs: number;
  endMs: number;
  body?: Uint8Array;
  leaves?: readonly Uint8Array[];
}

export class ChainWriter<T extends PayloadType> {
  constructor(
    private readonly outbox: Outbox,
    private readonly signer: SignerKey,
    private readonly payloadType: T,
    private readonly now: () => number,
  ) {}

  /** The link the next statement will take. */
  next(): ChainLink {
    const t = this.outbox.tip();
    return { seq: t.nextSeq, prev: t.prev };
  }

  /**
   * Builds, signs and durably stores the next statement of the chain.
   * @throws {StatementError} PAYLOAD_SCHEMA (the payload breaks its schema), ENTRY_TOO_LARGE
   * @throws {DaemonError} OUTBOX_CHAIN, OUTBOX_STORAGE
   */
  append(make: (link: ChainLink) => PayloadOf<T>, extras: ChainExtras): OutboxRow {
    const link = this.next();
    const payload = make(link);
    const s = makeStatement(this.payloadType, payload, this.signer);
    return this.outbox.append({
      seq: link.seq,
      prev: link.prev,
      payloadType: this.payloadType,
      payload: fromBase64(s.envelope.payload),
      entry: s.entry,
      leafHash: hashLeaf(s.entry),
      startMs: extras.startMs,
      endMs: extras.endMs,
      createdMs: this.now(),
      ...(extras.body !== undefined ? { body: extras.body } : {}),
      ...(extras.leaves !== undefined ? { leaves: extras.leaves } : {}),
    });
  }
}
