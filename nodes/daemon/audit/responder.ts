/**
 * The node's side of an audit: decide whether a challenge deserves an answer, and build it.
 *
 * Checks, in this order; the first failure decides the status, and every refusal within one
 * status has the same body, so a caller learns nothing beyond the status:
 * 1. **401** unless the request is a readable signed challenge: at most 128 KiB of strict JSON, a
 *    DSSE envelope of payloadType `application/vnd.vpause.audit-challenge+json` with at least one
 *    signature, whose payload is canonical (JCS) JSON that satisfies the challenge schema;
 * 2. **403** unless a configured verifier key signed it (a signature naming a configured key must
 *    verify), its `time` is within the validity window of the node's clock, it names this node,
 *    and its nonce was never seen before (nonces are stored durably in the outbox before the
 *    answer is built, so a challenge is answered at most once, also across restarts).
 * Then 200 with the requested bodies and samples (see protocol.ts).
 */
import {
  envelopeFrameSchema,
  jcs,
  parseTime,
  verifyEnvelope,
} from '../../../protocol/src/index.js';
import { parseJsonStrict } from '../../../protocol/src/json.js';
import { fromBase64, fromUtf8, toBase64 } from '../../../src/core/bytes.js';
import { commitSamples } from '../../../src/merkle/samples.js';
import { keyIdString, type VerifierKey } from '../../../src/note/keys.js';
import { toStatementTime } from '../../report/interval.js';
import type { Outbox } from '../outbox.js';
import type { Timer } from '../util.js';
import {
  AUDIT_CHALLENGE_TYPE,
  AUDIT_MAX_CHALLENGE_BYTES,
  type AuditChallenge,
  type AuditResponse,
  auditChallengeSchema,
  type DisclosedReport,
  type RefusedReport,
} from './protocol.js';

/** The node identity a challenge must name. */
export interface NodeIdentity {
  lab: string;
  facility: string;
  cluster: string;
  node: string;
}

/** An RFC 9457 problem body. */
export interface AuditProblem {
  type: string;
  title: string;
  status: 401 | 403;
  code: string;
}

/** The one body of every 401 answer. */
export const AUDIT_401: Readonly<AuditProblem> = Object.freeze({
  type: 'urn:vpause:problem:audit-unauthenticated',
  title: 'Unauthorized',
  status: 401,
  code: 'AUDIT_UNAUTHENTICATED',
});

/** The one body of every 403 answer. */
export const AUDIT_403: Readonly<AuditProblem> = Object.freeze({
  type: 'urn:vpause:problem:audit-forbidden',
  title: 'Forbidden',
  status: 403,
  code: 'AUDIT_FORBIDDEN',
});

/** Why a challenge was refused (for the node's own logs and metrics, never for the caller). */
export type AuditRefusalReason =
  | 'too-large'
  | 'not-json'
  | 'not-envelope'
  | 'wrong-payload-type'
  | 'unsigned'
  | 'payload-unreadable'
  | 'payload-not-canonical'
  | 'payload-schema'
  | 'untrusted-key'
  | 'bad-signature'
  | 'expired'
  | 'wrong-node'
  | 'replayed';

export type AuditOutcome =
  | { status: 200; body: AuditResponse; verifier: string; challenge: AuditChallenge }
  | { status: 401 | 403; body: AuditProblem; reason: AuditRefusalReason };

export interface AuditResponderOptions {
  outbox: Outbox;
  identity: NodeIdentity;
  /** Verifier keys whose challenges are answered (Ed25519, type 0x01). */
  verifiers: readonly VerifierKey[];
  /** Validity window, ms: challenges whose time is within ± this of the node's clock. */
  windowMs: number;
  timer: Pick<Timer, 'now'>;
}

const refuse401 = (reason: AuditRefusalReason): AuditOutcome => ({
  status: 401,
  body: AUDIT_401,
  reason,
});
const refuse403 = (reason: AuditRefusalReason): AuditOutcome => ({
  status: 403,
  body: AUDIT_403,
  reason,
});

