/**
 * vpause protocol: statements, their schemas, DSSE envelopes and canonical JSON.
 * Pure: no I/O. The rules are in protocol/SPEC.md; vectors in protocol/vectors/.
 */
export { pae, signEnvelope, verifyEnvelope } from './dsse.js';
export {
  isStatementError,
  STATEMENT_ERROR_CODES,
  type StatementError,
  type StatementErrorCode,
} from './errors.js';
export {
  assertJsonValue,
  JCS_MAX_DEPTH,
  type JcsErrorCode,
  type JsonValue,
  jcs,
  jcsBytes,
} from './jcs.js';
export * from './schemas.js';
export {
  type ChainFields,
  chainKey,
  LAB_ROOT_KEY_SUFFIX,
  labOfRootKeyName,
  labRootKeyName,
  MAX_ENTRY_BYTES,
  MAX_JSON_DEPTH,
  type MeterChainFields,
  makeStatement,
  type ParsedStatement,
  type ParsedStatementOf,
  type ParseEntryOptions,
  parseEntry,
  payloadHash,
  type Statement,
  type UsageChainFields,
  verifyStatementSignature,
  ZERO_HASH,
} from './statements.js';
export {
  formatTime,
  isTime,
  MAX_TIME_SECONDS,
  MIN_TIME_SECONDS,
  parseTime,
  TIME_PATTERN,
} from './time.js';
export * from './verdict.js';
