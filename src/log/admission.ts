/**
 * Admission: which signer may put which statement in the log (DESIGN §4).
 *
 * - registration, inventory, pause: signed by the admitted root key of the statement's `lab`.
 *   The lab a root key speaks for is its key name without a trailing `/root`
 *   (`lab-a.example/root` → `lab-a.example`; see src/policy/participants.ts).
 * - usage: signed by a node key that the same lab registered in an earlier logged registration
 *   for exactly this facility/cluster/node, and that has not been revoked.
 * - meter: signed by an admitted meter key for the statement's facility.
 *
 * Registrations also obey key-table rules so that the table the log keeps stays meaningful:
 * a node key speaks for one node only (re-adding it for another node is refused), a revoked key
 * never comes back, and a revocation must name a key this lab registered.
 *
 * Admission does no I/O of its own: node keys come from the storage's key table through
 * `lookupNodeKey`. It takes statements as ./prepare.ts prepared them (parsed, maybe on a worker
 * thread, with signature outcomes computed ahead); the signature of the key admission settles
 * on is checked through `verifyPrepared`, from the outcome computed ahead or else inline.
 */

import { createHash } from 'node:crypto';
import { chainKey, PAYLOAD_TYPE } from '../../protocol/src/index.js';
import { jcs } from '../../protocol/src/jcs.js';
import { VPauseError } from '../core/errors.js';
import { keyIdString, parseVerifierKey, type VerifierKey } from '../note/keys.js';
import type { AdmitList } from '../policy/admit.js';
import { type PreparedStatement, verifyPrepared } from './prepare.js';
import type { KeyEvent, NodeKeyRecord, SequenceItem } from './storage/types.js';

export type AdmissionErrorCode =
  | 'ADMIT_UNKNOWN_KEY'
  | 'ADMIT_WRONG_LAB'
  | 'ADMIT_WRONG_NODE'
  | 'ADMIT_REVOKED'
  | 'ADMIT_NOT_ADMITTED'
  | 'REGISTRATION_CONFLICT';

/** The log's admission list (ADMIT.txt), indexed for lookups. */
export interface AdmitIndex {
  /** Lab name → its admitted root keys. */
  labs: ReadonlyMap<string, readonly VerifierKey[]>;
  /** Facility id → its admitted meter keys. */
  meters: ReadonlyMap<string, readonly VerifierKey[]>;
}

/** Indexes a parsed ADMIT.txt by lab and by facility. */
export function indexAdmitList(list: AdmitList): AdmitIndex {
  const labs = new Map<string, VerifierKey[]>();
  for (const l of list.labs) labs.set(l.lab, [...(labs.get(l.lab) ?? []), l.key]);
  const meters = new Map<string, VerifierKey[]>();
  for (const m of list.meters) meters.set(m.facility, [...(meters.get(m.facility) ?? []), m.key]);
  return { labs, meters };
}

/** Every vkey of an admission list (lab root and meter keys). */
export function admitVkeys(list: AdmitIndex): string[] {
  const out: string[] = [];
  for (const keys of list.labs.values()) for (const k of keys) out.push(k.vkey);
  for (const keys of list.meters.values()) for (const k of keys) out.push(k.vkey);
  return out;
}

/** Called with the vkey of each node key whose signature admission had to verify inline. */
export type InlineVerifyHook = (vkey: string) => void;

function err(code: AdmissionErrorCode, msg: string): VPauseError<AdmissionErrorCode> {
  return new VPauseError(code, msg);
}

function signerKeyIds(parsed: PreparedStatement): string[] {
  return parsed.keyids;
}

/**
 * What admission decided: the item to sequence and the keyid of the admitted key that signed it.
 * A statement's identity is (payloadType, payload, signer) (SPEC security considerations):
 * registrations, inventories and pauses claim it in the storage's claim table, so that the same
 * statement in another envelope (say, with one more signature) resolves to the logged one.
 * Usage and meter statements claim their (chain, seq) instead; the service tells a re-sent
 * statement from an equivocation when that claim is held.
 */
export interface Admitted {
  item: SequenceItem;
  signer: string;
}

/** Claim-table chain prefix of statement-identity claims (never a usage/meter chain). */
export const STATEMENT_CLAIM_PREFIX = 'statement/';

/** The identity claim of a non-chain statement: signer keyid and SHA-256 of its payload. */
export function statementClaim(
  payloadType: string,
  payload: unknown,
  signer: string,
): { chain: string; seq: number } {
  const h = createHash('sha256')
    .update(payloadType)
    .update('\n')
    .update(jcs(payload))
    .digest('hex');
  return { chain: `${STATEMENT_CLAIM_PREFIX}${signer}/${h}`, seq: 0 };
}

function verify(parsed: PreparedStatement, key: VerifierKey | string, hook?: InlineVerifyHook) {
  if (verifyPrepared(parsed, key)) hook?.(typeof key === 'string' ? key : key.vkey);
}

/**
 * Verifies the signature of whichever of `candidates` signed the statement.
 * @throws ADMIT_UNKNOWN_KEY when none of them did; statement errors when the signature fails
 */
function verifyByOneOf(
  parsed: PreparedStatement,
  candidates: readonly VerifierKey[],
  role: string,
): VerifierKey {
  const ids = new Set(signerKeyIds(parsed));
  const k = candidates.find((c) => ids.has(keyIdString(c)));
  if (k === undefined) throw err('ADMIT_UNKNOWN_KEY', `not signed by an admitted ${role} key`);
  verify(parsed, k);
  return k;
}

