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
import { ZERO_HASH } from '../../protocol/src/statements.js';
import { keyIdString, type VerifierKey } from '../note/keys.js';
import { checkSignature, type DecodedStatement, type SignatureOutcome, seconds } from './decode.js';
import {
  HASH_WIDTH,
  hexAt,
  KIND_USAGE,
  NUM_WIDTH,
  type PackedRun,
  packedPayloadText,
  STR_WIDTH,
} from './packed.js';

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
  if (r instanceof PackedRecord) {
    const o = r.outcome(key.vkey);
    if (o !== undefined) return o;
  }
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

// ---------------------------------------------------------------------------------------------
// Packed records: usage reports and meter readings decoded into columns by ./packed.ts

/** Strings of packed runs, one copy each (labs, ids, keyids and vkeys repeat in every run). */
const interned = new Map<string, string>();

function intern(s: string): string {
  const have = interned.get(s);
  if (have !== undefined) return have;
  if (interned.size >= 100_000) interned.clear();
  interned.set(s, s);
  return s;
}

/** The string table of the packed runs from one packer (see `PackedRun.strings`). */
export class StringTable {
  strings: string[] = [];

  /**
   * Takes in the strings a run added (process-wide copies) and makes the run's `strings` the
   * whole table, as its records read it.
   * @throws {Error} when the run's strings do not follow the table's (runs out of order)
   */
  take(run: PackedRun): void {
    if (run.stringBase === 0) this.strings = [];
    if (this.strings.length !== run.stringBase) {
      throw new Error(
        `packed run strings from ${run.stringBase}, but the table has ${this.strings.length}`,
      );
    }
    for (const x of run.strings) this.strings.push(intern(x));
    run.strings = this.strings;
  }
}

/** The parts of a packed record made on first use. */
interface Made {
  leafHash?: string;
  payload?: Payload;
  payloadHash?: string;
  signatures?: { keyid: string; sig: string }[];
  valid?: string[];
  invalid?: string[];
}

/**
 * A usage report or meter reading held in the columns of its packed run. It reads as the record
 * `toRecord` makes of the same entry (the tests hold them equal); what the evaluation reads of
 * every record (times, seq, energy, FLOP, names, hashes) comes from the columns, and the rest
 * (payload, hex hashes, signatures) is made on first use.
 *
 * The times, seq, keyid and the outcome of a single signature check are copied into the record
 * when it is made, while its run's columns are in the cache: the evaluation walks records node by
 * node, not in log order, and reading them from 800 runs' columns at that point cost it a cache
 * miss each (measured: the authenticity pass over 200,000 reports took 3x as long). `energyJ`
 * and `flop` are read from the columns instead: they are doubles in practice (joules to the
 * millijoule, FLOP ~1e17, a meter's counter), and a double in a field is a heap object of its
 * own per record (measured: 176 against 123 bytes a record, and made in 40 against 22 ms for
 * 200,000), which the young-generation and marking GCs then visit.
 */
export class PackedRecord implements StatementRecord {
  /** what was made on first use (most records never need any of it) */
  private made: Made | undefined = undefined;
  readonly t0: number;
  readonly t1: number;
  readonly seq: number;
  /** energyJ, from the column (see above) */
  get energyJ(): number {
    return this.run.num[NUM_WIDTH * this.i + 3]!;
  }
  /** usage: flop; meter: counterJ (from the column) */
  get flop(): number {
    return this.run.num[NUM_WIDTH * this.i + 4]!;
  }
  /** The keyid of the one signature. */
  readonly keyid: string;
  /** the vkey of the one outcome computed ahead (undefined: none, or several) and whether valid */
  private readonly onlyKey: string | undefined;
  private onlyValid: boolean;
  private readonly outcomes: number;

