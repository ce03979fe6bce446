/**
 * Check 1, authenticity (DESIGN §6; protocol/SPEC.md rule 20). The verifier trusts the log's
 * admission for nothing: it re-derives who may sign what from its own policy and from the
 * registrations in the log.
 *
 * - Lab statements (registration, inventory, pause) of lab L: signed by a policy lab key named
 *   exactly `L/root`.
 * - A usage report of L for node f/c/n: signed by a key that L's root key registered (`add`) for
 *   exactly f/c/n, in a registration logged before the report, with registration `time` ≤ the
 *   report's `start`; a `revoke` of that key for that node (wherever it is logged) withdraws it
 *   for every report whose `end` is after the revocation `time`.
 * - A meter reading for facility F: signed by a meter key the policy lists for F.
 *
 * Signatures follow the signed-note rule: signatures naming keys the verifier does not trust
 * are ignored; one naming a trusted key that does not verify makes the statement a forgery
 * (`bad-signature`), whatever the other signatures say. Pure: no I/O.
 */
import { labOfRootKeyName } from '../../protocol/src/statements.js';
import { parseTime } from '../../protocol/src/time.js';
import { keyIdString, parseVerifierKey, type VerifierKey } from '../note/keys.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import {
  type MeterRecord,
  nodeId,
  type RegistrationRecord,
  type StatementRecord,
  signatureCount,
  signatureKeyid,
  signatureOutcome,
  type UsageRecord,
  usageNode,
} from './log-index.js';

const NONE: readonly never[] = [];

/** Why a statement is not authentic. */
export type Inauthentic = {
  code: 'bad-signature' | 'unregistered-key' | 'revoked-key';
  reason: string;
  /** the registrations the conclusion rests on */
  registrations: RegistrationRecord[];
};

export type Authenticity =
  | { ok: true; registration?: RegistrationRecord }
  | ({ ok: false } & Inauthentic);

/**
 * Checks a statement against a set of trusted keys under the signed-note rule: `bad-signature`
 * when a signature naming one of them fails, `unregistered-key` when none is named, else the keys
 * whose signatures verified.
 */
export function signedBy(
  r: StatementRecord,
  keys: readonly VerifierKey[],
):
  | { ok: true; keys: VerifierKey[] }
  | { ok: false; code: 'bad-signature' | 'unregistered-key'; reason: string } {
  const named = new Set(r.signatures.map((s) => s.keyid));
  const valid: VerifierKey[] = [];
  let any = false;
  for (const k of keys) {
    if (!named.has(keyIdString(k))) continue;
    any = true;
    const o = signatureOutcome(r, k);
    if (o === 'invalid') {
      return {
        ok: false,
        code: 'bad-signature',
        reason: `the signature by ${keyIdString(k)} does not verify`,
      };
    }
    if (o === 'valid') valid.push(k);
  }
  if (!any || valid.length === 0) {
    return {
      ok: false,
      code: 'unregistered-key',
      reason: 'not signed by any key the verifier trusts for it',
    };
  }
  return { ok: true, keys: valid };
}

interface KeyEvent {
  rec: RegistrationRecord;
  key: VerifierKey;
  node: string;
  action: 'add' | 'revoke';
  time: number;
  /** the answer for a report this add authorises (made once: `check` runs per report) */
  ok: Authenticity;
}

/** The registration events of one key, among those sharing a keyid. */
interface Candidate {
  key: VerifierKey;
  events: KeyEvent[];
}

/** The node-key table of one lab, re-derived from its authentic registrations. */
export class KeyTable {
  /** by keyid: the keys with that keyid (nearly always one), each with its events in log order */
  private readonly byKeyid = new Map<string, Candidate[]>();

  /** @param registrations authentic registrations of the lab, in log order */
  constructor(registrations: readonly RegistrationRecord[]) {
    for (const rec of registrations) {
      const p = rec.payload;
      let key: VerifierKey;
      try {
        key = parseVerifierKey(p.key);
      } catch {
        continue; // the schema already refuses such keys; nothing to register
      }
      const e: KeyEvent = {
        rec,
        key,
        node: nodeId(p),
        action: p.action,
        time: parseTime(p.time),
        ok: { ok: true, registration: rec },
      };
      const id = keyIdString(key);
      let list = this.byKeyid.get(id);
      if (list === undefined) {
        list = [];
        this.byKeyid.set(id, list);
      }
      const c = list.find((x) => x.key.vkey === key.vkey);
      if (c === undefined) list.push({ key, events: [e] });
      else c.events.push(e);
    }
  }

