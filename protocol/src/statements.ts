/**
 * Statements: the one place vpause builds and checks them (log, node, lab tools, verifier).
 *
 * A statement is a payload object, JCS-encoded, signed in a DSSE envelope; the log entry is the
 * JCS encoding of the envelope (UTF-8, at most 65,535 bytes). `parseEntry` is the strict decoder
 * of untrusted entries; `verifyStatementSignature` checks one key's signature on a parsed entry.
 * See protocol/SPEC.md for the rules these functions implement, in the same order.
 */
import type { z } from 'zod';
import { fromBase64, toHex } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import type { SignerKey, VerifierKey } from '../../src/note/keys.js';
import { signEnvelope, verifySignatures } from './dsse.js';
import { statementError } from './errors.js';
import { jcs, jcsBytes } from './jcs.js';
import { parseJsonStrict } from './json.js';
import {
  type Envelope,
  envelopeFrameSchema,
  isPayloadType,
  LAB_PATTERN,
  type MeterPayload,
  PAYLOAD_TYPE,
  type Payload,
  type PayloadOf,
  type PayloadType,
  payloadSchemas,
  type UsagePayload,
} from './schemas.js';

/** Largest log entry, in bytes (entry bundles length-prefix entries with a uint16). */
export const MAX_ENTRY_BYTES = 65_535;
/** Deepest nesting of arrays/objects in an entry or in the JSON its payload carries. */
export const MAX_JSON_DEPTH = 8;
/** The `prev` of the first statement (`seq` 0) of a chain: 64 zeros. */
export const ZERO_HASH = '0'.repeat(64);

/** A statement as built for submission: its envelope, and the entry (JCS of the envelope). */
export interface Statement {
  envelope: Envelope;
  entry: Uint8Array;
}

/** A parsed statement of payload type `T`. */
export interface ParsedStatementOf<T extends PayloadType> {
  /** The envelope, as decoded. */
  envelope: Envelope;
  payloadType: T;
  /** The payload object, checked against its schema. */
  payload: PayloadOf<T>;
  /** The payload bytes the signature covers: the JCS encoding of `payload`. */
  payloadBytes: Uint8Array;
  /** The canonical entry: the JCS encoding of the envelope, UTF-8 (what the log stores). */
  entry: Uint8Array;
}

/** A parsed statement; narrow on `payloadType`. */
export type ParsedStatement = { [T in PayloadType]: ParsedStatementOf<T> }[PayloadType];

/** Options of parseEntry. */
export interface ParseEntryOptions {
  /**
   * Require the input bytes to be the canonical entry already (JCS of the envelope). Set it when
   * reading entries back from a log, where only canonical entries are ever stored; leave it unset
   * for submissions, which may carry any JSON serialisation of the envelope.
   */
  requireCanonical?: boolean;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function describeIssues(e: z.ZodError): string {
  const parts = e.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  return parts.join('; ') + (e.issues.length > 5 ? `; … ${e.issues.length - 5} more` : '');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Builds a statement: checks `payload` against the schema of `payloadType`, encodes it with
 * JCS, signs it in a DSSE envelope and returns the envelope and the entry.
 * @throws {StatementError} PAYLOAD_TYPE_UNKNOWN, PAYLOAD_SCHEMA (the payload breaks its schema),
 *   KEY_UNSUPPORTED (the signer is not Ed25519), ENTRY_TOO_LARGE (the entry exceeds 65,535 bytes)
 */
export function makeStatement<T extends PayloadType>(
  payloadType: T,
  payload: PayloadOf<T>,
  signer: SignerKey,
): Statement {
  if (!isPayloadType(payloadType)) {
    throw statementError('PAYLOAD_TYPE_UNKNOWN', `unknown payloadType ${String(payloadType)}`);
  }
  const checked = payloadSchemas[payloadType].safeParse(payload);
  if (!checked.success) {
    throw statementError('PAYLOAD_SCHEMA', describeIssues(checked.error), checked.error);
  }
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = jcsBytes(checked.data);
  } catch (cause) {
    throw statementError('PAYLOAD_SCHEMA', 'payload has no JCS encoding', cause);
  }
  const envelope = signEnvelope(payloadType, payloadBytes, signer);
  const entry = jcsBytes(envelope);
  if (entry.length > MAX_ENTRY_BYTES) {
    throw statementError(
      'ENTRY_TOO_LARGE',
      `entry is ${entry.length} bytes (> ${MAX_ENTRY_BYTES})`,
    );
  }
  return { envelope, entry };
}

function parseJson(text: string, what: 'entry' | 'payload'): unknown {
  try {
    return parseJsonStrict(text, MAX_JSON_DEPTH);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'JSON_TOO_DEEP') {
      throw statementError('ENTRY_TOO_DEEP', `${what} nests deeper than ${MAX_JSON_DEPTH}`, e);
    }
    if (what === 'payload') {
      if (code === 'JSON_DUPLICATE_KEY') {
        throw statementError('PAYLOAD_NOT_CANONICAL', 'payload has a duplicate key', e);
      }
      throw statementError('PAYLOAD_MALFORMED', 'payload is not a JSON text', e);
    }
    throw statementError(
      'ENTRY_MALFORMED_JSON',
      'entry is not a JSON text without duplicate keys',
      e,
    );
  }
}

