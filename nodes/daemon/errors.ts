import { VPauseError } from '../../src/core/errors.js';

/**
 * The closed set of error codes raised by the node and meter daemons, the lab tools and the audit
 * client. Tests assert these codes, never messages.
 *
 * - `DAEMON_CONFIG_INVALID`: a configuration file or flag that does not validate.
 * - `OUTBOX_LOCKED`: another process holds the outbox database.
 * - `OUTBOX_STORAGE`: the outbox cannot be opened, read or written.
 * - `OUTBOX_IDENTITY`: the outbox belongs to another chain (node or meter).
 * - `OUTBOX_CHAIN`: a statement that does not extend the stored chain (`seq`, `prev`).
 * - `LOG_UNREACHABLE`: the log did not answer (network error, timeout).
 * - `LOG_BAD_RESPONSE`: the log answered something that does not parse or does not match.
 * - `LOG_REJECTED`: the log refused a statement (a 4xx problem other than a seq conflict).
 * - `LOG_SEQ_CONFLICT`: the log holds a different statement with the same chain and `seq`.
 * - `RECEIPT_INVALID`: a receipt that does not verify against the log key and the entry.
 * - `RECEIPT_TIMEOUT`: no receipt came within the time allowed.
 * - `AUDIT_UNAUTHENTICATED`, `AUDIT_FORBIDDEN`: the node refused an audit challenge (401, 403).
 * - `AUDIT_UNREACHABLE`, `AUDIT_BAD_RESPONSE`, `AUDIT_FAILED`: the audit exchange failed.
 */
export type DaemonErrorCode =
  | 'DAEMON_CONFIG_INVALID'
  | 'OUTBOX_LOCKED'
  | 'OUTBOX_STORAGE'
  | 'OUTBOX_IDENTITY'
  | 'OUTBOX_CHAIN'
  | 'LOG_UNREACHABLE'
  | 'LOG_BAD_RESPONSE'
  | 'LOG_REJECTED'
  | 'LOG_SEQ_CONFLICT'
  | 'RECEIPT_INVALID'
  | 'RECEIPT_TIMEOUT'
  | 'AUDIT_UNAUTHENTICATED'
  | 'AUDIT_FORBIDDEN'
  | 'AUDIT_UNREACHABLE'
  | 'AUDIT_BAD_RESPONSE'
  | 'AUDIT_FAILED';

/** The error the daemons, the lab tools and the audit client throw. */
export class DaemonError extends VPauseError<DaemonErrorCode> {
  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'DaemonError';
  }
}
