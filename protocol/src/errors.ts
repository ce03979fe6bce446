/**
 * The closed set of error codes for statements: parsing an entry, checking its envelope and
 * payload, and verifying its signature. Codes are stable strings; the log maps each to an
 * RFC 9457 problem type in one place. Tests assert codes, never messages.
 */
import { VPauseError } from '../../src/core/errors.js';

/** Every statement error code, in the order parseEntry and verification check them. */
export const STATEMENT_ERROR_CODES = [
  'ENTRY_EMPTY',
  'ENTRY_TOO_LARGE',
  'ENTRY_NOT_UTF8',
  'ENTRY_MALFORMED_JSON',
  'ENTRY_TOO_DEEP',
  'ENVELOPE_INVALID',
  'ENTRY_NOT_CANONICAL',
  'SIGNATURE_MISSING',
  'PAYLOAD_TYPE_UNKNOWN',
  'PAYLOAD_NOT_BASE64',
  'PAYLOAD_MALFORMED',
  'PAYLOAD_NOT_CANONICAL',
  'PAYLOAD_SCHEMA',
  'KEY_UNSUPPORTED',
  'KEYID_MISMATCH',
  'SIGNATURE_INVALID',
] as const;

/** A statement error code. */
export type StatementErrorCode = (typeof STATEMENT_ERROR_CODES)[number];

/** The error statements code throws. */
export type StatementError = VPauseError<StatementErrorCode>;

/** True when `e` is a VPauseError whose code is a statement error code. */
export function isStatementError(e: unknown): e is StatementError {
  return e instanceof VPauseError && (STATEMENT_ERROR_CODES as readonly string[]).includes(e.code);
}

/** @internal Builds a statement error. */
export function statementError(
  code: StatementErrorCode,
  message: string,
  cause?: unknown,
): StatementError {
  return new VPauseError(code, message, cause === undefined ? undefined : { cause });
}
