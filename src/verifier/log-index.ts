/**
 * The verifier's view of a log's statements, indexed for the checks: per lab its registrations,
 * inventories, pauses and usage chains; per facility its meter readings. Entries are added in log
 * order, once each (incrementally: the service adds what each sync brings, and never re-reads the
 * log to answer a question). Signature outcomes that were computed ahead (by the worker pool)
 * travel with each record; anything not computed ahead is checked on demand. Pure: no I/O.
 */
import { jcsBytes } from '../../protocol/src/jcs.js';
import {
  type InventoryPayload,
  type MeterPayload,
  PAYLOAD_TYPE,
  type PausePayload,
  type Payload,
  type PayloadType,
  type RegistrationPayload,
  type UsagePayload,
} from '../../protocol/src/schemas.js';
import { keyIdString, type VerifierKey } from '../note/keys.js';
import { checkSignature, type DecodedStatement, type SignatureOutcome, seconds } from './decode.js';

/** One decoded log entry with its place in the log. */
export interface StatementRecord<P extends Payload = Payload> {
  index: number;
  /** hex RFC 9162 leaf hash */
  leafHash: string;
  payloadType: PayloadType;
  payload: P;
  /** hex SHA-256 of the payload bytes */
  payloadHash: string;
  signatures: { keyid: string; sig: string }[];
  /** vkeys whose signature on this statement verified (computed ahead) */
  valid: string[];
  /** vkeys whose signature on this statement failed (computed ahead) */
  invalid: string[];
  /** payload bytes, when kept (otherwise re-encoded with JCS on demand) */
  payloadBytes?: Uint8Array;
  /** `start` and `end` as POSIX seconds (usage reports and meter readings) */
  t0?: number;
  t1?: number;
}

export type UsageRecord = StatementRecord<UsagePayload>;
export type MeterRecord = StatementRecord<MeterPayload>;
export type RegistrationRecord = StatementRecord<RegistrationPayload>;
export type InventoryRecord = StatementRecord<InventoryPayload>;
export type PauseRecord = StatementRecord<PausePayload>;

/** An entry that does not decode (a log should never serve one). */
export interface UndecodableEntry {
  index: number;
  leafHash: string;
  code: string;
}

/** Builds a record from a decoded statement and the signature outcomes computed for it. */
export function toRecord(
  index: number,
  leafHash: string,
  d: DecodedStatement,
  valid: string[] = [],
  invalid: string[] = [],
): StatementRecord {
  const r: StatementRecord = {
    index,
    leafHash,
    payloadType: d.payloadType,
    payload: d.payload,
    payloadHash: d.payloadHash,
    signatures: d.signatures,
    valid,
    invalid,
  };
  if (d.payloadType !== PAYLOAD_TYPE.usage && d.payloadType !== PAYLOAD_TYPE.meter) {
    r.payloadBytes = d.payloadBytes;
  } else {
    const p = d.payload as { start: string; end: string };
    r.t0 = seconds(p.start);
    r.t1 = seconds(p.end);
  }
  return r;
}

/**
 * The outcome of `key`'s signature on a record (protocol/SPEC.md rule 18), from the outcomes
 * computed ahead when present, else checked now (and remembered).
 */
export function signatureOutcome(r: StatementRecord, key: VerifierKey): SignatureOutcome {
  if (r.valid.includes(key.vkey)) return 'valid';
  if (r.invalid.includes(key.vkey)) return 'invalid';
  const keyid = keyIdString(key);
  if (!r.signatures.some((s) => s.keyid === keyid)) return 'absent';
  const out = checkSignature(
    {
      payloadType: r.payloadType,
      payloadBytes: r.payloadBytes ?? jcsBytes(r.payload),
      signatures: r.signatures,
    },
    key,
    keyid,
  );
  if (out === 'valid') r.valid.push(key.vkey);
  else if (out === 'invalid') r.invalid.push(key.vkey);
  return out;
}

/** `facility/cluster/node` */
export function nodeId(p: { facility: string; cluster: string; node: string }): string {
  return `${p.facility}/${p.cluster}/${p.node}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a === undefined) m.set(k, [v]);
  else a.push(v);
}

/** Statements of one lab. */
export interface LabStatements {
  registrations: RegistrationRecord[];
  inventories: InventoryRecord[];
  pauses: PauseRecord[];
  /** usage reports by node (`facility/cluster/node`), in log order */
  usage: Map<string, UsageRecord[]>;
}

export class LogIndex {
  /** Entries added so far: the next index expected. */
  size = 0;
  readonly labs = new Map<string, LabStatements>();
  /** meter readings by facility, in log order */
  readonly meters = new Map<string, MeterRecord[]>();
  readonly undecodable: UndecodableEntry[] = [];

  /**
   * Adds the next entry (`r.index` must equal `size`).
   * @throws {RangeError} when entries are added out of order
   */
  add(r: StatementRecord | UndecodableEntry): void {
    if (r.index !== this.size) {
      throw new RangeError(`log index: expected entry ${this.size}, got ${r.index}`);
    }
    this.size++;
    if ('code' in r) {
      this.undecodable.push(r);
      return;
    }
    this.file(r);
  }

  /** Adds a record whatever its index (bundles carry a subset of the log). */
  file(r: StatementRecord): void {
    if (r.payloadType === PAYLOAD_TYPE.meter) {
      push(this.meters, (r.payload as MeterPayload).facility, r as MeterRecord);
      return;
    }
    const lab = this.lab((r.payload as { lab: string }).lab);
    switch (r.payloadType) {
      case PAYLOAD_TYPE.registration:
        lab.registrations.push(r as RegistrationRecord);
        break;
      case PAYLOAD_TYPE.inventory:
        lab.inventories.push(r as InventoryRecord);
        break;
      case PAYLOAD_TYPE.pause:
        lab.pauses.push(r as PauseRecord);
        break;
      case PAYLOAD_TYPE.usage:
        push(lab.usage, nodeId(r.payload as UsagePayload), r as UsageRecord);
        break;
    }
  }

  /** The statements of `lab` (an empty set when the log has none). */
  lab(lab: string): LabStatements {
    let l = this.labs.get(lab);
    if (l === undefined) {
      l = { registrations: [], inventories: [], pauses: [], usage: new Map() };
      this.labs.set(lab, l);
    }
    return l;
  }
}