  constructor(
    readonly index: number,
    private readonly run: PackedRun,
    private readonly i: number,
  ) {
    const n = NUM_WIDTH * i;
    const num = run.num;
    this.t0 = num[n]!;
    this.t1 = num[n + 1]!;
    this.seq = num[n + 2]!;
    this.keyid = run.strings[run.keyid[i]!]!;
    const j = run.outAt[i]!;
    this.outcomes = run.outAt[i + 1]! - j;
    this.onlyKey = this.outcomes === 1 ? run.strings[run.outKey[j]!] : undefined;
    this.onlyValid = this.outcomes === 1 && run.outValid[j] === 1;
  }

  /**
   * Reads the outcomes computed ahead again, after their run's outcome column changed (checks
   * deferred by the ingestor: ./ingest.ts).
   */
  recheck(): void {
    const j = this.run.outAt[this.i]!;
    this.onlyValid = this.outcomes === 1 && this.run.outValid[j] === 1;
    if (this.made !== undefined) {
      delete this.made.valid;
      delete this.made.invalid;
    }
  }

  private get m(): Made {
    this.made ??= {};
    return this.made;
  }

  get payloadType(): PayloadType {
    return this.run.kind[this.i] === KIND_USAGE ? PAYLOAD_TYPE.usage : PAYLOAD_TYPE.meter;
  }

  get isUsage(): boolean {
    return this.run.kind[this.i] === KIND_USAGE;
  }

  get leafHash(): string {
    const m = this.m;
    m.leafHash ??= hexAt(this.run.leaf, 32 * this.i);
    return m.leafHash;
  }

  /** The payload bytes (its JCS encoding, as signed), rebuilt from the columns. */
  get payloadBytes(): Uint8Array {
    return new Uint8Array(Buffer.from(packedPayloadText(this.run, this.i), 'latin1'));
  }

  get payload(): Payload {
    const m = this.m;
    m.payload ??= JSON.parse(packedPayloadText(this.run, this.i)) as Payload;
    return m.payload;
  }

  get payloadHash(): string {
    const m = this.m;
    m.payloadHash ??= hexAt(this.run.hashes, HASH_WIDTH * this.i);
    return m.payloadHash;
  }

  get signatures(): { keyid: string; sig: string }[] {
    const m = this.m;
    if (m.signatures === undefined) {
      const r = this.run;
      m.signatures = [
        {
          keyid: r.strings[r.keyid[this.i]!]!,
          sig: Buffer.from(r.sig.buffer, r.sig.byteOffset + 64 * this.i, 64).toString('base64'),
        },
      ];
    }
    return m.signatures;
  }

  private outcomeList(valid: boolean): string[] {
    const r = this.run;
    const out: string[] = [];
    for (let j = r.outAt[this.i]!; j < r.outAt[this.i + 1]!; j++) {
      if ((r.outValid[j] === 1) === valid) out.push(r.strings[r.outKey[j]!]!);
    }
    return out;
  }

  get valid(): string[] {
    const m = this.m;
    m.valid ??= this.outcomeList(true);
    return m.valid;
  }

  get invalid(): string[] {
    const m = this.m;
    m.invalid ??= this.outcomeList(false);
    return m.invalid;
  }

  /** The outcome computed ahead for `vkey`, if any (without making the lists). */
  outcome(vkey: string): SignatureOutcome | undefined {
    if (this.made?.valid !== undefined || this.made?.invalid !== undefined) return undefined;
    if (this.outcomes === 1) {
      if (vkey !== this.onlyKey) return undefined;
      return this.onlyValid ? 'valid' : 'invalid';
    }
    const r = this.run;
    for (let j = r.outAt[this.i]!; j < r.outAt[this.i + 1]!; j++) {
      if (r.strings[r.outKey[j]!] === vkey) return r.outValid[j] === 1 ? 'valid' : 'invalid';
    }
    return undefined;
  }

  /** usage: lab, facility, cluster, node, facility/cluster/node, workload; meter: facility, meter */
  str(k: number): string {
    return this.run.strings[this.run.str[STR_WIDTH * this.i + k]!]!;
  }

