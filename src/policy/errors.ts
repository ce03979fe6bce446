/**
 * The one error type of the policy parsers (tlog-policy, the vpause trust policy, ADMIT.txt).
 * Messages are one line and name the file and line: `policy line 7: group "X": undefined member "Z"`.
 * Tests assert `code` (and `line`), never the message.
 */
import { VPauseError } from '../core/errors.js';

/**
 * Closed set of policy error codes.
 * - POLICY_SYNTAX: wrong number of fields, a malformed token or number, a forbidden character
 * - POLICY_UNKNOWN_DIRECTIVE: the first word of a line is not a directive of this file format
 * - POLICY_DUPLICATE: a name, public key, group member, facility or setting defined twice
 * - POLICY_UNKNOWN_NAME: a reference to a name not defined earlier (group member, quorum, meter facility)
 * - POLICY_RESERVED_NAME: `none` defined as a witness or group, or listed as a group member
 * - POLICY_THRESHOLD: a group threshold k outside 1 ≤ k ≤ n
 * - POLICY_KEY: a vkey that does not parse, or has the wrong signature type for its role
 * - POLICY_NO_QUORUM: the file has no quorum line
 * - POLICY_VALUE: a number out of its allowed range (PUE, baseline, meter-sigma, alpha)
 * - POLICY_LIMIT: the file exceeds an implementation limit (lines, logs, witnesses, groups, size)
 */
export type PolicyErrorCode =
  | 'POLICY_SYNTAX'
  | 'POLICY_UNKNOWN_DIRECTIVE'
  | 'POLICY_DUPLICATE'
  | 'POLICY_UNKNOWN_NAME'
  | 'POLICY_RESERVED_NAME'
  | 'POLICY_THRESHOLD'
  | 'POLICY_KEY'
  | 'POLICY_NO_QUORUM'
  | 'POLICY_VALUE'
  | 'POLICY_LIMIT';

/** A refused policy file. `line` is 1-based; absent for whole-file errors (no quorum, size). */
export class PolicyError extends VPauseError<PolicyErrorCode> {
  readonly file: string;
  readonly line: number | undefined;
  constructor(
    code: PolicyErrorCode,
    file: string,
    line: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${file}${line === undefined ? '' : ` line ${line}`}: ${detail}`, options);
    this.name = 'PolicyError';
    this.file = file;
    this.line = line;
  }
}

/** Quotes an untrusted token for an error message: JSON string, cut to 64 characters. */
export function quote(token: string): string {
  const cut = token.length > 64 ? `${token.slice(0, 61)}...` : token;
  return JSON.stringify(cut);
}
