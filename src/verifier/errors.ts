/**
 * Errors of the verifier (closed set of codes; tests assert the code, never the message).
 * - PAUSE_NOT_FOUND: the log has no authentic pause declaration with this lab and id
 * - QUESTION_INVALID: a malformed question (times, window too large)
 * - POLICY_NO_LOG: the policy names no log whose key verifies the log's checkpoint
 * - BUNDLE_INVALID: an evidence bundle that does not parse or whose proofs, checkpoints or
 *   consistency do not verify
 * - SYNC_STATE_INVALID: the local cache does not match the log (another log, a corrupt file)
 * - AUDIT_UNAVAILABLE: --audit without a verifier key, or no node address for an audit
 */
import { VPauseError } from '../core/errors.js';

export type VerifierErrorCode =
  | 'PAUSE_NOT_FOUND'
  | 'QUESTION_INVALID'
  | 'POLICY_NO_LOG'
  | 'BUNDLE_INVALID'
  | 'SYNC_STATE_INVALID'
  | 'AUDIT_UNAVAILABLE';

export class VerifierError extends VPauseError<VerifierErrorCode> {
  constructor(code: VerifierErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'VerifierError';
  }
}