/**
 * Decides whether the log takes `parsed`, verifying the signer's signature, and returns the
 * sequence item (leaf hash, claim, key event) for the storage.
 * @throws {VPauseError} an AdmissionErrorCode or a statement error code (bad signature)
 */
export async function admit(
  parsed: PreparedStatement,
  list: AdmitIndex,
  lookupNodeKey: (keyId: string) => Promise<NodeKeyRecord | undefined>,
  onInlineVerify?: InlineVerifyHook,
): Promise<Admitted> {
  const item: SequenceItem = { leafHash: parsed.leafHash, data: parsed.entry };
  let signer: string;
  const chain = chainKey(parsed.payloadType, parsed.payload);
  switch (parsed.payloadType) {
    case PAYLOAD_TYPE.registration:
    case PAYLOAD_TYPE.inventory:
    case PAYLOAD_TYPE.pause: {
      const lab = parsed.payload.lab;
      const roots = list.labs.get(lab);
      if (roots === undefined || roots.length === 0) {
        // Signed by some other lab's root key? Say so: that is the common mistake.
        for (const id of signerKeyIds(parsed)) {
          for (const [other, keys] of list.labs) {
            if (keys.some((k) => keyIdString(k) === id)) {
              throw err('ADMIT_WRONG_LAB', `signed by the root key of ${other}, not of ${lab}`);
            }
          }
        }
        throw err('ADMIT_NOT_ADMITTED', `lab ${lab} is not admitted to this log`);
      }
      const ids = new Set(signerKeyIds(parsed));
      if (!roots.some((k) => ids.has(keyIdString(k)))) {
        for (const [other, keys] of list.labs) {
          if (other !== lab && keys.some((k) => ids.has(keyIdString(k)))) {
            throw err('ADMIT_WRONG_LAB', `signed by the root key of ${other}, not of ${lab}`);
          }
        }
      }
      signer = keyIdString(verifyByOneOf(parsed, roots, `root key of ${lab}`));
      if (parsed.payloadType === PAYLOAD_TYPE.registration) {
        item.keyEvent = await registrationEvent(parsed.payload, lookupNodeKey);
      }
      break;
    }
    case PAYLOAD_TYPE.usage: {
      const p = parsed.payload;
      let rec: NodeKeyRecord | undefined;
      for (const id of signerKeyIds(parsed)) {
        rec = await lookupNodeKey(id);
        if (rec !== undefined) break;
      }
      if (rec === undefined) throw err('ADMIT_UNKNOWN_KEY', 'not signed by a registered node key');
      if (rec.lab !== p.lab) throw err('ADMIT_WRONG_LAB', `node key belongs to lab ${rec.lab}`);
      if (rec.facility !== p.facility || rec.cluster !== p.cluster || rec.node !== p.node) {
        throw err(
          'ADMIT_WRONG_NODE',
          `node key is registered for ${rec.facility}/${rec.cluster}/${rec.node}, not ${p.facility}/${p.cluster}/${p.node}`,
        );
      }
      if (rec.revokedAt !== undefined) {
        throw err('ADMIT_REVOKED', `node key was revoked at log index ${rec.revokedAt}`);
      }
      verify(parsed, rec.vkey, onInlineVerify);
      signer = rec.keyId;
      break;
    }
    case PAYLOAD_TYPE.meter: {
      const keys = list.meters.get(parsed.payload.facility);
      if (keys === undefined || keys.length === 0) {
        throw err(
          'ADMIT_UNKNOWN_KEY',
          `no meter key admitted for facility ${parsed.payload.facility}`,
        );
      }
      signer = keyIdString(
        verifyByOneOf(parsed, keys, `meter key of facility ${parsed.payload.facility}`),
      );
      break;
    }
  }
  item.claim =
    chain !== null
      ? { chain, seq: (parsed.payload as { seq: number }).seq }
      : statementClaim(parsed.payloadType, parsed.payload, signer);
  return { item, signer };
}

async function registrationEvent(
  p: {
    lab: string;
    action: 'add' | 'revoke';
    key: string;
    facility: string;
    cluster: string;
    node: string;
    time: string;
  },
  lookupNodeKey: (keyId: string) => Promise<NodeKeyRecord | undefined>,
): Promise<KeyEvent> {
  const key = parseVerifierKey(p.key);
  const keyId = keyIdString(key);
  const existing = await lookupNodeKey(keyId);
  const ev: KeyEvent = {
    keyId,
    vkey: key.vkey,
    lab: p.lab,
    facility: p.facility,
    cluster: p.cluster,
    node: p.node,
    action: p.action,
    time: p.time,
  };
  const sameNode =
    existing !== undefined &&
    existing.lab === p.lab &&
    existing.facility === p.facility &&
    existing.cluster === p.cluster &&
    existing.node === p.node;
  if (p.action === 'add') {
    if (existing !== undefined && existing.revokedAt !== undefined) {
      throw err('REGISTRATION_CONFLICT', 'this key was revoked and cannot be registered again');
    }
    if (existing !== undefined && !sameNode) {
      throw err('REGISTRATION_CONFLICT', 'this key is already registered for another node');
    }
  } else {
    if (existing === undefined || !sameNode) {
      throw err('REGISTRATION_CONFLICT', 'revocation names a key not registered for this node');
    }
  }
  return ev;
}
