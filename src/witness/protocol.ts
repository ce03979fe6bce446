/**
 * C2SP tlog-witness wire formats (../shared/specs/c2sp/tlog-witness.md), shared by the witness
 * (which parses requests), the log's witness client (which writes them and reads the answers)
 * and the monitor (which reads the witnesses' checkpoints).
 *
 *   POST <submission prefix>/add-checkpoint
 *     old <decimal>\n
 *     <base64 hash>\n            (0 to 63 consistency proof lines)
 *     \n
 *     <signed checkpoint note>
 *   200: one or more note signature lines "— <name> <base64>\n" (cosignatures)
 *   409: "<decimal>\n", Content-Type text/x.tlog.size (the size the witness last cosigned)
 *
 *   GET <monitoring prefix>/<lowercase hex SHA-256(origin)>/checkpoint
 *
 * Parsing is strict (attacker-controlled input): UTF-8 only, "\n" line ends, decimal sizes
 * without leading zeros that fit a safe integer, canonical padded base64 hashes of 32 bytes.
 * Pure: no I/O.
 */
import { fromBase64, toBase64, toHex, utf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { sha256 } from '../crypto/sha256.js';

/** Most consistency proof lines a request may carry (tlog-witness: "MUST NOT send more than 63"). */
export const MAX_PROOF_LINES = 63;
/** Content type of a 409 answer's body. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
/** Largest add-checkpoint request body the witness reads: 64 KiB (a note with 100 signatures fits). */
export const MAX_ADD_CHECKPOINT_BYTES = 64 * 1024;

/**
 * Codes thrown by this module.
 * - WITNESS_REQUEST_MALFORMED: an add-checkpoint body that is not old line, proof lines, blank
 *   line and a note (a witness answers 400)
 * - WITNESS_RESPONSE_MALFORMED: a witness answer that is not what the protocol allows
 */
export type WitnessProtocolErrorCode = 'WITNESS_REQUEST_MALFORMED' | 'WITNESS_RESPONSE_MALFORMED';

/** A parsed add-checkpoint request. */
export interface AddCheckpointRequest {
  /** The size of the checkpoint the client believes the witness last cosigned. */
  oldSize: number;
  /** RFC 6962 consistency proof from oldSize to the checkpoint's size. */
  proof: Uint8Array[];
  /** The signed checkpoint note, as sent. */
  checkpoint: string;
}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function bad(message: string): never {
  throw new VPauseError<WitnessProtocolErrorCode>('WITNESS_REQUEST_MALFORMED', message);
}

function parseSize(s: string): number | undefined {
  if (!SIZE_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parses an add-checkpoint request body. Only the framing is checked here; the note is opened
 * (and its checkpoint body parsed) by the witness.
 * @throws {VPauseError<WitnessProtocolErrorCode>} WITNESS_REQUEST_MALFORMED for invalid UTF-8, a
 *   missing or malformed old line, a proof line that is not one base64 SHA-256 hash, more than 63
 *   proof lines, no blank line, or an empty checkpoint
 */
export function parseAddCheckpointRequest(body: Uint8Array | string): AddCheckpointRequest {
  let s: string;
  if (typeof body === 'string') s = body;
  else {
    try {
      s = decoder.decode(body);
    } catch {
      bad('request body is not valid UTF-8');
    }
  }
  let at = s.indexOf('\n');
  if (at < 0) bad('request body has no old size line');
  const oldLine = s.slice(0, at);
  if (!oldLine.startsWith('old ')) bad('first line must be "old <size>"');
  const oldSize = parseSize(oldLine.slice(4));
  if (oldSize === undefined) bad('old size must be decimal without leading zeros, at most 2^53-1');
  const proof: Uint8Array[] = [];
  for (;;) {
    const start = at + 1;
    const end = s.indexOf('\n', start);
    if (end < 0) bad('request body has no blank line before the checkpoint');
    const line = s.slice(start, end);
    at = end;
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES)
      bad(`more than ${MAX_PROOF_LINES} consistency proof lines`);
    let h: Uint8Array;
    try {
      h = fromBase64(line);
    } catch {
      bad('a consistency proof line is not canonical padded base64');
    }
    if (h.length !== 32) bad('a consistency proof line is not a 32-byte hash');
    proof.push(h);
  }
  const checkpoint = s.slice(at + 1);
  if (checkpoint === '') bad('request body has no checkpoint after the blank line');
  return { oldSize, proof, checkpoint };
}

/**
 * Writes an add-checkpoint request body.
 * @throws {RangeError} when oldSize is not a non-negative safe integer, the proof has more than 63
 *   hashes or a hash is not 32 bytes, or the checkpoint does not end in a newline
 */
export function formatAddCheckpointRequest(
  oldSize: number,
  proof: readonly Uint8Array[],
  checkpoint: string,
): string {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0) {
    throw new RangeError('oldSize must be a non-negative safe integer');
  }
  if (proof.length > MAX_PROOF_LINES) throw new RangeError('at most 63 proof hashes');
  for (const h of proof) if (h.length !== 32) throw new RangeError('proof hashes are 32 bytes');
  if (!checkpoint.endsWith('\n')) throw new RangeError('the checkpoint must end in a newline');
  return `old ${oldSize}\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n${checkpoint}`;
}

/** The body of a 409 answer: the decimal size and a newline. */
export function formatTlogSize(size: number): string {
  return `${size}\n`;
}

/**
 * Parses the body of a 409 answer (`<decimal>\n`).
 * @throws {VPauseError<WitnessProtocolErrorCode>} WITNESS_RESPONSE_MALFORMED otherwise
 */
export function parseTlogSize(body: string): number {
  const n = body.endsWith('\n') ? parseSize(body.slice(0, -1)) : undefined;
  if (n === undefined) {
    throw new VPauseError<WitnessProtocolErrorCode>(
      'WITNESS_RESPONSE_MALFORMED',
      'a 409 body must be a decimal tree size and a newline',
    );
  }
  return n;
}

/**
 * Splits a 200 answer into its signature lines (each kept with its newline).
 * @throws {VPauseError<WitnessProtocolErrorCode>} WITNESS_RESPONSE_MALFORMED when the body is
 *   empty, does not end in a newline, or has a line that does not start with "— "
 */
export function splitCosignatureLines(body: string): string[] {
  if (body === '' || !body.endsWith('\n')) {
    throw new VPauseError<WitnessProtocolErrorCode>(
      'WITNESS_RESPONSE_MALFORMED',
      'a cosignature answer must be newline-terminated signature lines',
    );
  }
  const lines = body
    .slice(0, -1)
    .split('\n')
    .map((l) => `${l}\n`);
  for (const l of lines) {
    if (!l.startsWith('\u2014 ')) {
      throw new VPauseError<WitnessProtocolErrorCode>(
        'WITNESS_RESPONSE_MALFORMED',
        'a cosignature answer line does not start with "— "',
      );
    }
  }
  return lines;
}

/** Lowercase hex SHA-256 of an origin: the path segment of `GET <prefix>/<hash>/checkpoint`. */
export function originHash(origin: string): string {
  return toHex(sha256(utf8(origin)));
}

/** Joins a URL prefix and a path with exactly one slash. */
export function joinUrl(prefix: string, path: string): string {
  return `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
