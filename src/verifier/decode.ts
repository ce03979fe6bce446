/**
 * Decoding log entries for the verifier, fast.
 *
 * `parseEntry` (protocol/src/statements.ts) is the reference decoder: a strict JSON parser, JCS
 * re-encoding and zod schemas. It costs more than the Ed25519 verification that follows it, and
 * a verifier reads every entry of a log, so the two statement kinds that make up nearly all of a
 * log (usage reports and meter readings) take a fast path here:
 *
 *   entry text  = UTF-8 (strict) → read as exactly the JCS text of an envelope
 *                 `{"payload":"…","payloadType":"…","signatures":[{"keyid":"…","sig":"…"},…]}`
 *   payload     = canonical base64 → UTF-8 (strict) → JSON.parse → members sorted →
 *                 JSON.stringify === text → the rules of its schema, written out
 *
 * Why this accepts exactly what `parseEntry` accepts with `requireCanonical`: the envelope is
 * read only in its canonical form (members in order, no whitespace, strings without escapes,
 * which every valid payloadType, base64 text and keyid allows), so a text it accepts is its own
 * JCS encoding. A text equal to JSON.stringify of its own JSON.parse, with every object's members
 * in sorted order, is its own JCS encoding too (JCS is JSON.stringify with sorted members, RFC
 * 8785 §3.2; a duplicate member or a non-shortest number would make the re-encoding differ). The
 * payload members the schemas allow are all printable ASCII, so no lone surrogate can pass, and a
 * payload that satisfies its schema nests 2 levels deep. Anything the fast path does not accept is handed to
 * `parseEntry`, which either accepts it or throws the code rule 16 of protocol/SPEC.md names;
 * tests/verifier-checks/checks-decode.test.ts holds the two to the same answers.
 *
 * Pure: no I/O.
 */
import { hash } from 'node:crypto';
import {
  ID_PATTERN,
  KEYID_PATTERN,
  LAB_PATTERN,
  MAX_SIGNATURES,
  PAYLOAD_TYPE,
  type Payload,
  type PayloadType,
  WORKLOADS,
} from '../../protocol/src/schemas.js';
import { MAX_ENTRY_BYTES, parseEntry } from '../../protocol/src/statements.js';
import { tryFromBase64 } from '../core/bytes.js';
import { isTimeFast, seconds, sigBytes } from './packed.js';

export {
  checkSignature,
  isTimeFast,
  type SignatureOutcome,
  seconds,
} from './packed.js';