/** Answers audit challenges from the outbox. */
export class AuditResponder {
  constructor(private readonly o: AuditResponderOptions) {}

  /** Reads one request body and decides (see the module comment). Never throws for bad input. */
  respond(request: Uint8Array): AuditOutcome {
    // 1. readable signed challenge → else 401
    if (request.length > AUDIT_MAX_CHALLENGE_BYTES) return refuse401('too-large');
    let json: unknown;
    try {
      json = parseJsonStrict(fromUtf8(request), 8);
    } catch {
      return refuse401('not-json');
    }
    const frame = envelopeFrameSchema.safeParse(json);
    if (!frame.success) return refuse401('not-envelope');
    const env = frame.data;
    if (env.payloadType !== AUDIT_CHALLENGE_TYPE) return refuse401('wrong-payload-type');
    if (env.signatures.length === 0) return refuse401('unsigned');
    let text: string;
    let payload: unknown;
    try {
      text = fromUtf8(fromBase64(env.payload));
      payload = parseJsonStrict(text, 8);
    } catch {
      return refuse401('payload-unreadable');
    }
    try {
      if (jcs(payload) !== text) return refuse401('payload-not-canonical');
    } catch {
      return refuse401('payload-not-canonical');
    }
    const parsed = auditChallengeSchema.safeParse(payload);
    if (!parsed.success) return refuse401('payload-schema');
    const c = parsed.data;

    // 2. trusted, fresh, for this node, never seen → else 403
    const named = new Set(env.signatures.map((s) => s.keyid));
    if (!this.o.verifiers.some((k) => named.has(keyIdString(k)))) {
      return refuse403('untrusted-key');
    }
    let verifier: VerifierKey;
    try {
      verifier = verifyEnvelope(env, this.o.verifiers)[0]!;
    } catch {
      return refuse403('bad-signature');
    }
    const now = this.o.timer.now();
    const t = parseTime(c.time) * 1000;
    if (Math.abs(t - now) > this.o.windowMs) return refuse403('expired');
    const id = this.o.identity;
    if (
      c.lab !== id.lab ||
      c.facility !== id.facility ||
      c.cluster !== id.cluster ||
      c.node !== id.node
    ) {
      return refuse403('wrong-node');
    }
    // Kept until the challenge can no longer pass the window check (plus a margin).
    const keepUntil = Math.max(t, now) + this.o.windowMs + 60_000;
    if (!this.o.outbox.useNonce(c.nonce, keyIdString(verifier), now, keepUntil)) {
      return refuse403('replayed');
    }

    // 3. the answer
    return {
      status: 200,
      verifier: keyIdString(verifier),
      challenge: c,
      body: {
        v: 1,
        type: 'vpause-audit-response',
        nonce: c.nonce,
        ...id,
        time: toStatementTime(Math.floor(now / 1000) * 1000),
        reports: c.reports.map((r) => this.disclose(r)),
      },
    };
  }

  private disclose(r: AuditChallenge['reports'][number]): DisclosedReport | RefusedReport {
    const row =
      r.seq !== undefined ? this.o.outbox.get(r.seq) : this.o.outbox.getByLogIndex(r.index!);
    const ref = { seq: r.seq ?? row?.seq ?? null, index: r.index ?? row?.logIndex ?? null };
    if (row === undefined) return { ...ref, error: 'REPORT_UNKNOWN' };
    const priv = this.o.outbox.private(row.seq);
    if (priv === undefined) return { ...ref, error: 'REPORT_PURGED' };
    if (r.samples.some((p) => p >= priv.leaves.length)) {
      return { ...ref, error: 'SAMPLE_OUT_OF_RANGE' };
    }
    const commitment = r.samples.length > 0 ? commitSamples(priv.leaves) : undefined;
    return {
      seq: row.seq,
      index: row.logIndex,
      statement: JSON.parse(fromUtf8(row.entry)),
      body: toBase64(priv.body),
      samples: r.samples.map((p) => ({
        position: p,
        leaf: toBase64(priv.leaves[p]!),
        proof: commitment!.proof(p).map(toBase64),
      })),
    };
  }
}
