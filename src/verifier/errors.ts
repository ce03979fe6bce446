/**
 * Errors of the verifier (closed set of codes; tests assert the code, never the message).
 * - PAUSE_NOT_FOUND: the log has no authentic pause declaration with this lab and id
 * - QUESTION_INVALID: a malformed question (times, window too large)
 * - POLICY_NO_LOG: the policy names no log whose key verifies the log's checkpoint
 * - BUNDLE_INVALID: an evidence bundle that does not parse or whose proofs, checkpoints or
 *   consistency do not verify
 * - SYNC_STATE_INVALID: the local cache does not match the log (another log, a corrupt file)
 * - AUDIT_UNAVAILABLE: --audit without a verifier key, or no node address for an audit
 * - VERDICT_INVALID: a signed verdict that is not a canonical DSSE envelope of a valid verdict
 * - VERDICT_SIGNATURE_INVALID: a signed verdict no trusted verifier key signed, or whose
 *   signature by a trusted key does not verify
 * - VERIFIER_KEY_MISSING: signing asked for, but the policy has no verifier-key line
 */
import { VPauseError } from '../core/errors.js';

export type VerifierErrorCode =
  | 'PAUSE_NOT_FOUND'
  | 'QUESTION_INVALID'
  | 'POLICY_NO_LOG'
  | 'BUNDLE_INVALID'
  | 'SYNC_STATE_INVALID'
  | 'AUDIT_UNAVAILABLE'
  | 'VERDICT_INVALID'
  | 'VERDICT_SIGNATURE_INVALID'
  | 'VERIFIER_KEY_MISSING';

export class VerifierError extends VPauseError<VerifierErrorCode> {
  constructor(code: VerifierErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'VerifierError';
  }
}