  /** Rule 20.2 for one usage report. */
  check(u: UsageRecord, node = usageNode(u)): Authenticity {
    // Registered keys the envelope names, grouped by key (nearly always one), in the order the
    // signatures name them.
    let candidates: readonly Candidate[];
    if (signatureCount(u) === 1) {
      candidates = this.byKeyid.get(signatureKeyid(u, 0)) ?? NONE;
    } else {
      const byKey = new Map<string, Candidate>();
      for (const s of u.signatures) {
        for (const c of this.byKeyid.get(s.keyid) ?? []) {
          const have = byKey.get(c.key.vkey);
          if (have === undefined) byKey.set(c.key.vkey, { key: c.key, events: [...c.events] });
          else have.events.push(...c.events);
        }
      }
      candidates = [...byKey.values()];
    }
    const start = u.t0 ?? parseTime(u.payload.start);
    const end = u.t1 ?? parseTime(u.payload.end);
    let revoked: Inauthentic | undefined;
    let unregistered: Inauthentic | undefined;
    let allValid = true;
    for (let c = 0; c < candidates.length; c++) {
      const { key, events } = candidates[c]!;
      const o = signatureOutcome(u, key);
      if (o === 'invalid') {
        return {
          ok: false,
          code: 'bad-signature',
          reason: `the signature by ${keyIdString(key)} does not verify`,
          registrations: events.map((e) => e.rec),
        };
      }
      if (o !== 'valid') allValid = false;
    }
    for (let c = 0; c < candidates.length; c++) {
      const { key, events } = candidates[c]!;
      if (!allValid && signatureOutcome(u, key) !== 'valid') continue;
      // The first add in effect, and whether any revocation is (nothing allocated per report).
      let firstAdd: KeyEvent | undefined;
      let revoked0: KeyEvent | undefined;
      for (let j = 0; j < events.length; j++) {
        const e = events[j]!;
        if (e.node !== node) continue;
        if (e.action === 'add') {
          if (firstAdd === undefined && e.rec.index < u.index && e.time <= start) firstAdd = e;
        } else if (revoked0 === undefined && e.action === 'revoke' && e.time < end) {
          revoked0 = e;
        }
      }
      if (firstAdd === undefined) {
        unregistered ??= unregisteredKey(key, events, node, u);
        continue;
      }
      if (revoked0 !== undefined) {
        revoked ??= revokedKey(key, events, node, u, start, end);
        continue;
      }
      return firstAdd.ok;
    }
    const fail = revoked ?? unregistered!;
    return { ok: false, ...fail };
  }
}

// The failures of `KeyTable.check`, apart: closures in `check` itself would make V8 allocate a
// context for its locals on every call (~100 bytes and ~0.1 µs a report, measured).

function unregisteredKey(
  key: VerifierKey,
  events: readonly KeyEvent[],
  node: string,
  u: UsageRecord,
): Inauthentic {
  const forNode = events.filter((e) => e.action === 'add' && e.node === node);
  let reason: string;
  if (forNode.length === 0) {
    const other = events.find((e) => e.action === 'add');
    reason =
      other === undefined
        ? `key ${keyIdString(key)} was never added`
        : `key ${keyIdString(key)} is registered for ${other.node}, not ${node}`;
  } else if (forNode.every((e) => e.rec.index > u.index)) {
    reason = `key ${keyIdString(key)} was registered at log index ${forNode[0]!.rec.index}, after the report`;
  } else {
    reason = `key ${keyIdString(key)} is registered from ${forNode[0]!.rec.payload.time}, after the report's start ${u.payload.start}`;
  }
  return { code: 'unregistered-key', reason, registrations: events.map((e) => e.rec) };
}

function revokedKey(
  key: VerifierKey,
  events: readonly KeyEvent[],
  node: string,
  u: UsageRecord,
  start: number,
  end: number,
): Inauthentic {
  const adds = events.filter(
    (e) => e.node === node && e.action === 'add' && e.rec.index < u.index && e.time <= start,
  );
  const revokes = events.filter((e) => e.node === node && e.action === 'revoke' && e.time < end);
  return {
    code: 'revoked-key',
    reason: `key ${keyIdString(key)} was revoked from ${revokes[0]!.rec.payload.time}, before the report's end ${u.payload.end}`,
    registrations: [...adds, ...revokes].map((e) => e.rec),
  };
}

/** The policy's root keys of a lab: lab keys named exactly `<lab>/root` (the lab identity rule). */
export function labRootKeys(policy: VPausePolicy, lab: string): VerifierKey[] {
  return policy.labs.filter((l) => labOfRootKeyName(l.key.name) === lab).map((l) => l.key);
}

/** The policy's meter keys of a facility. */
export function meterKeys(policy: VPausePolicy, facility: string): VerifierKey[] {
  return policy.meters.filter((m) => m.facility === facility).map((m) => m.key);
}

/** Rule 20.3 for one meter reading. */
export function checkMeter(policy: VPausePolicy, m: MeterRecord): Authenticity {
  const r = signedBy(m, meterKeys(policy, m.payload.facility));
  return r.ok ? { ok: true } : { ok: false, code: r.code, reason: r.reason, registrations: [] };
}