/** A decoded statement: what the verifier needs of one log entry. */
export interface DecodedStatement {
  payloadType: PayloadType;
  payload: Payload;
  /** The payload bytes the signatures cover (its JCS encoding). */
  payloadBytes: Uint8Array;
  /** Hex SHA-256 of the payload bytes: the `prev` of the next statement in its chain. */
  payloadHash: string;
  signatures: { keyid: string; sig: string }[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LAB_RE = new RegExp(LAB_PATTERN);
const ID_RE = new RegExp(ID_PATTERN);
const KEYID_RE = new RegExp(KEYID_PATTERN);
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WORKLOAD_SET: ReadonlySet<string> = new Set(WORKLOADS);

const USAGE_KEYS = [
  'bodyHash',
  'cluster',
  'end',
  'energyJ',
  'facility',
  'flop',
  'gpuSeconds',
  'gpus',
  'lab',
  'node',
  'prev',
  'samples',
  'seq',
  'start',
  'tensorActive',
  'v',
  'workload',
];
const METER_KEYS = ['counterJ', 'end', 'energyJ', 'facility', 'meter', 'prev', 'seq', 'start', 'v'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Exactly these member names, in this (sorted) order. */
function hasKeys(o: Record<string, unknown>, keys: readonly string[]): boolean {
  const k = Object.keys(o);
  if (k.length !== keys.length) return false;
  for (let i = 0; i < k.length; i++) if (k[i] !== keys[i]) return false;
  return true;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isQuantity = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0;
/**
 * `re.test(v)` for a string, remembering the last few strings that passed (a log repeats its lab,
 * facility and cluster names in every report).
 */
function passes(re: RegExp, seen: string[], v: unknown): v is string {
  if (typeof v !== 'string') return false;
  for (let i = 0; i < seen.length; i++) if (seen[i] === v) return true;
  if (!re.test(v)) return false;
  if (seen.length >= 8) seen.pop();
  seen.unshift(v);
  return true;
}
const idsSeen: string[] = [];
const labsSeen: string[] = [];
const isId = (v: unknown): v is string => passes(ID_RE, idsSeen, v);
/** 64 lowercase hex digits (HASH_PATTERN), without a regular expression. */
function isHash(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function validUsage(p: Record<string, unknown>): boolean {
  if (!hasKeys(p, USAGE_KEYS)) return false;
  const s = p.samples;
  if (
    !(
      p.v === 1 &&
      passes(LAB_RE, labsSeen, p.lab) &&
      isId(p.facility) &&
      isId(p.cluster) &&
      isId(p.node) &&
      isCount(p.seq) &&
      isHash(p.prev) &&
      isTimeFast(p.start) &&
      isTimeFast(p.end) &&
      isCount(p.gpus) &&
      isQuantity(p.gpuSeconds) &&
      isQuantity(p.energyJ) &&
      typeof p.tensorActive === 'number' &&
      p.tensorActive >= 0 &&
      p.tensorActive <= 1 &&
      isQuantity(p.flop) &&
      typeof p.workload === 'string' &&
      WORKLOAD_SET.has(p.workload) &&
      isHash(p.bodyHash) &&
      isPlainObject(s) &&
      hasKeys(s, ['count', 'root']) &&
      isCount(s.count) &&
      isHash(s.root)
    )
  ) {
    return false;
  }
  if (!(p.end > p.start)) return false;
  return p.gpuSeconds <= p.gpus * (seconds(p.end) - seconds(p.start));
}

function validMeter(p: Record<string, unknown>): boolean {
  return (
    hasKeys(p, METER_KEYS) &&
    p.v === 1 &&
    isId(p.facility) &&
    isId(p.meter) &&
    isCount(p.seq) &&
    isHash(p.prev) &&
    isTimeFast(p.start) &&
    isTimeFast(p.end) &&
    p.end > p.start &&
    isQuantity(p.energyJ) &&
    isQuantity(p.counterJ)
  );
}

const PREFIX = '{"payload":"';
const MID = '","payloadType":"';
const SIGS = '","signatures":[';

/**
 * Reads an envelope written exactly in its JCS form, with no escapes in its strings; undefined
 * for anything else (which then goes to parseEntry).
 */
function readCanonicalEnvelope(
  text: string,
):
  | { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] }
  | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const p1 = text.indexOf('"', PREFIX.length);
  if (p1 < 0 || text.startsWith(MID, p1) === false) return undefined;
  const payload = text.slice(PREFIX.length, p1);
  const t0 = p1 + MID.length;
  const t1 = text.indexOf('"', t0);
  if (t1 < 0 || !text.startsWith(SIGS, t1)) return undefined;
  const payloadType = text.slice(t0, t1);
  if (payloadType.includes('\\')) return undefined;
  const signatures: { keyid: string; sig: string }[] = [];
  let i = t1 + SIGS.length;
  for (;;) {
    if (!text.startsWith('{"keyid":"', i)) return undefined;
    const k0 = i + 10;
    const k1 = text.indexOf('"', k0);
    if (k1 < 0 || !text.startsWith('","sig":"', k1)) return undefined;
    const s0 = k1 + 9;
    const s1 = text.indexOf('"', s0);
    if (s1 < 0 || text.charCodeAt(s1 + 1) !== 0x7d /* } */) return undefined;
    const keyid = text.slice(k0, k1);
    if (keyid.includes('\\')) return undefined;
    signatures.push({ keyid, sig: text.slice(s0, s1) });
    i = s1 + 2;
    if (text.charCodeAt(i) === 0x2c /* , */) {
      i++;
      continue;
    }
    break;
  }
  if (i !== text.length - 2 || text.charCodeAt(i) !== 0x5d || text.charCodeAt(i + 1) !== 0x7d)
    return undefined;
  return { payload, payloadType, signatures };
}

/** The fast path; undefined when it does not apply or the entry is not valid. */
function decodeFast(entry: Uint8Array): DecodedStatement | undefined {
  if (entry.length === 0 || entry.length > MAX_ENTRY_BYTES) return undefined;
  let text: string;
  try {
    text = strictUtf8.decode(entry);
  } catch {
    return undefined;
  }
  const env = readCanonicalEnvelope(text);
  if (env === undefined) return undefined;
  const { payload, payloadType, signatures } = env;
  let kind: 'usage' | 'meter';
  if (payloadType === PAYLOAD_TYPE.usage) kind = 'usage';
  else if (payloadType === PAYLOAD_TYPE.meter) kind = 'meter';
  else return undefined;
  if (payload.length > 65_535 || signatures.length < 1 || signatures.length > MAX_SIGNATURES) {
    return undefined;
  }
  for (let i = 0; i < signatures.length; i++) {
    const s = signatures[i]!;
    if (!KEYID_RE.test(s.keyid)) return undefined;
    for (let j = 0; j < i; j++) if (signatures[j]!.keyid === s.keyid) return undefined;
    // Canonical base64 (what a valid signature is) always has the syntax; test the rest.
    if (s.sig.length > 1368 || (sigBytes(s.sig) === undefined && !B64_RE.test(s.sig))) {
      return undefined;
    }
  }
  const payloadBytes = tryFromBase64(payload);
  if (payloadBytes === undefined) return undefined;
  let p: unknown;
  try {
    const payloadText = strictUtf8.decode(payloadBytes);
    p = JSON.parse(payloadText);
    if (!isPlainObject(p) || JSON.stringify(p) !== payloadText) return undefined;
  } catch {
    return undefined;
  }
  if (!(kind === 'usage' ? validUsage(p) : validMeter(p))) return undefined;
  return {
    payloadType,
    payload: p as unknown as Payload,
    payloadBytes,
    payloadHash: hash('sha256', payloadBytes, 'hex'),
    signatures,
  };
}

/**
 * Decodes a log entry, refusing everything `parseEntry(entry, { requireCanonical: true })`
 * refuses, with the same code.
 * @throws {StatementError} the codes of parseEntry (ENTRY_EMPTY … PAYLOAD_SCHEMA)
 */
export function decodeEntry(entry: Uint8Array): DecodedStatement {
  const fast = decodeFast(entry);
  if (fast !== undefined) return fast;
  const parsed = parseEntry(entry, { requireCanonical: true });
  return {
    payloadType: parsed.payloadType,
    payload: parsed.payload,
    payloadBytes: parsed.payloadBytes,
    payloadHash: hash('sha256', parsed.payloadBytes, 'hex'),
    signatures: parsed.envelope.signatures,
  };
}