  /** Is this statement's `prev` the payload hash of `x`? */
  prevIs(x: PackedRecord): boolean {
    const a = this.run.hashes;
    const b = x.run.hashes;
    const ao = HASH_WIDTH * this.i + 32;
    const bo = HASH_WIDTH * x.i;
    for (let k = 0; k < 32; k++) if (a[ao + k] !== b[bo + k]) return false;
    return true;
  }

  /** Is `prev` 64 zeros? */
  prevIsZero(): boolean {
    const a = this.run.hashes;
    const o = HASH_WIDTH * this.i + 32;
    for (let k = 0; k < 32; k++) if (a[o + k] !== 0) return false;
    return true;
  }

  /** Do the two statements have the same payload hash? */
  samePayload(x: PackedRecord): boolean {
    const a = this.run.hashes;
    const b = x.run.hashes;
    const ao = HASH_WIDTH * this.i;
    const bo = HASH_WIDTH * x.i;
    for (let k = 0; k < 32; k++) if (a[ao + k] !== b[bo + k]) return false;
    return true;
  }

  /** The record as `toRecord` makes it. */
  toJSON(): StatementRecord {
    return {
      index: this.index,
      leafHash: this.leafHash,
      payloadType: this.payloadType,
      payload: this.payload,
      payloadHash: this.payloadHash,
      signatures: this.signatures,
      valid: this.valid,
      invalid: this.invalid,
      t0: this.t0,
      t1: this.t1,
    };
  }
}

/** A usage report's `seq`. */
export function seqOf(r: StatementRecord<UsagePayload | MeterPayload>): number {
  return r instanceof PackedRecord ? r.seq : r.payload.seq;
}

/** A usage report's energyJ (or a meter reading's). */
export function energyOf(r: StatementRecord<UsagePayload | MeterPayload>): number {
  return r instanceof PackedRecord ? r.energyJ : r.payload.energyJ;
}

/** A usage report's FLOP. */
export function flopOf(r: UsageRecord): number {
  return r instanceof PackedRecord ? r.flop : r.payload.flop;
}

/** A usage report's workload. */
export function workloadOf(r: UsageRecord): string {
  return r instanceof PackedRecord ? r.str(5) : r.payload.workload;
}

/** A usage report's `facility/cluster/node`. */
export function usageNode(r: UsageRecord): string {
  return r instanceof PackedRecord ? r.str(4) : nodeId(r.payload);
}

/** A meter reading's meter (feed) id. */
export function meterOf(r: MeterRecord): string {
  return r instanceof PackedRecord ? r.str(1) : r.payload.meter;
}

/** Is `r`'s `prev` 64 zeros (the first of a chain)? */
export function prevIsZero(r: StatementRecord<UsagePayload>): boolean {
  if (r instanceof PackedRecord) return r.prevIsZero();
  return r.payload.prev === ZERO_HASH;
}

/** Is `r`'s `prev` the payload hash of `x`? */
export function chainsTo(r: StatementRecord<UsagePayload>, x: StatementRecord): boolean {
  if (r instanceof PackedRecord && x instanceof PackedRecord) return r.prevIs(x);
  return r.payload.prev === x.payloadHash;
}

/** Do two statements have the same payload (hash)? */
export function samePayload(a: StatementRecord, b: StatementRecord): boolean {
  if (a instanceof PackedRecord && b instanceof PackedRecord) return a.samePayload(b);
  return a.payloadHash === b.payloadHash;
}

/** The number of signatures on a record, and the keyid of the j-th. */
export function signatureCount(r: StatementRecord): number {
  return r instanceof PackedRecord ? 1 : r.signatures.length;
}

export function signatureKeyid(r: StatementRecord, j: number): string {
  return r instanceof PackedRecord ? r.keyid : r.signatures[j]!.keyid;
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
    if (r instanceof PackedRecord) {
      if (r.isUsage) push(this.lab(r.str(0)).usage, r.str(4), r as unknown as UsageRecord);
      else push(this.meters, r.str(0), r as unknown as MeterRecord);
      return;
    }
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
        push(lab.usage, usageNode(r as UsageRecord), r as UsageRecord);
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