/**
 * The strict decoder of an incoming statement. Checks, in this order (the first failure wins):
 * size, UTF-8, JSON (no duplicate keys, nesting ≤ 8), envelope shape, canonical form (with
 * `requireCanonical`), at least one signature, known payloadType, payload base64, payload
 * UTF-8 JSON, payload is exactly its own JCS encoding, payload schema. Signatures are not
 * verified here: see verifyStatementSignature.
 * @throws {StatementError} ENTRY_EMPTY, ENTRY_TOO_LARGE, ENTRY_NOT_UTF8, ENTRY_MALFORMED_JSON,
 *   ENTRY_TOO_DEEP, ENVELOPE_INVALID, ENTRY_NOT_CANONICAL, SIGNATURE_MISSING,
 *   PAYLOAD_TYPE_UNKNOWN, PAYLOAD_NOT_BASE64, PAYLOAD_MALFORMED, PAYLOAD_NOT_CANONICAL,
 *   PAYLOAD_SCHEMA
 */
export function parseEntry(bytes: Uint8Array, opts: ParseEntryOptions = {}): ParsedStatement {
  return parseCanonicalFast(bytes) ?? parseEntryStrict(bytes, opts);
}

/** Any UTF-16 surrogate (paired or not): such strings take the strict path. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The JCS encoding (RFC 8785, as the `canonicalize` library behind `jcs` writes it) of a value
 * `JSON.parse` returned, nesting at most `maxDepth` deep; undefined for deeper values, strings or
 * member names with surrogates and non-finite numbers, which the strict path then judges.
 */
