/**
 * Preparing submitted statements for admission: the strict parse (`parseEntry`), the leaf hash,
 * and the signature outcome of every candidate key the caller knows for the statement's keyids.
 * This is the pure, stateless part of admission, so it may run on worker threads
 * (./prepare-pool.ts); the admission decisions (./admission.ts) stay with the service and its
 * authoritative storage.
 *
 * A signature outcome is a pure function of (message, signature, key): the outcome of
 * `verifyStatementSignature(parsed, key)` computed on a worker is the outcome the main thread
 * would compute. Outcomes are keyed by the key's vkey (name, key ID and public key). Admission
 * asks for the outcome of the key it has decided must have signed; an outcome that was not
 * computed ahead (a key the worker did not know yet) is computed there and then, inline — a
 * statement is never admitted without a verification.
 */
import {
  type MeterChainFields,
  type MeterPayload,
  PAYLOAD_TYPE,
  type ParsedStatement,
  type PayloadOf,
  type PayloadType,
  parseEntry,
  type UsageChainFields,
  type UsagePayload,
  verifyStatementSignature,
} from '../../protocol/src/index.js';
import { VPauseError } from '../core/errors.js';
import { hashLeaf } from '../merkle/rfc9162.js';
import { KeysById, parseVerifierKey, type VerifierKey } from '../note/keys.js';

/** An error as it crosses a thread boundary: its code and message (problem type and detail). */
export interface WireError {
  code: string;
  message: string;
}

/** The outcome of one key's signature check: null when it verified, else the error it threw. */
export type SignatureOutcome = WireError | null;

interface PreparedBase {
  /** The keyids of the envelope's signatures, in order. */
  keyids: string[];
  /** The canonical entry (JCS of the envelope): what the log stores. */
  entry: Uint8Array;
  /** RFC 9162 leaf hash of `entry`. */
  leafHash: Uint8Array;
  /** Signature outcomes computed ahead, by vkey. */
  outcomes: Map<string, SignatureOutcome>;
}

/**
 * What admission reads of a payload (checked against its schema where it was parsed): all of it
 * for registrations, inventories and pauses (rare; their identity claim hashes the payload), and
 * only the fields naming its chain for usage and meter statements, most of the traffic, so that
 * little crosses from the preparation workers.
 */
export type AdmissionPayload<T extends PayloadType> = T extends typeof PAYLOAD_TYPE.usage
  ? UsageChainFields
  : T extends typeof PAYLOAD_TYPE.meter
    ? MeterChainFields
    : PayloadOf<T>;

/** A statement that parsed, with what admission needs of it; narrow on `payloadType`. */
export type PreparedStatement = {
  [T in PayloadType]: PreparedBase & {
    payloadType: T;
    payload: AdmissionPayload<T>;
  };
}[PayloadType];

/** The part of a payload admission reads (see AdmissionPayload). */
export function admissionPayload(
  payloadType: PayloadType,
  payload: PayloadOf<PayloadType>,
): AdmissionPayload<PayloadType> {
  if (payloadType === PAYLOAD_TYPE.usage) {
    const u = payload as UsagePayload;
    return { lab: u.lab, facility: u.facility, cluster: u.cluster, node: u.node, seq: u.seq };
  }
  if (payloadType === PAYLOAD_TYPE.meter) {
    const m = payload as MeterPayload;
    return { facility: m.facility, meter: m.meter, seq: m.seq };
  }
  return payload;
}

/** One prepared body: a statement, or the error parseEntry refused it with. */
export type Prepared = PreparedStatement | { error: VPauseError };

/** Candidate keys by keyid: the admit list's keys and the node keys the log has registered. */
export class KeyRing {
  private admit = new KeysById();
  private readonly nodes = new KeysById();
  private gen = 0;

  /** Most node keys kept; past it the node keys start afresh (outcomes are then computed inline). */
  static readonly MAX_NODE_KEYS = 1_000_000;

  /** Replaces the admit list's keys (lab root and meter vkeys). Unparseable vkeys are skipped. */
  setAdmitKeys(vkeys: readonly string[]): void {
    this.admit = new KeysById(vkeys);
    this.gen++;
  }

  /** Adds node keys (vkeys). */
  addNodeKeys(vkeys: readonly string[]): void {
    for (const v of vkeys) {
      if (this.nodes.has(v)) continue;
      if (this.nodes.size >= KeyRing.MAX_NODE_KEYS) this.nodes.clear();
      this.nodes.add(v);
      this.gen++;
    }
  }

  /** Changes whenever `get` may answer differently (the packer remembers answers until then). */
  get generation(): number {
    return this.gen;
  }

  /** The candidate keys of a keyid: the admission list's, then the node keys. */
  get(keyid: string): readonly VerifierKey[] | undefined {
    const a = this.admit.get(keyid);
    const n = this.nodes.get(keyid);
    if (a === undefined) return n;
    return n === undefined ? a : [...a, ...n];
  }
}

/** A thrown value as a WireError; anything but a VPauseError is an internal error. */
export function toWireError(e: unknown): WireError {
  if (e instanceof VPauseError) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: 'internal error' };
}

/** The VPauseError a WireError stands for. */
export function fromWireError(w: WireError): VPauseError {
  return new VPauseError(w.code, w.message);
}

/**
 * Parses one submitted body strictly and checks the signature of every key of `ring` that one
 * of its keyids names. `known` holds outcomes already computed for this body's envelope (by
 * vkey), which are taken as they are.
 * @throws {VPauseError} the parseEntry error of a refused body
 */
export function prepareParsed(
  body: Uint8Array,
  ring: KeyRing,
  known?: ReadonlyMap<string, SignatureOutcome>,
): { parsed: ParsedStatement; leafHash: Uint8Array; outcomes: Map<string, SignatureOutcome> } {
  const parsed = parseEntry(body);
  const outcomes = new Map<string, SignatureOutcome>();
  for (const s of parsed.envelope.signatures) {
    for (const k of ring.get(s.keyid) ?? []) {
      const o = known?.get(k.vkey);
      if (o !== undefined) {
        outcomes.set(k.vkey, o);
        continue;
      }
      try {
        verifyStatementSignature(parsed, k);
        outcomes.set(k.vkey, null);
      } catch (e) {
        outcomes.set(k.vkey, toWireError(e));
      }
    }
  }
  return { parsed, leafHash: hashLeaf(parsed.entry), outcomes };
}

/**
 * Checks the signature of `key` (a VerifierKey, or a vkey string) on a prepared statement, with
 * the rule and errors of `verifyStatementSignature`: from the outcome computed ahead when there
 * is one, else inline (re-parsing the canonical entry, which parses to the same statement).
 * Returns whether it had to verify inline, so that the caller can teach its workers the key.
 * @throws {VPauseError} KEY_UNSUPPORTED, KEYID_MISMATCH, SIGNATURE_INVALID, or the vkey's
 *   parse error
 */
export function verifyPrepared(p: PreparedStatement, key: VerifierKey | string): boolean {
  const vkey = typeof key === 'string' ? key : key.vkey;
  const o = p.outcomes.get(vkey);
  if (o !== undefined) {
    if (o !== null) throw fromWireError(o);
    return false;
  }
  const k = typeof key === 'string' ? parseVerifierKey(key) : key;
  const parsed = parseEntry(p.entry);
  try {
    verifyStatementSignature(parsed, k);
    p.outcomes.set(vkey, null);
  } catch (e) {
    p.outcomes.set(vkey, toWireError(e));
    throw e;
  }
  return true;
}
