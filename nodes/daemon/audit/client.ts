/**
 * The verifier's side of an audit: build and sign a challenge, send it to a node, validate the
 * answer's shape. Checking the answer against the logged statements is `checkAuditResponse`.
 */
import { randomBytes } from 'node:crypto';
import { type Envelope, formatTime, jcsBytes, signEnvelope } from '../../../protocol/src/index.js';
import { toHex } from '../../../src/core/bytes.js';
import type { SignerKey } from '../../../src/note/keys.js';
import { DaemonError } from '../errors.js';
import { describeZodIssues } from '../util.js';
import {
  AUDIT_CHALLENGE_TYPE,
  type AuditChallenge,
  type AuditResponse,
  auditChallengeSchema,
  auditResponseSchema,
} from './protocol.js';

/** A challenge to send; `nonce` and `time` are filled in when absent. */
export type AuditChallengeInput = Omit<AuditChallenge, 'nonce' | 'time' | 'v'> &
  Partial<Pick<AuditChallenge, 'nonce' | 'time' | 'v'>>;

export interface MakeChallengeOptions {
  /** Clock, Unix ms (default Date.now). */
  now?: () => number;
  /** Randomness for the nonce (default node:crypto randomBytes). */
  random?: (n: number) => Uint8Array;
}

/**
 * Completes and validates a challenge: `v` 1, a 32-byte random nonce and the current time
 * (whole seconds) unless given.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when the challenge breaks the schema
 */
export function makeAuditChallenge(
  input: AuditChallengeInput,
  opts: MakeChallengeOptions = {},
): AuditChallenge {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const c = {
    ...input,
    v: 1 as const,
    nonce: input.nonce ?? toHex(random(32)),
    time: input.time ?? formatTime(Math.floor(now() / 1000)),
  };
  const r = auditChallengeSchema.safeParse(c);
  if (!r.success) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `invalid audit challenge: ${describeZodIssues(r.error)}`,
      { cause: r.error },
    );
  }
  return r.data;
}

/**
 * Signs a challenge as a DSSE envelope (payload: the JCS encoding of the challenge).
 * @throws {StatementError} KEY_UNSUPPORTED when the key is not an Ed25519 (0x01) key
 */
export function signAuditChallenge(challenge: AuditChallenge, signer: SignerKey): Envelope {
  return signEnvelope(AUDIT_CHALLENGE_TYPE, jcsBytes(challenge), signer);
}

export interface AuditClientOptions extends MakeChallengeOptions {
  fetch?: typeof fetch;
  /** Request timeout, ms (default 30 000). */
  timeoutMs?: number;
}

/**
 * Sends a signed audit challenge to the node at `nodeUrl` (`POST <nodeUrl>/v1/audit`) and
 * returns its answer, checked against the response schema and the challenge's nonce and node.
 * Check the answer against the logged statements with `checkAuditResponse`.
 * @throws {DaemonError} AUDIT_UNAUTHENTICATED (401: the node could not read a signed challenge),
 *   AUDIT_FORBIDDEN (403: key not trusted, outside the validity window, replayed, or another
 *   node), AUDIT_UNREACHABLE, AUDIT_BAD_RESPONSE (not a valid answer to this challenge),
 *   AUDIT_FAILED (another status), DAEMON_CONFIG_INVALID (the challenge breaks the schema)
 */
export async function auditChallenge(
  nodeUrl: string,
  challenge: AuditChallengeInput,
  verifierSigner: SignerKey,
  opts: AuditClientOptions = {},
): Promise<AuditResponse> {
  const c = makeAuditChallenge(challenge, opts);
  const env = signAuditChallenge(c, verifierSigner);
  const f = opts.fetch ?? fetch;
  let r: Response;
  try {
    r = await f(`${nodeUrl.replace(/\/+$/, '')}/v1/audit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(env),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new DaemonError('AUDIT_UNREACHABLE', `cannot reach ${nodeUrl}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (r.status === 401 || r.status === 403) {
    await r.body?.cancel();
    throw new DaemonError(
      r.status === 401 ? 'AUDIT_UNAUTHENTICATED' : 'AUDIT_FORBIDDEN',
      `node refused the challenge (HTTP ${r.status})`,
    );
  }
  if (!r.ok) {
    await r.body?.cancel();
    throw new DaemonError('AUDIT_FAILED', `node answered HTTP ${r.status}`);
  }
  let json: unknown;
  try {
    json = await r.json();
  } catch (e) {
    throw new DaemonError('AUDIT_BAD_RESPONSE', 'node answered something that is not JSON', {
      cause: e,
    });
  }
  const parsed = auditResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new DaemonError(
      'AUDIT_BAD_RESPONSE',
      `node's answer breaks the response schema: ${describeZodIssues(parsed.error)}`,
    );
  }
  const a = parsed.data;
  if (
    a.nonce !== c.nonce ||
    a.lab !== c.lab ||
    a.facility !== c.facility ||
    a.cluster !== c.cluster ||
    a.node !== c.node
  ) {
    throw new DaemonError('AUDIT_BAD_RESPONSE', 'the answer is not for this challenge');
  }
  return a;
}