function jcsOfParsed(v: unknown, maxDepth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return SURROGATE.test(v) ? undefined : JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return 'null';
  if (maxDepth === 0) return undefined;
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) {
      const x = jcsOfParsed(v[i], maxDepth - 1);
      if (x === undefined) return undefined;
      out += i > 0 ? `,${x}` : x;
    }
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (SURROGATE.test(k)) return undefined;
    const x = jcsOfParsed(o[k], maxDepth - 1);
    if (x === undefined) return undefined;
    out += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${x}`;
  }
  return `${out}}`;
}

/**
 * The JCS encoding of an envelope that passed envelopeFrameSchema (three string-valued members,
 * signatures of two string-valued members each; keys in JCS order), for strings without
 * surrogates, where RFC 8785 string serialisation is JSON.stringify's. Undefined otherwise.
 */
function envelopeJcsText(e: Envelope): string | undefined {
  if (SURROGATE.test(e.payloadType) || SURROGATE.test(e.payload)) return undefined;
  let out = `{"payload":${JSON.stringify(e.payload)},"payloadType":${JSON.stringify(e.payloadType)},"signatures":[`;
  for (let i = 0; i < e.signatures.length; i++) {
    const sig = e.signatures[i]!;
    if (SURROGATE.test(sig.keyid) || SURROGATE.test(sig.sig)) return undefined;
    out += `${i > 0 ? ',' : ''}{"keyid":${JSON.stringify(sig.keyid)},"sig":${JSON.stringify(sig.sig)}}`;
  }
  return `${out}]}`;
}

/**
 * The fast path of parseEntry, for the common case of a valid statement submitted as its
 * canonical entry: it returns what the strict path would return, or undefined whenever anything
 * is off, and the strict path then decides (and reports the first failure in its order).
 *
 * Why it agrees: when the bytes are exactly the JCS encoding of the envelope `JSON.parse`
 * read from them, the text has no duplicate member names (JCS output has none) and no
 * whitespace, so the strict parser reads the same value from it; the envelope frame bounds its
 * nesting at 3. The payload text is accepted only when it is its own JCS encoding (what step 10
 * requires anyway) and nests no deeper than MAX_JSON_DEPTH, so again the strict parser would
 * read the same value. All other checks are the strict path's own.
 */
function parseCanonicalFast(bytes: Uint8Array): ParsedStatement | undefined {
  if (bytes.length === 0 || bytes.length > MAX_ENTRY_BYTES) return undefined;
  let json: unknown;
  let payloadJson: unknown;
  let payloadText: string;
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const frame = envelopeFrameSchema.safeParse(json);
  if (!frame.success) return undefined;
  const envelope = frame.data;
  // Strict decoding that keeps a byte-order mark is one-to-one on valid UTF-8, so comparing the
  // texts is comparing the bytes with the UTF-8 of the JCS text.
  if (envelopeJcsText(envelope) !== text) return undefined;
  const entry = bytes.slice();
  if (envelope.signatures.length === 0) return undefined;
  const payloadType = envelope.payloadType;
  if (!isPayloadType(payloadType)) return undefined;
  let payloadBytes: Uint8Array;
  try {
    // Canonical padded base64 is exactly what re-encodes to itself (fromBase64's rule).
    const b = Buffer.from(envelope.payload, 'base64');
    if (b.toString('base64') !== envelope.payload) return undefined;
    payloadBytes = new Uint8Array(b);
    payloadText = utf8Strict.decode(payloadBytes);
    payloadJson = JSON.parse(payloadText);
  } catch {
    return undefined;
  }
  if (jcsOfParsed(payloadJson, MAX_JSON_DEPTH) !== payloadText) return undefined;
  const checked = payloadSchemas[payloadType].safeParse(payloadJson);
  if (!checked.success) return undefined;
  return {
    envelope,
    payloadType,
    payload: checked.data,
    payloadBytes,
    entry,
  } as ParsedStatement;
}

/** parseEntry's checks, one after the other, as documented there. */
function parseEntryStrict(bytes: Uint8Array, opts: ParseEntryOptions): ParsedStatement {
  // 1. size
  if (bytes.length === 0) throw statementError('ENTRY_EMPTY', 'entry is empty');
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw statementError(
      'ENTRY_TOO_LARGE',
      `entry is ${bytes.length} bytes (> ${MAX_ENTRY_BYTES})`,
    );
  }
  // 2. UTF-8 (a byte-order mark is kept, and then refused by the JSON grammar)
  let text: string;
  try {
    text = utf8Strict.decode(bytes);
  } catch (cause) {
    throw statementError('ENTRY_NOT_UTF8', 'entry is not valid UTF-8', cause);
  }
  // 3. JSON
  const json = parseJson(text, 'entry');
  // 4. envelope shape
  const frame = envelopeFrameSchema.safeParse(json);
  if (!frame.success) {
    throw statementError('ENVELOPE_INVALID', describeIssues(frame.error), frame.error);
  }
  const envelope = frame.data;
  let entry: Uint8Array;
  try {
    entry = jcsBytes(envelope);
  } catch (cause) {
    throw statementError('ENVELOPE_INVALID', 'envelope has no JCS encoding', cause);
  }
  if (entry.length > MAX_ENTRY_BYTES) {
    throw statementError('ENTRY_TOO_LARGE', `canonical entry is ${entry.length} bytes`);
  }
  // 5. canonical form, when asked
  if (opts.requireCanonical === true && !sameBytes(entry, bytes)) {
    throw statementError('ENTRY_NOT_CANONICAL', 'entry is not the JCS encoding of its envelope');
  }
  // 6. signatures present
  if (envelope.signatures.length === 0) {
    throw statementError('SIGNATURE_MISSING', 'envelope has no signatures');
  }
  // 7. payload type
  const payloadType = envelope.payloadType;
  if (!isPayloadType(payloadType)) {
    throw statementError(
      'PAYLOAD_TYPE_UNKNOWN',
      `unknown payloadType ${JSON.stringify(payloadType)}`,
    );
  }
  // 8. payload encoding
  let payloadBytes: Uint8Array;
  try {
    payloadBytes = fromBase64(envelope.payload);
  } catch (cause) {
    throw statementError('PAYLOAD_NOT_BASE64', 'payload is not canonical padded base64', cause);
  }
  // 9. payload JSON
  let payloadText: string;
  try {
    payloadText = utf8Strict.decode(payloadBytes);
  } catch (cause) {
    throw statementError('PAYLOAD_MALFORMED', 'payload is not valid UTF-8', cause);
  }
  const payloadJson = parseJson(payloadText, 'payload');
  // 10. payload canonical: the payload text must be exactly its own JCS encoding
  let canonical: string;
  try {
    canonical = jcs(payloadJson);
  } catch (cause) {
    throw statementError('PAYLOAD_NOT_CANONICAL', 'payload has no JCS encoding', cause);
  }
  if (canonical !== payloadText) {
    throw statementError('PAYLOAD_NOT_CANONICAL', 'payload is not its own JCS encoding');
  }
  // 11. payload schema
  const checked = payloadSchemas[payloadType].safeParse(payloadJson);
  if (!checked.success) {
    throw statementError('PAYLOAD_SCHEMA', describeIssues(checked.error), checked.error);
  }
  return {
    envelope,
    payloadType,
    payload: checked.data,
    payloadBytes,
    entry,
  } as ParsedStatement;
}

/**
 * Verifies the signature of `key` on a parsed statement. Exactly one signature counts: the one
 * whose keyid equals keyIdString(key) (keyids are unique in an envelope). Signatures by other
 * keys are ignored; they neither help nor hurt. Which key must sign which statement (lab root,
 * registered node, meter) is the caller's policy.
 * @throws {StatementError} KEY_UNSUPPORTED (key is not Ed25519), KEYID_MISMATCH (no signature
 *   names this key), SIGNATURE_INVALID (it does not verify)
 */
export function verifyStatementSignature(parsed: ParsedStatement, key: VerifierKey): void {
  verifySignatures(parsed.payloadType, parsed.payloadBytes, parsed.envelope.signatures, [key]);
}

/** The fields of a usage payload that name its chain, and its place in it. */
export type UsageChainFields = Pick<UsagePayload, 'lab' | 'facility' | 'cluster' | 'node' | 'seq'>;
/** The fields of a meter payload that name its chain, and its place in it. */
export type MeterChainFields = Pick<MeterPayload, 'facility' | 'meter' | 'seq'>;
/** What `chainKey` reads of a payload. */
export type ChainFields = UsageChainFields | MeterChainFields;

/**
 * The chain a statement belongs to, or null: `usage/<lab>/<facility>/<cluster>/<node>` for usage
 * reports, `meter/<facility>/<meter>` for meter readings. Within a chain `seq` counts up from 0
 * and `prev` links each payload to the previous one (see payloadHash).
 */
export function chainKey(payloadType: PayloadType, payload: Payload | ChainFields): string | null {
  if (payloadType === PAYLOAD_TYPE.usage) {
    const u = payload as UsageChainFields;
    return `usage/${u.lab}/${u.facility}/${u.cluster}/${u.node}`;
  }
  if (payloadType === PAYLOAD_TYPE.meter) {
    const m = payload as MeterChainFields;
    return `meter/${m.facility}/${m.meter}`;
  }
  return null;
}

/** Suffix of lab root key names: the root key of lab `L` is named `L/root`. */
export const LAB_ROOT_KEY_SUFFIX = '/root';

const LAB_RE = new RegExp(LAB_PATTERN);

/** The key name a lab root key of `lab` must have: `<lab>/root`. */
export function labRootKeyName(lab: string): string {
  return `${lab}${LAB_ROOT_KEY_SUFFIX}`;
}

/**
 * The lab whose statements a root key of this name may sign, or null when the name is not
 * `<lab>/root` for a valid lab name. A lab root key admits exactly the registration, inventory
 * and pause statements whose `lab` is that lab.
 */
export function labOfRootKeyName(name: string): string | null {
  if (!name.endsWith(LAB_ROOT_KEY_SUFFIX)) return null;
  const lab = name.slice(0, -LAB_ROOT_KEY_SUFFIX.length);
  return LAB_RE.test(lab) ? lab : null;
}

/** The hex SHA-256 of payload bytes: the `prev` value of the next statement in its chain. */
export function payloadHash(payloadBytes: Uint8Array): string {
  return toHex(sha256(payloadBytes));
}
